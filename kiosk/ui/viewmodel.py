"""What the shopper sees, derived from the retained checkout state: pure, no Kivy.

:func:`build_view` turns kiosk-core's state message (plus whether the core is
online) into a :class:`View`: which screen, the tower light's colour (the same
function the GPIO service drives the real light with), and every text
already translated and formatted for the shopper's locale. The screens only
copy these texts into widgets, so the view logic is tested without a window
and the UI computes nothing of the checkout itself (line amounts and totals
come from the core).

While authorizing, the card port's progress step (``payment.step``) picks the
screen: insert card, reading card, choose application, authorizing, remove card.
A declined attempt shows the translated message of its ``payment.message`` key;
the issuer's own reason never reaches the shopper.

``card_left`` (a card was in the reader when the last session ended; it can pay for
nobody) shows the "take your card" screen in attract and in place of "insert your card",
and a banner on the payment screen, until the core reports the card taken.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from kiosk.bus.light import light_for
from kiosk.bus.messages import accepted, rating_phase, shopper_ways_out
from kiosk.domain.cards import card_text
from kiosk.domain.money import Currency, message_currency
from kiosk.domain.vocabulary import (
    CANCELLABLE_STEPS,
    CARD_ABORT_MESSAGES,
    IDLE_STATES,
)
from kiosk.i18n import N_, shipped_locales
from kiosk.shopper_texts import DECLINE_MESSAGES
from kiosk.ui.i18n import Translator, endonym

#: checkout state → screen
SCREENS = {
    "attract": "attract", "shopping": "shopping", "attendant_needed": "attendant",
    "payment": "payment", "authorizing": "authorizing", "approved": "approved",
    "declined": "declined", "receipt": "receipt", "reversing": "reversing",
    "payment_unavailable": "payment_unavailable",
    "out_of_service": "out_of_service",   # the lane is closed (e.g. the door is open)
}
#: while authorizing: the card port's progress step → screen
STEP_SCREENS = {
    "insert_card": "card_insert", "reading": "card_reading", "choose_app": "choose_app",
    "unsupported_card": "card_reading", "authorizing": "authorizing",
    "remove_card": "remove_card",
    # phone wallets: show your code / checking / confirm on your phone / scan this code
    "show_code": "wallet_show", "checking": "wallet_checking",
    "user_paying": "wallet_confirm", "scan_code": "wallet_scan",
}
#: why the last payment code did not pay (``payment.notice`` on the show_code step)
WALLET_NOTICES = {
    "code_reused": N_("This payment code was already shown for this purchase. Please show a"
                      " new code."),
    "code_used": N_("This payment code has already been used. Please show a new code."),
    "code_expired": N_("This payment code has expired. Refresh it in your app and show it"
                       " again."),
    "code_invalid": N_("This payment code cannot be used. Please show it again."),
}
#: rejected commands the shopper needs no message for (a double tap, already done)
SILENT_REJECTIONS = ("cancel_in_progress", "already_cancelled", "app_already_chosen",
                     "receipt_already_chosen", "help_already_called", "no_help_called",
                     "nothing_to_put_aside", "training_already_on", "training_not_on",
                     "already_rated")
#: screens that never come from a state message: not yet connected, and core down
LOCAL_LIGHTS = {"starting": "off", "out_of_service": "red"}

NOTICES = {
    "declined": N_("The payment was declined. You have not been charged."),
    "payment_not_completed": N_("The last payment did not go through. You have not been"
                                " charged."),
    "pin_wrong": N_("Wrong PIN. Please try again."),
    "pin_locked": N_("Too many wrong PINs. The PIN pad is locked for a while."),
    "badge_unknown": N_("Staff badge not recognised."),
    "badge_locked": N_("Too many unrecognised staff badges. Badge sign-in is locked for a"
                       " while."),
    "voided_idle": N_("The last order was cancelled because the checkout was idle."),
    "voided_cancel": N_("The last order was cancelled."),
    "voided_staff": N_("The last order was cancelled by staff."),
    "not_charged": N_("The payment was cancelled. You have not been charged."),
    "card_left": N_("A card was left in the card reader. Please take it with you."),
}
#: where a card left in the reader takes the whole screen (else a banner, where one is shown)
TAKE_CARD_SCREENS = ("attract", "card_insert")
#: reasons of rejected commands → what the shopper is told
REJECTIONS = {
    "basket_empty": N_("Your basket is empty. Scan an item first."),
    "basket_not_empty": N_("Remove every item from the basket first."),  # training in/out
    "needs_weight": N_("This item is sold by weight. Please weigh it."),
    "bad_barcode": N_("This barcode could not be read. Please scan it again."),
    # a GS1 code kiosk-core cannot price exactly (kiosk.domain.checkout.GS1_REJECTIONS)
    "gs1_currency": N_("This item's price label is in another currency. Please ask an"
                       " attendant."),
    "gs1_weight_resolution": N_("This item's label cannot be priced exactly. Please ask an"
                                " attendant."),
    "gs1_price_resolution": N_("This item's label cannot be priced exactly. Please ask an"
                               " attendant."),
    "unknown_plu": N_("Unknown product code."),
    "quantity_limit": N_("That is the most you can buy of this item."),
    "bad_quantity": N_("That is the most you can buy of this item."),
    "not_countable": N_("The quantity of this item cannot be changed."),
    "basket_full": N_("The basket is full. Please pay for these items first."),
    "payment_in_progress": N_("A payment is already in progress."),
    "payment_unavailable": N_("Payment is unavailable right now. Please wait a moment."),
    "staff_required": N_("A staff member must sign in first."),
    "age_check_open": N_("Approve or remove the age-restricted item first."),
    "not_allowed_now": N_("That is not possible right now."),
    "clock_not_synced": N_("Payment is unavailable right now. Please ask an attendant."),
    "unknown_application": N_("Please choose one of the cards shown."),
    "wallet_code_not_expected": N_("Show your payment code when the screen asks for it."),
    # the produce scale (kiosk.domain.pricing.priceable_weight): only a settled weight sells
    "scale_motion": N_("The scale is still moving. Please keep the item still."),
    "scale_over_capacity": N_("Too heavy for the scale. Please weigh less at a time."),
    "scale_under_zero": N_("The scale needs to be reset. Please ask an attendant."),
    "scale_not_ready": N_("The scale is not ready yet. Please try again."),
    "scale_no_response": N_("The scale is not working. Please ask an attendant."),
    "scale_empty": N_("Please put the item on the scale."),
    "scale_below_minimum": N_("Too light to weigh. Please add more."),
    "weight_from_scale": N_("Please put the item on the scale."),
    "pin_stale": N_("Please enter the PIN again."),       # sealed to an outdated challenge
    "pin_unreadable": N_("Please enter the PIN again."),
}
GENERIC_REJECTION = N_("Something went wrong. Please try again.")
#: the bagging area's alerts (the attendant reason, kiosk/domain/bagging.py): title, body
BAGGING_TEXT = {
    "unexpected_item": (N_("Unexpected item in the bagging area"),
                        N_("Please take off the item you have not scanned, or scan it.")),
    "missing_item": (N_("Please place the item in the bagging area"),
                     N_("This item was scanned but has not been bagged:")),
    "removed_item": (N_("An item was taken from the bagging area"),
                     N_("Please put the item back in the bagging area.")),
}


def decline_title(key: str) -> str:
    """The declined screen's title (a msgid) for a decline's message key."""
    if key == "cancelled":
        return N_("Payment cancelled")
    if key in CARD_ABORT_MESSAGES or key in ("code_timeout", "qr_expired"):
        return N_("Payment not completed")
    return N_("Payment declined")


def card_shown(card: dict) -> str:
    """A card as a screen shows it: the brand's display name and the last 4 digits, by the
    receipt's one rule (:func:`kiosk.domain.cards.card_text`)."""
    return card_text(card)


