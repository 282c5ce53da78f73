"""kiosk-metrics in process: the journal counters (counted once per row across scrapes,
training apart) and the host figures read from the kernel's files.

Each scrape adds only the rows appended since the last one (the journal is append-only),
so a counter must equal a full count at every scrape, leave a training session's rows out
(kiosk.domain.training's transaction prefix) and start again from the journal when it is
replaced by a shorter one (a restore).
"""

from __future__ import annotations

import threading

from prometheus_client import CollectorRegistry

from kiosk.domain.training import training_txn
from kiosk.journal.store import Journal
from kiosk.services.metrics import LaneCollector, LaneFeed


def test_counters_add_new_rows_only_leave_training_out_and_restart(tmp_path):
    path = tmp_path / "journal.sqlite"
    registry = CollectorRegistry()
    connected = threading.Event()
    registry.register(LaneCollector(LaneFeed(), "L1", path, tmp_path, connected))

    def count(name: str) -> float | None:
        return registry.get_sample_value(f"kiosk_{name}_total")

    journal = Journal(path)
    journal.append([{"type": "session_started", "ts": 1.0, "locale": "en", "txn": "S-1",
                     "txn_seq": 1}], "S-1")
    assert (count("baskets"), count("declines")) == (1, 0)
    journal.append([{"type": "session_started", "ts": 2.0, "locale": "en", "txn": "S-2",
                     "txn_seq": 2}], "S-2")
    journal.append([{"type": "session_started", "ts": 3.0, "locale": "en",
                     "txn": training_txn("S-3"), "txn_seq": 3}], training_txn("S-3"))
    assert count("baskets") == 2 and count("baskets") == 2  # again: nothing counted twice
    journal.close()

    path.unlink()  # a restored journal, shorter than the one counted
    journal = Journal(path)
    journal.append([{"type": "session_started", "ts": 4.0, "locale": "en", "txn": "S-9",
                     "txn_seq": 1}], "S-9")
    journal.close()
    assert count("baskets") == 1


def test_cpu_temperature_and_sd_wear_where_the_kernel_gives_them(tmp_path, monkeypatch):
    """The SoC's thermal zone (millidegrees) and the eMMC/SD life-time estimate (JEDEC
    steps 0x01..0x0B, type A first) read from files of the kernel's format; a box without
    them (or a step out of range) reports neither, rather than a made-up figure."""
    from kiosk.services import metrics

    thermal, life = tmp_path / "temp", tmp_path / "life_time"
    monkeypatch.setattr(metrics, "THERMAL", thermal)
    monkeypatch.setattr(metrics, "SD_LIFE", life)
    registry = CollectorRegistry()
    registry.register(LaneCollector(LaneFeed(), "L1", tmp_path / "journal.sqlite", tmp_path,
                                    threading.Event()))
    assert registry.get_sample_value("kiosk_cpu_temperature_celsius") is None
    assert registry.get_sample_value("kiosk_sd_life_used_ratio") is None
    thermal.write_text("48312\n")
    life.write_text("0x03 0x01\n")
    assert registry.get_sample_value("kiosk_cpu_temperature_celsius") == 48.312
    assert registry.get_sample_value("kiosk_sd_life_used_ratio") == 0.3
    life.write_text("0x00 0x00\n")  # "not defined" in JEDEC: no estimate
    assert registry.get_sample_value("kiosk_sd_life_used_ratio") is None
