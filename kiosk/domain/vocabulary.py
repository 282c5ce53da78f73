"""The lane's vocabulary, defined once: checkout states, the commands each state accepts,
the state sets and reason codes the services share.

:data:`ACCEPTS` is the one table of which command types each state takes: ``decide``
rejects any other with ``not_allowed_now`` (or the reason in :data:`REFUSALS`), and
kiosk-core publishes the current state's row in the retained state as ``accepts``, so the
UI, the tower light's help button and voice follow it instead of restating states.
"""

from __future__ import annotations

STATES = (
    "attract", "shopping", "attendant_needed", "payment", "authorizing", "approved",
    "declined", "reversing", "payment_unavailable", "receipt", "out_of_service",
)
#: every command type the checkout decides (kiosk.bus.messages validates each one's fields)
COMMANDS = (
    "scan", "add_plu", "start", "set_language", "set_quantity", "remove_line", "staff_pin",
    "attendant", "pay", "device", "touch", "help", "checkout", "back", "cancel", "done",
    "choose_app", "receipt", "cancel_help", "put_aside", "wallet_code", "own_bag", "rate",
)
#: taken in every state: device health, a touch (the idle timer), a change of language
ANYTIME = ("device", "touch", "set_language")
#: states where a help call leaves the screen as it is (a payment is under way or done):
#: staff are called (the light blinks) and the shopper carries on, or cancels the call
HELP_CALL_STATES = ("authorizing", "approved", "receipt")
#: state → the command types it accepts. In attendant_needed a ``scan`` is a staff badge
#: (and only there); a ``cancel`` in attract is accepted and changes nothing. ``help`` in
#: attract starts a session first. ``cancel_help`` withdraws the shopper's own help call
#: (wherever one may still be open); ``put_aside`` answers an unknown barcode: the shopper
#: puts the item aside and carries on. ``rate``: the shopper's optional rating after the
#: receipt (kiosk/domain/feedback.py).
ACCEPTS: dict[str, frozenset[str]] = {state: frozenset(ANYTIME + more) for state, more in {
    "attract": ("scan", "add_plu", "start", "help", "cancel"),
    "shopping": ("scan", "add_plu", "set_quantity", "remove_line", "help", "checkout",
                 "cancel", "cancel_help", "own_bag"),
    "attendant_needed": ("scan", "staff_pin", "attendant", "cancel_help", "put_aside",
                         "own_bag"),
    "payment": ("pay", "back", "help", "cancel", "cancel_help"),
    "authorizing": ("choose_app", "cancel", "help", "cancel_help", "wallet_code"),
    "approved": ("receipt", "help", "cancel_help"),
    "declined": ("pay", "back", "help", "cancel", "cancel_help"),
    "reversing": ("cancel_help",),
    "payment_unavailable": ("help", "cancel_help"),
    "receipt": ("done", "help", "cancel_help", "rate"),
    "out_of_service": (),
}.items()}


def accepts(state: str) -> tuple[str, ...]:
    """The command types ``state`` accepts, in :data:`COMMANDS` order (as published)."""
    row = ACCEPTS.get(state, frozenset())
    return tuple(c for c in COMMANDS if c in row)


def states_accepting(command: str) -> tuple[str, ...]:
    """The states that accept ``command``, in :data:`STATES` order."""
    return tuple(s for s in STATES if command in ACCEPTS[s])


