"""Sentences a shopper is shown for a payment's outcome, by reason code: one table for the
lane's screen (kiosk.ui.viewmodel) and the attendant station, which tells staff what the
shopper was told rather than the acquirer's code. Marked for the ``kiosk`` catalogs,
translated where shown."""

from __future__ import annotations

from kiosk.i18n import N_

#: AuthResult.message_key → what the shopper is told on the declined screen, below its title
#: (kiosk.ui.viewmodel's ``decline_title``): why, or what now, never the title again
DECLINE_MESSAGES = {
    "card_declined": N_("Your bank did not approve this payment."),
    "try_later": N_("The card service is not answering. Please try again later."),
    "partial_not_supported": N_("Only part of the amount was approved, so the payment was"
                                " cancelled."),
    "card_removed": N_("The card was removed too early."),
    "card_timeout": N_("The card reader timed out."),
    "card_blocked": N_("This card is blocked. Please use another card."),
    "card_read_error": N_("We could not read your card. Try again or use another card."),
    "no_application": N_("This card cannot be used here. Please use another card."),
    "unsupported_card": N_("This card is not supported here. Please insert a chip card."),
    "not_charged": N_("Your items are still in your basket."),
    "cancelled": N_("Your items are still in your basket."),
    "clock_not_synced": N_("Card payment is unavailable right now."),
    "wallet_insufficient_funds": N_("Your payment app's balance is not enough for this"
                                    " payment."),
    "wallet_declined": N_("Your payment app did not approve this payment."),
    "wallet_cancelled": N_("The payment was cancelled on your phone."),
    "wallet_amount_limit": N_("This amount is over your payment app's limit."),
    "code_timeout": N_("No payment code was shown in time."),
    "qr_expired": N_("The payment code on the screen has expired."),
}