@dataclass(frozen=True)
class PayOption:
    """A payment method the lane offers (the state's ``methods``), in the shopper's words."""

    id: str
    label: str
    hint: str


def pay_options(msg: dict, t: Translator) -> tuple[PayOption, ...]:
    """The offered payment methods, translated: the method's own texts, else the catalog."""
    out = []
    for m in msg.get("methods") or ():
        own = (m.get("texts") or {}).get(t.lang) or {}
        label, hint = m.get("label", ""), m.get("hint", "")
        out.append(PayOption(m["id"], own.get(label) or t.tr(label),
                             (own.get(hint) or t.tr(hint)) if hint else ""))
    return tuple(out)


@dataclass(frozen=True)
class Row:
    """One basket line as shown."""

    line_id: int
    name: str
    detail: str
    amount: str
    qty: int
    countable: bool
    highlight: bool
    badge: str = ""         # e.g. "ID check needed"
    badge_kind: str = ""    # "pending" | "approved"


@dataclass(frozen=True)
class LastScanned:
    """The item scanned last, for the big "last scanned" panel: what it is, what it costs
    (its line's amount, the unit detail under it) and the product key its picture is
    found by (:func:`kiosk.catalog.picture_index`)."""

    line_id: int
    key: str
    name: str
    amount: str
    detail: str = ""


