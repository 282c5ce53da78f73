"""Figures, printed not asserted: an APDU round trip through pcscd and vpcd with and
without TCP_QUICKACK on the virtual card's socket, and how long after an insert / removal
the ReaderEvents event arrives (pcscd polls vpcd's reader ~every 400 ms)."""

from __future__ import annotations

import json
import statistics
import time

import pytest
from kiosk_drivers.cardreader import open_channel
from kiosk_drivers.cardreader.sim.vpcd import VpcdCard

from tests.cardreader.testcard import AID, FCI, TinyCard
from tests.cardsupport import READER0, wait_event, wait_present

pytestmark = pytest.mark.card

SELECT = bytes([0x00, 0xA4, 0x04, 0x00, len(AID)]) + AID + b"\x00"


def _round_trip_ms(pcscd, quickack: bool, runs: int = 25) -> float:
    slot = VpcdCard("127.0.0.1", pcscd.port, quickack=quickack)
    slot.insert(TinyCard("T=1"))
    try:
        wait_present(READER0, True)
        channel = open_channel(READER0)
        try:
            channel.transmit(SELECT)  # warm up
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                answer = channel.transmit(SELECT)
                times.append((time.perf_counter() - start) * 1000)
                assert answer == (FCI, 0x9000)
        finally:
            channel.close()
    finally:
        slot.remove()
        wait_present(READER0, False)
    return statistics.median(times)


def test_apdu_round_trip_with_and_without_quickack(pcscd):
    with_qa = _round_trip_ms(pcscd, quickack=True)
    without = _round_trip_ms(pcscd, quickack=False)
    print(f"\nAPDU round trip through pcscd+vpcd, median of 25: "
          f"{with_qa:.3f} ms with TCP_QUICKACK, {without:.3f} ms without")
    print(json.dumps({"apdu_ms_median_quickack": round(with_qa, 3),
                      "apdu_ms_median_no_quickack": round(without, 3)}))


def test_insert_and_remove_to_event_latency(vcard, card_events):
    _, events = card_events
    inserted, removed = [], []
    for _ in range(5):
        vcard.insert(TinyCard("T=1"))
        start = vcard.connected_at
        inserted.append((wait_event(events, "card_inserted")["t"] - start) * 1000)
        start = time.monotonic()
        vcard.remove()
        removed.append((wait_event(events, "card_removed")["t"] - start) * 1000)
    print(f"\ninsert -> card_inserted event: median {statistics.median(inserted):.0f} ms "
          f"(max {max(inserted):.0f}); remove -> card_removed: median "
          f"{statistics.median(removed):.0f} ms (max {max(removed):.0f}), 5 runs")
    print(json.dumps({"insert_to_event_ms_median": round(statistics.median(inserted), 1),
                      "remove_to_event_ms_median": round(statistics.median(removed), 1)}))

