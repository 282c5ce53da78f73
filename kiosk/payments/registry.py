"""The payment-method registry: the methods installed, found through entry points.

Every method, built in or from another package, is a :class:`~kiosk.payments.method.PaymentMethod`
registered in the entry-point group ``kiosk.payment_methods`` under its id::

    [project.entry-points."kiosk.payment_methods"]
    voucher = "kiosk_pay_voucher:VoucherMethod"

A lane offers the ids listed in ``payments.methods`` (config), in that order; a method
installed but not listed is not offered anywhere (screen, voice, ``pay``). :func:`check`
is the one place that judges that list: unknown ids, bad options, and, on a production
lane (``security.production``), any simulated method, each refused with one line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any

from kiosk_drivers.plugins import load_class

from kiosk.domain.training import TRAINING_METHOD
from kiosk.payments.method import PaymentMethod

if TYPE_CHECKING:
    from kiosk.config import KioskConfig

GROUP = "kiosk.payment_methods"


class MethodError(ValueError):
    """A payment method that cannot be offered; the message is one line for the operator."""


def installed() -> dict[str, EntryPoint]:
    """Method id → its entry point, for every method installed."""
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def method_class(method_id: str) -> type[PaymentMethod]:
    """The class registered under ``method_id`` (loaded, checked to be a method)."""
    cls = load_class(GROUP, method_id, PaymentMethod, "payment method", MethodError)
    if cls.id != method_id:
        raise MethodError(f"payment method {cls.__module__}.{cls.__qualname__} says its id"
                          f" is {cls.id!r}, registered as {method_id!r}")
    return cls


def check(ids: Sequence[str], options: Mapping[str, Mapping[str, Any]],
          production: bool) -> list[type[PaymentMethod]]:
    """The classes of the configured methods, or :class:`MethodError` (one line)."""
    if len(set(ids)) != len(ids):
        raise MethodError("payments.methods lists a method twice")
    if TRAINING_METHOD in ids:  # it approves without charging: a shopper must never see it
        raise MethodError(f"payments.methods: {TRAINING_METHOD!r} is the training lane's own"
                          " method (kiosk/domain/training.py), never offered")
    classes = [method_class(i) for i in ids]
    for cls in classes:
        try:
            cls.options_from(options.get(cls.id))
        except ValueError as exc:
            first = str(exc).splitlines()[0]
            raise MethodError(f"payments.options.{cls.id}: {first}") from None
    if production:
        sims = [cls for cls in classes if cls.simulated]
        if sims:
            names = ", ".join(f"{cls.id!r} ({cls.__module__}.{cls.__name__})" for cls in sims)
            raise MethodError(f"security.production: payment method {names} is a simulator;"
                              " offer only real methods in payments.methods")
    unknown = set(options) - set(ids)
    if unknown:
        raise MethodError(f"payments.options: options for a method not offered:"
                          f" {', '.join(sorted(unknown))}")
    return classes


def open_methods(config: KioskConfig, ports: Mapping[str, Any] | None = None
                 ) -> dict[str, PaymentMethod]:
    """The lane's methods, opened, by id. ``ports``: a flow given by the composition root
    to a port-backed method (the demo's simulated host) instead of the method's own."""
    pay = config.payments
    out: dict[str, PaymentMethod] = {}
    for cls in check(pay.methods, pay.options, config.security.production):
        opts = cls.options_from(pay.options.get(cls.id))
        port = (ports or {}).get(cls.id)
        out[cls.id] = cls(config, opts, port=port) if port is not None else cls(config, opts)
    return out


def simulated_hosts(config: KioskConfig) -> frozenset[str]:
    """The method ids whose host the demo's composition root (:func:`kiosk.sim.payments.
    lane_methods`) serves in-process: with ``devices.payment = "sim"``, the card method's, and
    the wallet's (``qr``) while ``[payments.options.qr]`` names no gateway. Their own
    transports (the acquirer link, the gateway client and the files they name) are not used."""
    if config.devices.payment != "sim":
        return frozenset()
    return frozenset({"card"} if "qr" in config.payments.options else {"card", "qr"})


def offered(methods: Mapping[str, PaymentMethod] | Sequence[type[PaymentMethod]]
            ) -> list[dict]:
    """What the retained state says of the offered methods, in the configured order."""
    items = methods.values() if isinstance(methods, Mapping) else methods
    return [m.offer() for m in items]