def last_scanned(msg: dict, rows: tuple[Row, ...]) -> LastScanned | None:
    """The basket line added or changed last (the state's ``last_line_id``), if still there."""
    line_id = msg.get("last_line_id")
    row = next((r for r in rows if r.line_id == line_id), None)
    if row is None:
        return None
    key = next((ln.get("key", "") for ln in msg.get("lines", []) if ln["line_id"] == line_id),
               "")
    return LastScanned(row.line_id, key, row.name, row.amount, row.detail)


@dataclass(frozen=True)
class View:
    screen: str
    light: str
    locale: str
    locales: tuple[str, ...]
    online: bool
    seq: int = 0
    rows: tuple[Row, ...] = ()
    last_line_id: int | None = None
    last_scanned: LastScanned | None = None
    item_count: str = ""
    subtotal: str = ""
    savings: str = ""
    discounts: tuple[tuple[str, str], ...] = ()
    tax_label: str = ""
    tax: str = ""
    total: str = ""
    can_pay: bool = False
    can_help: bool = False
    help_called: bool = False       # the shopper's help call is open: offer to cancel it
    can_put_aside: bool = False     # an unknown barcode: the shopper may put the item aside
    can_own_bag: bool = False       # "I brought a bag": an unexpected item, or a lane that
    #                                 checks its bagging area (kiosk/domain/bagging.py)
    notice: str = ""
    voice_note: str = ""            # the language has no voice commands (and where voice works)
    attendant_reason: str = ""      # age_restricted | unknown_barcode | help
    attendant_item: str = ""
    attendant_code: str = ""
    attendant_detail: str = ""      # item_expired: the date passed; item_recalled: the batch
    training: bool = False          # the lane is in training: a banner on every screen
    staff_name: str = ""
    payment_method: str = ""
    payment_amount: str = ""
    methods: tuple[PayOption, ...] = ()  # the payment methods offered
    accepted_here: str = ""         # "Accepted here: Card and Mobile QR" (the offered methods)
    card: str = ""
    auth_code: str = ""
    receipt_paper: str = ""         # on the receipt screen: "printed", "failed" or "none"
    card_step: str = ""             # the card port's progress step while authorizing
    apps: tuple[str, ...] = ()      # application labels to choose from (co-badged card)
    can_cancel_card: bool = False   # nothing has left the kiosk yet
    wallet_notice: str = ""         # show_code: why the last payment code did not pay
    wallet_qr: str = ""             # scan_code: the kiosk's EMVCo QR payload to show
    wallet_deadline: float | None = None  # scan_code: time.monotonic() when the QR expires
    payments_resolving: bool = False  # payments left open by a restart are being resolved
    decline_key: str = ""           # payment.message: which decline message
    decline_title: str = ""
    decline_message: str = ""
    receipt_choice: str = ""        # "", "print" or "none"
    rating: str = ""                # the receipt screen's rating: ask, reasons, thanks or ""
    e_receipt_url: str = ""         # the sale's signed e-receipt link (kiosk-core), if any
    remove_card: bool = False       # "please remove your card" over approved / declined
    card_left: bool = False         # a card left in the reader at a session's end: take it
    txn: str = ""
    when: str = ""
    idle_deadline: float | None = None   # time.monotonic() when the basket will be voided
    texts: dict[str, str] = field(default_factory=dict)


def currency_of(msg: dict) -> Currency:
    return message_currency(msg.get("currency"))


