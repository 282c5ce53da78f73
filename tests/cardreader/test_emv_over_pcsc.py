"""The EMV flow of kiosk.payments.emv over this driver, through the real pcscd and vpcd,
with the EMV card profiles of kiosk.sim.emvcard (T=1 and T=0)."""

from __future__ import annotations

import pytest
from kiosk_drivers.cardreader import CardSession, open_channel
from kiosk_drivers.cardreader.sim.vpcd import VpcdCard

from kiosk.payments.emv import EmvTransaction
from kiosk.sim.emvcard import make_card
from tests.cardsupport import READER0, wait_present

pytestmark = pytest.mark.card


@pytest.mark.parametrize("profile", ["visa", "t0_visa", "mastercard", "unionpay"])
def test_flow_to_arqc(config, vcard: VpcdCard, profile):
    card = make_card(profile)
    vcard.insert(card)
    wait_present(READER0, True)
    channel = open_channel(READER0)
    try:
        emv = EmvTransaction(channel, config.card.terminal, 1234, 840, 2)

        def flow(ch):
            emv.select(lambda candidates: 0)
            emv.read_data()
            emv.analyse()
            return emv.first_ac()

        CardSession(channel, 20).run(flow)
        assert emv.arqc and len(emv.arqc) == 8
        summary = emv.summary()
        for secret in card.secrets():
            assert secret not in repr(summary)
        # every APDU the card saw went through the channel's count (GET RESPONSE included)
        assert channel.apdu_count == len(card.commands) == vcard.apdus
        if card.protocol == "T=0":
            assert any(c[1] == 0xC0 for c in card.commands)
        print(f"\n{profile} ({card.protocol}): {channel.apdu_count} APDUs to the ARQC")
    finally:
        channel.close()
