"""``kiosk sim card`` as its own process, controlled on stdin, with the EMV card profiles of
kiosk.sim.emvcard, through the real pcscd."""

from __future__ import annotations

import pytest
from kiosk_drivers.cardreader import open_channel

from kiosk.sim.emvcard import make_card
from tests.cardsupport import READER0, wait_event, wait_present

pytestmark = pytest.mark.card

PSE = b"1PAY.SYS.DDF01"
SELECT_PSE = bytes([0x00, 0xA4, 0x04, 0x00, len(PSE)]) + PSE + b"\x00"


@pytest.mark.parametrize("profile", ["visa", "t0_visa"])
def test_select_pse_on_an_emv_profile(sim_card, profile):
    sim = sim_card("--profile", profile)
    assert sim.first == f"ok inserted {profile}"
    wait_present(READER0, True)
    channel = open_channel(READER0)
    try:
        card = make_card(profile)
        assert channel.protocol == card.protocol
        data, sw = channel.transmit(SELECT_PSE)
        assert sw == 0x9000
        assert data[:1] == b"\x6f"                     # FCI template
        # T=0: SELECT answered 61xx, then one GET RESPONSE; T=1: one APDU
        assert channel.apdu_count == (2 if card.protocol == "T=0" else 1)
        assert sim.send("status") == f"ok inserted {profile} apdus={channel.apdu_count}"
    finally:
        channel.close()


def test_insert_swap_and_remove_from_stdin(sim_card, card_events):
    _, events = card_events
    sim = sim_card("--no-insert")
    assert sim.first == "ok removed"
    assert sim.send("insert visa") == "ok inserted visa"
    first = wait_event(events, "card_inserted")
    assert first["atr"] == make_card("visa").atr().hex().upper()
    assert sim.send("insert t0_visa") == "ok inserted t0_visa"   # swap: pull, insert
    wait_event(events, "card_removed")
    second = wait_event(events, "card_inserted")
    assert second["atr"] == make_card("t0_visa").atr().hex().upper()
    assert sim.send("remove") == "ok removed"
    wait_event(events, "card_removed")
    assert sim.send("status") == "ok removed"


def test_bad_control_lines_get_a_clear_answer(sim_card):
    sim = sim_card("--no-insert")
    assert sim.send("insert no_such_card").startswith("error unknown card profile")
    assert sim.send("wiggle").startswith("error unknown command")
    assert sim.send("status") == "ok removed"
    assert sim.stop() == 0


def test_hang_after_option_and_the_session_watchdog(sim_card):
    from kiosk_drivers.cardreader import CardSession, CardTimeout

    sim = sim_card("--profile", "visa", "--hang-after", "1")
    wait_present(READER0, True)
    channel = open_channel(READER0)

    def flow(ch):
        ch.transmit(SELECT_PSE)
        return ch.transmit(SELECT_PSE)        # the card is dead by now

    with pytest.raises(CardTimeout):
        CardSession(channel, limit_s=1.0).run(flow)
    assert sim.send("remove") == "ok removed"   # releases the stuck transmit


def test_card_pulled_between_commands_is_card_removed(sim_card):
    from kiosk_drivers.cardreader import CardRemoved

    sim = sim_card("--profile", "mastercard")
    wait_present(READER0, True)
    channel = open_channel(READER0)
    try:
        channel.transmit(SELECT_PSE)
        assert sim.send("remove") == "ok removed"
        wait_present(READER0, False)
        with pytest.raises(CardRemoved):
            channel.transmit(SELECT_PSE)
    finally:
        channel.close()


def test_unknown_start_profile_exits_2_with_one_line(pcscd):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "kiosk.cli", "sim", "card", "--profile", "nope",
                           "--port", str(pcscd.port)], capture_output=True, text=True,
                          env=pcscd.env, stdin=subprocess.DEVNULL, timeout=60)
    assert done.returncode == 2
    assert "unknown card profile 'nope'" in done.stderr
    assert "Traceback" not in done.stderr
