"""The card reader driver against a real pcscd with the vpcd driver and a virtual card."""

from __future__ import annotations

import threading
import time

import pytest
from kiosk_drivers.cardreader import (
    CardRemoved,
    CardSession,
    CardTimeout,
    ReaderError,
    UnsupportedCard,
    open_channel,
    reader_state,
)
from kiosk_drivers.cardreader.sim.vpcd import VpcdCard

from tests.cardreader.testcard import AID, FCI, RECORD, TinyCard, make_card
from tests.cardsupport import READER0, READER1, wait_event, wait_present

pytestmark = pytest.mark.card

SELECT = bytes([0x00, 0xA4, 0x04, 0x00, len(AID)]) + AID + b"\x00"
READ_RECORD_LE0 = bytes.fromhex("00B2010C00")


def test_reader_appears(pcscd, card_events):
    _, events = card_events
    seen = {wait_event(events, "reader_added", reader=None)["reader"] for _ in range(2)}
    assert seen == {READER0, READER1}


def test_a_monitor_reports_what_is_there_when_it_starts_never_a_card_pulled_before(vcard):
    """Each ReaderEvents asks pcscd itself (no process-wide monitor replaying a stale
    list): the readers and the card present are posted before start() returns; a monitor
    started after the card was pulled announces none."""
    import queue

    from kiosk_drivers.cardreader import ReaderEvents

    card = TinyCard("T=1")
    vcard.insert(card)
    wait_present(READER0, True)
    first: queue.Queue = queue.Queue()
    with ReaderEvents(first.put, reader_pattern=r"^Virtual PCD", reader_poll_s=0.2):
        posted = [first.get_nowait() for _ in range(first.qsize())]
        assert {(e["type"], e["reader"]) for e in posted} >= {
            ("reader_added", READER0), ("reader_added", READER1), ("card_inserted", READER0)}
        vcard.remove()
        wait_event(first, "card_removed")
    wait_present(READER0, False)
    later: queue.Queue = queue.Queue()
    with ReaderEvents(later.put, reader_pattern=r"^Virtual PCD", reader_poll_s=0.2):
        assert [e["type"] for e in (later.get_nowait() for _ in range(later.qsize()))] == [
            "reader_added", "reader_added"]
        with pytest.raises(queue.Empty):
            later.get(timeout=1.0)


def test_stop_ends_the_monitor_thread_and_its_events(vcard):
    import queue

    from kiosk_drivers.cardreader import ReaderEvents

    before = set(threading.enumerate())
    events: queue.Queue = queue.Queue()
    monitor = ReaderEvents(events.put, reader_pattern=r"^Virtual PCD", reader_poll_s=0.2)
    monitor.start()
    started = set(threading.enumerate()) - before
    assert started, "the monitor runs in a thread of its own"
    monitor.stop()
    assert [t for t in started if t.is_alive()] == []
    while not events.empty():
        events.get_nowait()
    vcard.insert(TinyCard("T=1"))
    wait_present(READER0, True)
    with pytest.raises(queue.Empty):  # pcscd saw the card; a stopped monitor posts nothing
        events.get(timeout=1.0)


def test_insert_and_remove_post_events(vcard, card_events):
    _, events = card_events
    card = TinyCard("T=1")
    vcard.insert(card)
    inserted = wait_event(events, "card_inserted")
    assert inserted["atr"] == card.atr().hex().upper()
    assert "unsupported" not in inserted
    vcard.remove()
    removed = wait_event(events, "card_removed")
    assert removed["t"] > inserted["t"]


def test_t0_get_response_and_wrong_le_are_transparent(vcard):
    card = TinyCard("T=0")
    vcard.insert(card)
    wait_present(READER0, True)
    channel = open_channel(READER0)
    try:
        assert channel.protocol == "T=0"
        data, sw = channel.transmit(SELECT)
        assert (data, sw) == (FCI, 0x9000)
        # SELECT answered 61 00, GET RESPONSE 256 bytes + 61 2C, GET RESPONSE 44 bytes
        assert [a[1] for a in card.log] == [0xA4, 0xC0, 0xC0]
        assert channel.apdu_count == 3
        data, sw = channel.transmit(READ_RECORD_LE0)
        assert (data, sw) == (RECORD, 0x9000)
        # 6C 14, then the same READ RECORD with Le = 14
        assert card.log[-2:] == [READ_RECORD_LE0, READ_RECORD_LE0[:4] + bytes([len(RECORD)])]
        assert channel.apdu_count == len(card.log) == 5
        data, sw = channel.transmit(bytes.fromhex("0001000000"))
        assert (data, sw) == (b"", 0x6D00)
    finally:
        channel.close()


def test_t1_card(vcard):
    card = TinyCard("T=1")
    vcard.insert(card)
    wait_present(READER0, True)
    channel = open_channel(READER0)
    try:
        assert channel.protocol == "T=1"
        assert channel.transmit(SELECT) == (FCI, 0x9000)
        assert channel.transmit(READ_RECORD_LE0) == (RECORD, 0x9000)
        assert channel.apdu_count == len(card.log) == 2
    finally:
        channel.close()


