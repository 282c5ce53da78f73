"""What the kiosk says: a spoken prompt for every checkout state and everything on screen.

Texts come from the gettext domain ``voice`` (``config/i18n/<locale>/LC_MESSAGES/
voice.po``, extracted from the ``V_`` marks here by ``config/i18n/update-catalogs.sh``),
so prompts are translated like the screens but kept apart from them. Amounts are
formatted with :func:`kiosk.domain.money.format_money`, the same text the screen shows.

Everything works on the retained state message kiosk-core publishes (a plain
dict), so this module has no bus and no audio. A :class:`Speech` says whether its
content is private (totals, card prompts): with a headset plugged in, private
speech is routed only there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kiosk.bus.messages import rating_phase, shopper_ways_out
from kiosk.domain.cards import last4
from kiosk.domain.languages import language_of
from kiosk.domain.money import format_money, message_currency
from kiosk.i18n import translator

DOMAIN = "voice"


def V_(msgid: str) -> str:  # noqa: N802 - the gettext extraction mark for the voice domain
    return msgid


@dataclass
class Speech:
    texts: list[str] = field(default_factory=list)
    private: bool = False

    def __bool__(self) -> bool:
        return bool(self.texts)

    @property
    def text(self) -> str:
        return " ".join(self.texts)


# -- texts (msgids) ------------------------------------------------------------------

STATE_TEXT = {
    "attract": V_("Welcome. Scan your first item to start. Press the help key to hear spoken "
                  "guidance."),
    "shopping": V_("Scan your next item. When you are done, say pay by card, or pay by phone."),
    "attendant_needed": V_("Please wait. A staff member is coming to help you."),
    "payment": V_("How would you like to pay? Say card, or phone. Say cancel to stop."),
    "authorizing": V_("Processing your payment. Please wait."),
    "approved": V_("Payment approved."),
    "declined": V_("Your payment was declined. Say card or phone to try again, or say cancel."),
    "reversing": V_("The payment was not completed. Please wait while it is cancelled."),
    "payment_unavailable": V_("Payment is not available right now. Say help to call a staff "
                              "member."),
    "receipt": V_("Thank you for shopping with us."),
    "out_of_service": V_("This checkout is closed. Please use another checkout."),
}

ATTENDANT_TEXT = {
    "age_restricted": V_("This item needs an age check. A staff member is coming."),
    "unknown_barcode": V_("This item was not found. A staff member is coming to help."),
    "help": V_("Help is on the way. A staff member is coming."),
    "item_expired": V_("This item is past its date and cannot be sold. A staff member is"
                       " coming."),
    "item_recalled": V_("This item has been recalled and cannot be sold. A staff member is"
                        " coming."),
    "unexpected_item": V_("Unexpected item in the bagging area. Please take it off, or scan "
                          "it."),
    "missing_item": V_("Please place the item in the bagging area."),
    "removed_item": V_("An item was taken from the bagging area. Please put it back."),
}

#: what the shopper may do while staff are on their way, said after ATTENDANT_TEXT where
#: it applies (:func:`kiosk.bus.messages.shopper_ways_out`, the screen's rule too)
ATTENDANT_HINT = {
    "cancel_help": V_("If you no longer need help, say cancel help."),
    "put_aside": V_("To go on without this item, say put it aside."),
    "own_bag": V_("If it is your own bag, say I brought a bag."),
}

#: card terminal steps (payment.step, reported by kiosk-core while authorizing)
STEP_TEXT = {
    "insert_card": V_("Insert, tap or swipe your card."),
    "reading": V_("Reading your card. Do not remove it."),
    "choose_app": V_("Your card has more than one application. Choose one with the keys, "
                     "or on the screen."),
    "authorizing": V_("Authorizing. Please wait."),
    "remove_card": V_("Remove your card."),
    "qr": V_("Scan the QR code on the reader with the payment app on your phone."),
    # phone wallets (kiosk/payments/wallet/method.py)
    "show_code": V_("Show the payment code in your phone's payment app to the scanner."),
    "checking": V_("Checking the payment. Please wait."),
    "user_paying": V_("Confirm the payment on your phone."),
    "scan_code": V_("Scan the QR code on the screen with the payment app on your phone."),
}

#: why the last payment code did not pay (payment.notice on the show_code step)
WALLET_NOTICE_TEXT = {
    "code_reused": V_("This payment code was already shown for this purchase. Please show a"
                      " new code."),
    "code_used": V_("This payment code has already been used. Please show a new code."),
    "code_expired": V_("This payment code has expired. Please refresh it and show it again."),
    "code_invalid": V_("This payment code cannot be used. Please show it again."),
}

#: a phone payment's decline (payment.message), said on the declined screen
WALLET_DECLINE_TEXT = {
    "wallet_insufficient_funds": V_("Your payment app's balance is not enough for this"
                                    " payment."),
    "wallet_declined": V_("Your payment app did not approve this payment."),
    "wallet_cancelled": V_("The payment was cancelled on your phone."),
    "wallet_amount_limit": V_("This amount is over your payment app's limit."),
    "code_timeout": V_("No payment code was shown in time."),
    "qr_expired": V_("The payment code on the screen has expired."),
}

NOTICE_TEXT = {
    "declined": V_("Your payment was declined."),
    "payment_not_completed": V_("The payment was not completed. You have not been charged."),
    "voided_cancel": V_("Your basket was cancelled."),
    "voided_idle": V_("Your basket was cancelled because there was no activity."),
    "voided_staff": V_("A staff member cancelled your basket."),
    "not_charged": V_("The payment was cancelled. You have not been charged."),
    "pin_wrong": V_("The staff PIN was not accepted."),
}

#: command result reasons (kiosk-core's Rejected codes) a shopper may hear
ERROR_TEXT = {
    "basket_empty": V_("Your basket is empty. Scan an item first."),
    "not_allowed_now": V_("That is not possible right now."),
    "payment_in_progress": V_("A payment is already in progress."),
    "payment_unavailable": V_("Payment is not available right now."),
    "unknown_method": V_("That way to pay is not available."),
    "unknown_locale": V_("That language is not available."),
    "bad_barcode": V_("That barcode could not be read. Please scan it again."),
    "needs_weight": V_("This item must be weighed."),
    "scale_motion": V_("The scale is still moving. Please keep the item still."),
    "scale_no_response": V_("The scale is not working. Please ask a staff member."),
    # a loose item named or chosen by key (kiosk/services/voice/items.py) before it is weighed
    "scale_empty": V_("Please put the item on the scale."),
    "scale_over_capacity": V_("Too heavy for the scale. Please weigh less at a time."),
    "scale_below_minimum": V_("Too light to weigh. Please add more."),
}

TEXT = {
    "sorry": V_("Sorry, please say that again."),
    "sorry_keys": V_("Sorry, I did not understand. You can also use the keys below the screen."),
    "accessible_on": V_("Spoken guidance is on. Use up and down to move, select to choose, "
                        "back to hear this again."),
    "headset_on": V_("Headset connected. Private information will be spoken only in your "
                     "headset."),
    "headset_off": V_("Headset disconnected."),
    "items_none": V_("Your basket is empty."),
    "items_count": V_("{count} items in your basket."),
    "total": V_("Your total is {total}."),
    "savings": V_("You saved {amount}."),
    "tax": V_("Tax {amount}."),
    "line": V_("{qty} times {name}, {amount}."),
    "line_weight": V_("{name}, {weight} kilograms, {amount}."),
    # the loose items' list (tactile keys): how to use it, then one item at a time
    "look_up_list": V_("Put the item on the scale. Up and down read the items, select buys"
                       " the one read, back returns."),
    "item_per_kg": V_("{name}, {price} per kilogram."),
    "item_each": V_("{name}, {price} each."),
    "line_one": V_("{name}, {amount}."),
    "added": V_("Added {name}, {amount}."),
    "paid_card": V_("Paid {amount} by card ending in {last4}."),
    "paid_qr": V_("Paid {amount} by phone."),
    "auth_code": V_("Authorization code {code}."),
    "receipt_printing": V_("Your receipt is printing. Please take it."),
    "receipt_none": V_("No receipt will be printed."),
    "receipt_failed": V_("The receipt could not be printed. A staff member can print it "
                         "for you."),
    "receipt_header": V_("Your receipt."),
    "receipt_question": V_("Would you like a receipt? Say receipt, or no receipt."),
    "receipt_phone": V_("For a receipt on your phone, touch Receipt on my phone and scan the"
                        " code on the screen."),
    "goodbye": V_("Goodbye."),
    "idle_warning": V_("Are you still there? Press any key or say yes to continue."),
    "more_time": V_("You have more time."),
    "volume": V_("Volume {level}."),
    "language": V_("English"),
    "cancel_confirm": V_("Do you want to cancel your basket? Say yes or no."),
    # a money-moving or staff-calling intent heard with less than sure confidence is
    # asked back, saying what was understood (kiosk.services.voice.confirm)
    "confirm_pay_card": V_("Pay {amount} by card? Say yes, or press select."),
    "confirm_pay_qr": V_("Pay {amount} by phone? Say yes, or press select."),
    "confirm_pay": V_("Pay {amount}? Say yes, or press select."),
    "confirm_help": V_("Call a staff member? Say yes, or press select."),
    "kept": V_("Your basket is kept."),
    "staff_called": V_("A staff member has been called."),
    "app": V_("Application {n}: {label}."),
    "take_card": V_("Please take your card from the card reader."),
    # never silent (kiosk.services.voice.service): a language without a speech model
    "voice_unavailable": V_("Voice commands are not available in this language. Use the "
                            "keys below the screen or the touch screen."),
    "voice_languages": V_("Voice commands work in {languages}."),
    "which_language": V_("Which language would you like? Say {languages}."),
    "no_voice_switch": V_("Voice commands are not available in {language}. Change the "
                          "language anyway? Say yes or no."),
    # the optional rating after the receipt (issue 18, kiosk/domain/feedback.py)
    "rate_question": V_("How was your checkout today? If you like, say good, okay, or bad."),
    "rate_reasons": V_("Sorry about that. What went wrong? Say scanning, paying, waiting for"
                       " staff, weighing, too slow, or something else. Or say no."),
    "rate_thanks": V_("Thank you for your feedback."),
}

#: labels for accessible-mode focus items (one per action)
ACTION_TEXT = {
    "hear_total": V_("Hear the total."),
    "hear_items": V_("Hear the items."),
    "checkout": V_("Go to payment."),
    "look_up": V_("Look up a loose item."),
    "pay_card": V_("Pay by card."),
    "pay_qr": V_("Pay by phone."),
    "back": V_("Back to the basket."),
    "cancel": V_("Cancel the basket."),
    "help": V_("Call a staff member."),
    "cancel_help": V_("Cancel the help call."),
    "put_aside": V_("Put the item aside."),
    "own_bag": V_("I brought a bag."),
    "receipt_print": V_("Print a receipt."),
    "receipt_none": V_("No receipt."),
    "read_receipt": V_("Hear the receipt."),
    "more_time": V_("I need more time."),
    "repeat": V_("Repeat."),
    "done": V_("Finish."),
    # the rating's faces and what went wrong (kiosk/domain/feedback.py)
    "rate:3": V_("It was good."),
    "rate:2": V_("It was okay."),
    "rate:1": V_("It was bad."),
    "reason:scanning": V_("Scanning items."),
    "reason:payment": V_("Paying."),
    "reason:waited_for_staff": V_("Waiting for staff."),
    "reason:weighing": V_("Weighing produce."),
    "reason:too_slow": V_("It was too slow."),
    "reason:other": V_("Something else."),
    "rate:skip": V_("Nothing to add."),
}


def all_msgids() -> list[str]:
    """Every msgid this module can speak (for catalog checks)."""
    out: list[str] = []
    for table in (STATE_TEXT, ATTENDANT_TEXT, ATTENDANT_HINT, STEP_TEXT, NOTICE_TEXT,
                  ERROR_TEXT, TEXT, WALLET_NOTICE_TEXT, WALLET_DECLINE_TEXT, ACTION_TEXT):
        out.extend(table.values())
    return out


class Prompts:
    """Spoken texts in one locale."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self._tr = translator(locale, DOMAIN)

    def t(self, msgid: str, **values: object) -> str:
        return self._tr(msgid).format(**values)

    # -- pieces ---------------------------------------------------------------------

    def money(self, minor: int, msg: dict) -> str:
        return format_money(minor, message_currency(msg.get("currency")), self.locale)

    def name(self, names: dict) -> str:
        lang = language_of(self.locale)
        return names.get(lang) or names.get("en") or next(iter(names.values()), "")

    def line(self, line: dict, msg: dict) -> str:
        name = self.name(line.get("names") or {})
        amount = self.money(line.get("amount", 0), msg)
        if line.get("weight_g"):
            weight = f"{line['weight_g'] / 1000:.3f}".rstrip("0").rstrip(".")
            return self.t(TEXT["line_weight"], name=name, weight=weight, amount=amount)
        if line.get("qty", 1) > 1:
            return self.t(TEXT["line"], qty=line["qty"], name=name, amount=amount)
        return self.t(TEXT["line_one"], name=name, amount=amount)

    def item(self, names: dict, price: int, by_weight: bool, msg: dict) -> str:
        """A loose item as the keys read it: its name and price per kilogram (or each)."""
        key = "item_per_kg" if by_weight else "item_each"
        return self.t(TEXT[key], name=self.name(names), price=self.money(price, msg))

    def items(self, msg: dict) -> Speech:
        lines = msg.get("lines") or []
        if not lines:
            return Speech([self.t(TEXT["items_none"])])
        count = sum(ln.get("qty", 1) if not ln.get("weight_g") else 1 for ln in lines)
        return Speech([self.t(TEXT["items_count"], count=count)]
                      + [self.line(ln, msg) for ln in lines], private=True)

    def total(self, msg: dict) -> Speech:
        totals = msg.get("totals") or {}
        texts = [self.t(TEXT["total"], total=self.money(totals.get("total", 0), msg))]
        if totals.get("savings"):
            texts.append(self.t(TEXT["savings"], amount=self.money(totals["savings"], msg)))
        return Speech(texts, private=True)

    def error(self, reason: str) -> Speech:
        return Speech([self.t(ERROR_TEXT.get(reason, ERROR_TEXT["not_allowed_now"]))])

    def notice(self, code: str | None) -> Speech:
        return Speech([self.t(NOTICE_TEXT[code])] if code in NOTICE_TEXT else [])

    def action(self, action: str, msg: dict | None = None) -> str:
        if action.startswith("app:"):  # one of the card's applications, by its label
            index = int(action[4:])
            apps = ((msg or {}).get("payment") or {}).get("apps") or []
            label = apps[index]["label"] if index < len(apps) else f"#{index + 1}"
            return self.t(TEXT["app"], n=index + 1, label=label)
        return self.t(ACTION_TEXT[action])

    def language_name(self, locale: str) -> str:
        """A language's name in this prompt's language (CLDR: 영어, 韩语, Korean)."""
        from babel import Locale  # CLDR tables, only when a language is named

        lang = language_of(locale)
        names = Locale.parse(self.locale.replace("-", "_")).languages
        return names.get(lang) or names.get(locale) or locale

    def languages(self, locales: list[str]) -> str:
        """Several language names, joined as a list in this prompt's language."""
        from babel.lists import format_list

        return format_list([self.language_name(loc) for loc in locales], style="or",
                           locale=self.locale.replace("-", "_"))

    def confirm(self, action: str, msg: dict) -> Speech:
        """The question that asks ``action`` back before it acts (what was understood)."""
        if action == "cancel":
            return self.say("cancel_confirm")
        if action == "help":
            return self.say("confirm_help")
        key = f"confirm_{action}" if f"confirm_{action}" in TEXT else "confirm_pay"
        total = (msg.get("totals") or {}).get("total", 0)
        return self.say(key, amount=self.money(total, msg))

    def say(self, key: str, **values: object) -> Speech:
        return Speech([self.t(TEXT[key], **values)])

    # -- whole prompts --------------------------------------------------------------

    def state(self, msg: dict) -> Speech:
        """What to say on entering ``msg['state']`` (and on "repeat"); a card left in the
        reader (``card_left``) is said first, and alone on the idle screen."""
        if not msg.get("card_left"):
            return self._state(msg)
        take = self.t(TEXT["take_card"])
        if msg.get("state", "attract") in ("attract", "out_of_service"):
            return Speech([take])
        speech = self._state(msg)
        return Speech([take, *speech.texts], private=speech.private)

    def _state(self, msg: dict) -> Speech:
        state = msg.get("state", "attract")
        payment = msg.get("payment") or {}
        if state == "attendant_needed":
            reason = (msg.get("attendant") or {}).get("reason", "help")
            return Speech([self.t(ATTENDANT_TEXT.get(reason, STATE_TEXT[state]))]
                          + [self.t(ATTENDANT_HINT[way]) for way in shopper_ways_out(msg)])
        if state == "authorizing":
            step = payment.get("step") or ("qr" if payment.get("method") == "qr" else None)
            if step in STEP_TEXT:
                return self.step(step, msg)
            return Speech([self.t(STATE_TEXT[state])], private=True)
        if state in ("payment", "declined"):
            texts = self.notice(msg.get("notice")).texts if state == "payment" else []
            if state == "declined" and payment.get("message") in WALLET_DECLINE_TEXT:
                texts = [self.t(WALLET_DECLINE_TEXT[payment["message"]])]
            return Speech(texts + self.total(msg).texts + [self.t(STATE_TEXT[state])],
                          private=True)
        if state == "approved":
            # short: the receipt question is timed (timeouts.receipt_choice_s); how it was
            # paid is in the receipt read-out
            if payment.get("receipt_choice"):
                return Speech([self.t(STATE_TEXT[state])] + self.paid(msg).texts, private=True)
            phone = [self.t(TEXT["receipt_phone"])] if msg.get("e_receipt") else []
            return Speech([self.t(STATE_TEXT[state]), self.t(TEXT["receipt_question"]), *phone])
        if state == "receipt":
            return Speech(self.receipt_outcome(msg).texts + [self.t(STATE_TEXT[state])]
                          + self.rating(msg).texts)
        if state == "attract":
            return Speech(self.notice(msg.get("notice")).texts + [self.t(STATE_TEXT[state])])
        return Speech([self.t(STATE_TEXT.get(state, STATE_TEXT["attendant_needed"]))])

    def rating(self, msg: dict) -> Speech:
        """The receipt screen's optional rating: the question, what went wrong, thanks."""
        key = {"ask": "rate_question", "reasons": "rate_reasons",
               "thanks": "rate_thanks"}.get(rating_phase(msg))
        return self.say(key) if key else Speech()

    def step(self, step: str, msg: dict | None = None) -> Speech:
        if step not in STEP_TEXT:
            return Speech()
        texts = [self.t(STEP_TEXT[step])]
        notice = ((msg or {}).get("payment") or {}).get("notice")
        if step == "show_code" and notice in WALLET_NOTICE_TEXT:
            texts.insert(0, self.t(WALLET_NOTICE_TEXT[notice]))
        apps = ((msg or {}).get("payment") or {}).get("apps") or []
        if step == "choose_app":
            texts += [self.action(f"app:{i}", msg) for i in range(len(apps))]
        return Speech(texts, private=True)

    def paid(self, msg: dict) -> Speech:
        payment = msg.get("payment") or {}
        if payment.get("status") != "approved":
            return Speech()
        amount = self.money(payment.get("amount", 0), msg)
        card = payment.get("card") or {}
        four = last4(card.get("masked_pan"))
        if payment.get("method") == "card" and four:
            return Speech([self.t(TEXT["paid_card"], amount=amount, last4=" ".join(four))],
                          private=True)
        return Speech([self.t(TEXT["paid_qr"], amount=amount)], private=True)

    def receipt_outcome(self, msg: dict) -> Speech:
        receipt = msg.get("receipt") or {}
        choice = (msg.get("payment") or {}).get("receipt_choice")
        if choice == "none" or receipt.get("printed") is False:
            return self.say("receipt_none")
        if receipt.get("ok") is False:
            return self.say("receipt_failed")
        if receipt.get("path") or choice == "print":
            return self.say("receipt_printing")
        return Speech()

    def receipt(self, msg: dict) -> Speech:
        """The receipt's content read out: items, savings, total, how it was paid."""
        payment = msg.get("payment") or {}
        texts = [self.t(TEXT["receipt_header"])] + self.items(msg).texts[1:]
        texts += self.total(msg).texts + self.paid(msg).texts
        if payment.get("auth_code"):
            texts.append(self.t(TEXT["auth_code"], code=" ".join(str(payment["auth_code"]))))
        return Speech(texts, private=True)


def sample_prompts(locale: str) -> list[str]:
    """A handful of representative prompts (for TTS measurements)."""
    p = Prompts(locale)
    msg = {"currency": {"code": "USD", "exponent": 2}, "totals": {"total": 2030, "savings": 99},
           "state": "payment", "lines": []}
    return [p.t(STATE_TEXT["attract"]), p.state(msg).text, p.t(STEP_TEXT["insert_card"]),
            p.t(STATE_TEXT["receipt"]), p.t(TEXT["sorry"])]