def _rows(msg: dict, t: Translator) -> tuple[Row, ...]:
    rows = []
    for ln in msg.get("lines", []):
        weight = ln.get("weight_g")
        unit = t.money(ln["unit_price_minor"])
        if weight is not None:
            detail = t.tr("{weight} kg × {price}/kg", weight=t.kg(weight), price=unit)
        elif ln.get("price_minor") is not None:
            detail = t.tr("Price from the barcode")
        elif ln["qty"] > 1:
            detail = t.tr("{qty} × {price}", qty=ln["qty"], price=unit)
        else:
            detail = ""
        badge, kind = "", ""
        if ln.get("age_status") == "pending":
            badge, kind = t.tr("ID check needed"), "pending"
        elif ln.get("age_status") == "approved":
            badge, kind = t.tr("ID checked"), "approved"
        rows.append(Row(
            line_id=ln["line_id"], name=t.name(ln.get("names") or {}, ln.get("key", "")),
            detail=detail, amount=t.money(ln["amount"]), qty=ln["qty"],
            countable=weight is None and ln.get("price_minor") is None,
            highlight=ln["line_id"] == msg.get("last_line_id"), badge=badge, badge_kind=kind))
    return tuple(rows)


def voice_note(locale: str, voice_locales: tuple[str, ...] | None, t: Translator) -> str:
    """What the screen says when ``locale`` has no voice commands (kiosk-voice's retained
    status lists the locales that have them; None: not known, nothing said)."""
    if voice_locales is None or locale in voice_locales:
        return ""
    note = t.tr("Voice commands are not available in this language.")
    if voice_locales:
        sep = "" if note.endswith("。") else " "  # no space after a full-width stop
        note += sep + t.tr("Voice commands work in {languages}.",
                           languages=t.join([endonym(loc) for loc in voice_locales]))
    return note


def build_view(msg: dict | None, online: bool | None, locale: str | None = None,
               received_at: float | None = None,
               voice_locales: tuple[str, ...] | None = None) -> View:
    """The view of a state message. ``online`` None means not known yet (starting).

    ``locale`` overrides the state's locale (the UI's own choice while the core
    is down); ``received_at`` is the monotonic time the message arrived, used to
    turn the core's idle deadline into a local countdown; ``voice_locales`` the locales
    with voice commands (kiosk-voice's status).
    """
    locales = tuple((msg or {}).get("locales") or shipped_locales())
    loc = locale or (msg or {}).get("locale") or locales[0]
    t = Translator(loc, currency_of(msg or {}))
    if online is None or (online and msg is None):
        return View("starting", LOCAL_LIGHTS["starting"], loc, locales, False)
    if not online or msg is None:
        return View("out_of_service", LOCAL_LIGHTS["out_of_service"], loc, locales, False,
                    seq=(msg or {}).get("seq", 0))
    state = msg["state"]
    screen = SCREENS.get(state, "out_of_service")
    pay = msg.get("payment") or {}
    step = pay.get("step") or ""
    if state == "authorizing" and step:
        screen = STEP_SCREENS.get(step, "authorizing")
    card_left = bool(msg.get("card_left"))
    if card_left and screen in TAKE_CARD_SCREENS:
        screen = "take_card"
    totals = msg.get("totals") or {}
    rows = _rows(msg, t)
    count = sum(ln["qty"] if ln.get("weight_g") is None else 1 for ln in msg.get("lines", []))
    inclusive = totals.get("tax_mode") == "inclusive"
    attendant = msg.get("attendant") or {}
    item = ""
    if attendant.get("line_id"):
        item = next((r.name for r in rows if r.line_id == attendant["line_id"]), "")
    card = pay.get("card") or {}
    decline_key = pay.get("message") or ("card_declined" if state == "declined" else "")
    idle_deadline = None
    if state in IDLE_STATES and msg.get("idle_warning_at") and msg.get("idle_void_at"):
        now = time.monotonic() if received_at is None else received_at
        idle_deadline = now + max(0.0, msg["idle_void_at"] - msg.get("server_time", time.time()))
    options = pay_options(msg, t)
    notice_code = msg.get("notice") or ""
    notice = t.tr(NOTICES[notice_code]) if notice_code in NOTICES else ""
    if state in ("receipt", "approved", "authorizing") or (
            state == "declined" and notice_code in ("declined", "not_charged")):
        notice = ""  # the screen itself says it
    if card_left and screen != "take_card":
        notice = t.tr(NOTICES["card_left"])  # it matters more than any other notice
    return View(
        screen=screen, light=light_for(msg, True, door_open=False).color,
        locale=loc, locales=locales, online=True,
        seq=msg.get("seq", 0), rows=rows, last_line_id=msg.get("last_line_id"),
        last_scanned=last_scanned(msg, rows),
        item_count=t.ntr("{n} item", "{n} items", count),
        subtotal=t.money(totals.get("subtotal", 0)),
        savings=t.money(totals.get("savings", 0)) if totals.get("savings") else "",
        discounts=tuple((t.name(d.get("names") or {}, d.get("promotion_id", "")),
                         t.money(-d["amount"])) for d in totals.get("discounts", [])),
        tax_label=t.tr("Tax included") if inclusive else t.tr("Tax"),
        tax=t.money(totals.get("tax", 0)),
        total=t.money(totals.get("total", 0)),
        can_pay=state == "shopping" and bool(rows),
        can_help=accepted(msg, "help"),
        help_called="cancel_help" in shopper_ways_out(msg),
        can_put_aside="put_aside" in shopper_ways_out(msg),
        can_own_bag="own_bag" in shopper_ways_out(msg) or (
            state == "shopping" and bool(msg.get("bagging")) and accepted(msg, "own_bag")),
        notice=notice,
        voice_note=voice_note(loc, voice_locales, t),
        attendant_reason=attendant.get("reason", ""),
        attendant_item=item,
        attendant_code=attendant.get("code") or "",
        attendant_detail=refused_detail(attendant, t),
        training=msg.get("training") is True,
        staff_name=(msg.get("staff") or {}).get("name", ""),
        payment_method=pay.get("method", ""),
        methods=options,
        accepted_here=t.tr("Accepted here: {methods}",
                           methods=t.join([m.label for m in options])) if options else "",
        payment_amount=t.money(pay["amount"]) if "amount" in pay else "",
        card=card_shown(card),
        auth_code=pay.get("auth_code") or "",
        receipt_paper=_paper(msg, pay),
        card_step=step if state == "authorizing" else "",
        apps=tuple(a.get("label", "") for a in pay.get("apps") or ()),
        can_cancel_card=state == "authorizing" and step in CANCELLABLE_STEPS
        and not pay.get("cancel"),
        decline_key=decline_key,
        decline_title=t.tr(decline_title(decline_key)) if state == "declined" else "",
        decline_message=t.tr(DECLINE_MESSAGES[decline_key]) if decline_key in DECLINE_MESSAGES
        else "",
        receipt_choice=pay.get("receipt_choice") or "",
        rating=rating_phase(msg),
        e_receipt_url=msg.get("e_receipt") or "",
        remove_card=step == "remove_card",
        wallet_notice=t.tr(WALLET_NOTICES[pay["notice"]])
        if step == "show_code" and pay.get("notice") in WALLET_NOTICES else "",
        wallet_qr=str(pay.get("qr") or "") if step == "scan_code" else "",
        wallet_deadline=_deadline(msg, pay.get("expires_at"), received_at)
        if step == "scan_code" else None,
        payments_resolving=bool(msg.get("payments_resolving")),
        card_left=card_left,
        txn=msg.get("txn") or "",
        when=t.datetime(msg.get("server_time") or time.time()),
        idle_deadline=idle_deadline,
    )