def test_contactless_card_is_unsupported(vcard, card_events):
    _, events = card_events
    vcard.insert(make_card("contactless"))
    assert wait_event(events, "card_inserted")["unsupported"] == "contactless"
    with pytest.raises(UnsupportedCard):
        open_channel(READER0)


def test_no_card_is_card_removed(pcscd):
    wait_present(READER0, False)
    with pytest.raises(CardRemoved):
        open_channel(READER0)


def test_unknown_reader_is_reader_error(pcscd):
    with pytest.raises(ReaderError):
        open_channel("No Such Reader 00 00")


def test_a_failing_event_consumer_does_not_stop_the_events(vcard):
    seen: list[dict] = []

    def consumer(event: dict) -> None:
        seen.append(event)
        raise RuntimeError("consumer bug")

    from kiosk_drivers.cardreader import ReaderEvents

    with ReaderEvents(consumer, reader_pattern="00 00$", reader_poll_s=0.2):
        vcard.insert(TinyCard("T=1"))
        wait_present(READER0, True)
        vcard.remove()
        wait_present(READER0, False)
        deadline = time.monotonic() + 10
        while "card_removed" not in [e["type"] for e in seen] and time.monotonic() < deadline:
            time.sleep(0.05)
    assert [e["type"] for e in seen if e["type"].startswith("card")] == [
        "card_inserted", "card_removed"]
    assert {e["reader"] for e in seen} == {READER0}


def test_card_pulled_mid_transmit_is_card_removed(pcscd, vcard):
    vcard.hang_after = 1            # answers SELECT's first APDU, then goes quiet
    vcard.insert(TinyCard("T=1"))
    wait_present(READER0, True)
    channel = open_channel(READER0)
    outcome: dict[str, BaseException | object] = {}

    def flow() -> None:
        try:
            channel.transmit(SELECT)
            outcome["result"] = channel.transmit(READ_RECORD_LE0)
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            outcome["error"] = exc

    worker = threading.Thread(target=flow, daemon=True)
    worker.start()
    while vcard.apdus < 2:          # the READ RECORD is out and unanswered
        time.sleep(0.01)
    vcard.remove()
    worker.join(15)
    assert not worker.is_alive(), "transmit hung after the card was pulled"
    assert isinstance(outcome.get("error"), CardRemoved), outcome
    channel.close()


def test_session_watchdog_ends_a_card_that_never_answers(pcscd, vcard):
    vcard.hang_after = 2
    vcard.insert(TinyCard("T=1"))
    wait_present(READER0, True)
    channel = open_channel(READER0)
    session = CardSession(channel, limit_s=1.5)

    def flow(ch):
        ch.transmit(SELECT)
        ch.transmit(READ_RECORD_LE0)
        return ch.transmit(READ_RECORD_LE0)   # never answered

    started = time.monotonic()
    with pytest.raises(CardTimeout):
        session.run(flow)
    print(f"\nwatchdog: CardTimeout after {time.monotonic() - started:.3f} s (limit 1.5 s)")
    assert session.timed_out
    # Later APDUs of the aborted flow fail at once instead of going out
    with pytest.raises(CardTimeout):
        channel.transmit(SELECT)
    assert vcard.apdus == 3
    # PC/SC stays usable while the dead card's transmit is stuck in pcscd
    assert reader_state(READER0)[0] is True
    # Pulling the card releases the stuck transmit; the worker ends with CardTimeout
    workers = [t for t in threading.enumerate() if t.name == "card-session"]
    vcard.remove()
    for worker in workers:
        worker.join(15)
        assert not worker.is_alive()


def test_session_returns_the_flow_result_and_its_errors(vcard):
    vcard.insert(TinyCard("T=1"))
    wait_present(READER0, True)
    channel = open_channel(READER0)
    try:
        assert CardSession(channel, 10).run(lambda ch: ch.transmit(SELECT)) == (FCI, 0x9000)

        def broken(ch):
            raise LookupError("flow bug")

        with pytest.raises(LookupError):
            CardSession(channel, 10).run(broken)
    finally:
        channel.close()


def test_second_reader_slot(pcscd, card_events):
    _, events = card_events
    slot = VpcdCard("127.0.0.1", pcscd.port + 1)
    try:
        slot.insert(TinyCard("T=1"))
        assert wait_event(events, "card_inserted", reader=READER1)["reader"] == READER1
    finally:
        slot.remove()
        wait_present(READER1, False)


def test_a_card_that_never_stops_chaining_is_a_reader_error(vcard):
    from kiosk_drivers.cardreader.channel import MAX_CHAINED

    card = make_card("endless")
    vcard.insert(card)
    wait_present(READER0, True)
    channel = open_channel(READER0)
    try:
        with pytest.raises(ReaderError, match="61"):
            channel.transmit(SELECT)
        assert channel.apdu_count == len(card.log) == MAX_CHAINED + 2
    finally:
        channel.close()