#: states a shopper may call for help from (the help button, the help phrase): every screen
#: a shopper meets
HELP_STATES = states_accepting("help")
#: what a shopper's help call is about (the state's ``attendant.reason``)
HELP_REASON = "help"
#: the bagging area's alerts (kiosk/domain/bagging.py): each is an ``attendant.reason``
BAGGING_ALERTS = ("unexpected_item", "missing_item", "removed_item")
#: states where the idle timer runs; from authorizing to receipt money may be moving
IDLE_STATES = ("shopping", "payment", "declined")
#: states a shopper may cancel (void) the basket from
CANCELLABLE = ("shopping", "payment", "declined")
#: states where a payment is under way: a ``pay`` there is refused as payment_in_progress
PAYMENT_IN_PROGRESS = ("authorizing", "approved", "receipt", "reversing")
#: command → {state: reason}: a refusal more telling than not_allowed_now
REFUSALS: dict[str, dict[str, str]] = {
    "pay": dict.fromkeys(PAYMENT_IN_PROGRESS, "payment_in_progress"),
}
#: device faults that close the lane (once no money is moving); others only alert staff.
#: ``lane``: an attendant took the lane out of service (``close_lane``)
BLOCKING_FAULTS = ("door", "provisioning", "lane")
#: what an attendant may do to a lane from the attendant station (a signed ``remote``
#: command, kiosk/security/remote.py), and the states each is taken in
REMOTE_ACTIONS: dict[str, tuple[str, ...]] = {
    "approve_age": ("attendant_needed",),
    "void_line": ("shopping", "attendant_needed"),
    "clear": ("attendant_needed",),
    "cancel_basket": (*CANCELLABLE, "attendant_needed", "payment_unavailable"),
    "close_lane": tuple(STATES),
    "open_lane": tuple(STATES),
}
RECEIPT_CHOICES = ("print", "none")

# -- card payments ------------------------------------------------------------------------
#: progress steps a card port may report, in the order a card flow goes through them
CARD_STEPS = ("insert_card", "reading", "choose_app", "authorizing", "remove_card",
              "card_removed", "unsupported_card")
#: progress steps of a phone-wallet attempt (kiosk/payments/wallet/method.py): waiting for
#: the shopper's payment code, checking an answer, waiting for the shopper to confirm on the
#: phone, showing the kiosk's own QR code to scan
WALLET_STEPS = ("show_code", "checking", "user_paying", "scan_code")
#: what ``show_code`` may add (``payment.notice``): why the last code did not pay
WALLET_NOTICES = ("code_reused", "code_used", "code_expired", "code_invalid")
#: steps before an authorization request has left the kiosk (a cancel there is free)
PRE_REQUEST_STEPS = ("insert_card", "reading", "choose_app", "unsupported_card", "show_code")
#: steps where the shopper is offered a cancel button (for a wallet: the order is closed)
CANCELLABLE_STEPS = ("insert_card", "reading", "choose_app", "show_code", "user_paying",
                     "scan_code")
#: reasons a card flow ends without a request (AuthResult.reason, outcome "declined")
CARD_ABORTS = ("card_removed", "card_timeout", "card_blocked", "unsupported_card",
               "no_application", "cancelled", "card_data_error", "card_data_missing",
               "reader_error", "atr_rejected")
#: declines the shopper caused (a cancel, walking away): a cancel right after is a double tap
SHOPPER_ABORTS = ("cancelled", "card_timeout")
#: shopper message keys (AuthResult.message_key); the UI translates them
MESSAGE_KEYS = ("card_declined", "try_later", "partial_not_supported", "card_removed",
                "card_timeout", "card_blocked", "no_application", "unsupported_card",
                "not_charged", "cancelled", "clock_not_synced", "card_read_error",
                "wallet_insufficient_funds", "wallet_declined", "wallet_cancelled",
                "wallet_amount_limit", "code_used", "code_expired", "code_invalid",
                "code_timeout", "qr_expired")
#: message keys of a card flow that ended at the card (try again or another card)
CARD_ABORT_MESSAGES = ("card_removed", "card_timeout", "card_blocked", "no_application",
                       "unsupported_card", "not_charged", "card_read_error")

#: how a shopper drove a basket, journaled on its ``session_finished`` as ``channels``
#: (issue 18): ``touch`` the screen, ``voice`` speech, ``keys`` the tactile keys (which start
#: accessible mode, so keys ≈ accessible mode)
CHANNELS = ("keys", "touch", "voice")


def channel_of(sender: str, source: str) -> str | None:
    """The channel of a command from ``sender`` (its bus topic, which the broker vouches for)
    declaring ``source``, or None for one that is no shopper's input (scanner, staff, ...).
    The self-declared source only tells keys from speech inside the voice service (which
    also drives the tactile keys): good enough for a usage figure, never for authority."""
    if sender == "ui":
        return "touch"
    if sender == "gpio" or (sender == "voice" and source in ("gpio", "keys")):
        return "keys"
    if sender == "voice":
        return "voice"
    return None