def _deadline(msg: dict, at: float | None, received_at: float | None) -> float | None:
    """The core's wall-clock ``at`` as a local time.monotonic() deadline (for a countdown)."""
    if not isinstance(at, int | float):
        return None
    now = time.monotonic() if received_at is None else received_at
    return now + max(0.0, at - msg.get("server_time", time.time()))


def _paper(msg: dict, pay: dict) -> str:
    """What became of the receipt: "none" (the shopper chose no receipt), "printed" or
    "failed"; "" before the receipt screen."""
    receipt = msg.get("receipt")
    if not receipt:
        return ""
    if pay.get("receipt_choice") == "none" or receipt.get("printed") is False:
        return "none"
    return "printed" if receipt.get("ok", True) else "failed"


def refused_detail(attendant: dict, t: Translator) -> str:
    """What the attendant screen shows of a refused item: the date it is past (the
    ``item_refused`` detail is ``<AI>:<ISO date>``) as the shopper's locale writes dates,
    or the recalled batch."""
    detail = attendant.get("detail") or ""
    if attendant.get("reason") == "item_expired":
        return t.date(detail.partition(":")[2])
    return detail if attendant.get("reason") == "item_recalled" else ""


def rejection_text(reason: str, t: Translator) -> str:
    """What to tell the shopper when the core rejected one of the UI's commands
    (empty: nothing to tell, e.g. the second tap of a double tap)."""
    if reason in SILENT_REJECTIONS:
        return ""
    return t.tr(REJECTIONS.get(reason, GENERIC_REJECTION))
