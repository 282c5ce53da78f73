"""The payment-method interface: one way a shopper can pay (card, phone wallet, voucher...).

A method is a plug-in: a class registered in the entry-point group ``kiosk.payment_methods``
(:mod:`kiosk.payments.registry`) under its id, the id the ``pay`` command names and the
journal stores in ``auth_requested.method``. It declares what the rest of the lane shows of
it, as data:

* ``label`` / ``hint``: the payment button's title and subtitle, and ``receipt_label`` the
  receipt's payment line, as gettext message ids of the ``kiosk`` catalogs. A method from
  its own package that has no line in those catalogs brings its texts in ``translations``
  (language → message id → text); :meth:`PaymentMethod.text` looks there first;
* ``voice_words``: per language (``en``, ``zh``, ``ko``), the key words and phrasings the
  voice grammar listens for to pay with it (words of the speech model's vocabulary, not
  translations of a sentence, so they are listed per language rather than as message ids);
* ``config_model``: a pydantic model of its options (``[payments.options.<id>]``), or None;
* ``simulated``: True for a simulator; a production lane (``security.production``) refuses it.

What it needs from the basket comes in a :class:`~kiosk.payments.port.AuthRequest` (amount
in minor units, currency, txn, STAN, idempotency key). It starts with :meth:`authorize` (on
kiosk-core's payment worker, reporting progress steps), resolves an attempt a restart
interrupted with :meth:`resolve`, and undoes an authorization whose outcome is unknown or
that must not stand with :meth:`reverse`. Card data never crosses this interface.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel

from kiosk.payments.port import AuthRequest, AuthResult, Progress, Taken, no_progress

if TYPE_CHECKING:
    from kiosk.config import KioskConfig


class VoiceWords(BaseModel):
    """What a shopper says to pay with a method, in one language: ``keys`` (any one is
    enough) and ``phrases`` (the sentences around them, for the grammar)."""

    keys: tuple[str, ...]
    phrases: tuple[str, ...] = ()


class PaymentMethod(ABC):
    """One payment method; subclasses set the class attributes and implement the flow."""

    id: ClassVar[str]
    label: ClassVar[str]                        # msgid: the payment button's title
    hint: ClassVar[str] = ""                    # msgid: the button's subtitle
    receipt_label: ClassVar[str]                # msgid: the receipt's payment line
    voice_words: ClassVar[Mapping[str, VoiceWords]] = {}
    translations: ClassVar[Mapping[str, Mapping[str, str]]] = {}  # language → msgid → text
    config_model: ClassVar[type[BaseModel] | None] = None
    simulated: ClassVar[bool] = False

    def __init__(self, config: KioskConfig, options: BaseModel | None = None) -> None:
        self.config = config
        self.options = options

    @classmethod
    def options_from(cls, raw: Mapping[str, Any] | None) -> BaseModel | None:
        """The method's validated options (``[payments.options.<id>]``)."""
        if cls.config_model is None:
            if raw:
                raise ValueError(f"payment method {cls.id!r} takes no options")
            return None
        return cls.config_model.model_validate(dict(raw or {}))

    @classmethod
    def text(cls, msgid: str, language: str, catalog: Callable[[str], str]) -> str:
        """``msgid`` in ``language`` (en, zh, ko): the method's own translation, else
        ``catalog``'s (the kiosk catalog's translator for the locale)."""
        return cls.translations.get(language, {}).get(msgid) or catalog(msgid)

    @classmethod
    def offer(cls) -> dict:
        """What the retained state says of the method (the UI and voice read it)."""
        out: dict = {"id": cls.id, "label": cls.label, "hint": cls.hint}
        if cls.translations:
            out["texts"] = {lang: dict(texts) for lang, texts in cls.translations.items()}
        return out

    # -- the flow (kiosk-core's payment worker threads) --------------------------------
    @abstractmethod
    def authorize(self, request: AuthRequest, progress: Progress = no_progress) -> AuthResult:
        """Start and finish one attempt: charge ``request.amount`` once under
        ``request.idem_key`` (a repeated key never charges twice)."""

    @abstractmethod
    def reverse(self, request: AuthRequest) -> bool:
        """Undo what ``request.idem_key`` authorized, if anything. True once done (or
        nothing to undo), False if the host could not be reached: the core retries."""

    def resolve(self, request: AuthRequest) -> bool:
        """An attempt that was in flight when kiosk-core stopped: its outcome is unknown,
        so by default it is reversed (never resent). A method whose host can be asked
        for the outcome may override this."""
        return self.reverse(request)

    def cancel(self, stan: int) -> bool:
        """The shopper cancels attempt ``stan``. True: nothing left the kiosk and nothing
        will; False: a request may have left (the core reverses it)."""
        return False

    def choose(self, stan: int, index: int) -> None:  # noqa: B027 (an optional hook)
        """The shopper picked option ``index`` of a ``choose_app`` step (card methods)."""

    def seal_cards(self, on_taken: Taken) -> bool:
        """A session ended: a card still in a reader must not pay again (card methods).
        True when one is still in; ``on_taken`` is called once it is removed."""
        return False

    def present_code(self, stan: int, code: str, kind: str) -> None:  # noqa: B027
        """A payment code the scanner read for attempt ``stan`` (phone wallets): a bearer
        credential, kept in memory for that attempt only."""

    def recorded(self, idem_key: str) -> None:  # noqa: B027 (an optional hook)
        """kiosk-core journaled the attempt ``idem_key`` approved (the sale stands)."""

    def open_orders(self) -> list[str]:
        """Idempotency keys of attempts a restart left unresolved at the host (a method
        with its own order book); kiosk-core takes no payment until :meth:`recover`."""
        return []

    def recover(self, approved: Callable[[str], bool]) -> bool:
        """Resolve what :meth:`open_orders` lists; ``approved(idem_key)``: the journal holds
        that sale approved. True once nothing is left open (False: retried later)."""
        return True

    def close(self) -> None:  # noqa: B027 (an optional hook)
        """Release what :meth:`__init__` opened."""


class PortMethod(PaymentMethod):
    """A method whose flow is a :class:`~kiosk.payments.port.PaymentPort` (the card port,
    the simulated acquirer): every call is handed to ``port``."""

    def __init__(self, config: KioskConfig, options: BaseModel | None = None,
                 port: Any = None) -> None:
        super().__init__(config, options)
        self.port = port if port is not None else self.open_port(config)

    def open_port(self, config: KioskConfig) -> Any:
        raise NotImplementedError(f"{type(self).__name__} needs a port")

    def authorize(self, request: AuthRequest, progress: Progress = no_progress) -> AuthResult:
        return self.port.authorize(request, progress)

    def reverse(self, request: AuthRequest) -> bool:
        return self.port.reverse(request)

    def cancel(self, stan: int) -> bool:
        return self.port.cancel(stan)

    def choose(self, stan: int, index: int) -> None:
        self.port.choose(stan, index)

    def seal_cards(self, on_taken: Taken) -> bool:
        return self.port.seal_cards(on_taken)

    def close(self) -> None:
        close = getattr(self.port, "close", None)
        if close is not None:
            close()


