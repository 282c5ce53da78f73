"""The bagging-area rules (kiosk.domain.bagging), pure: a monitor fed readings and basket
changes at chosen times, and the events it returns."""

from __future__ import annotations

import pytest

from kiosk.domain.bagging import BaggingConfig, BaggingMonitor, Expectation, learned_weight

CFG = BaggingConfig(enabled=True, noise_g=10, tolerance_g=20, wait_s=8, grace_s=0.5,
                    own_bag_max_g=500)
MILK = Expectation(1050)
T = 1000.0


def _monitor(start_g: int = 0) -> BaggingMonitor:
    mon = BaggingMonitor(CFG)
    mon.reading("stable", start_g, T, True)
    mon.start()
    return mon


def _kinds(events: list[dict]) -> list[tuple]:
    return [(e["type"], e["kind"], e.get("how")) for e in events]


def test_scan_and_bag_is_no_alert():
    mon = _monitor()
    mon.expect(1, "milk", MILK, T)
    assert mon.reading("motion", None, T + 1, True) == []
    assert mon.reading("stable", 1046, T + 1.5, True) == []
    assert mon.pending == [] and mon.baseline_g == 1046
    assert mon.tick(T + 60, True) == []


def test_noise_within_the_limit_is_nothing():
    mon = _monitor(200)
    for i, grams in enumerate((203, 195, 209, 191, 200)):
        assert mon.reading("stable", grams, T + i, True) == []
        assert mon.tick(T + i + 0.9, True) == []


def test_a_moving_load_is_not_judged_on_its_last_settled_weight():
    mon = _monitor(200)
    mon.expect(1, "milk", MILK, T)
    assert mon.reading("stable", 186, T + 1, True) == []     # noise beyond the limit ...
    assert mon.reading("motion", None, T + 1.1, True) == []  # ... then the milk goes down
    assert mon.tick(T + 2, True) == []                       # no removed-item alert
    assert mon.reading("stable", 1252, T + 2.5, True) == [] and mon.pending == []


def test_bagged_without_a_scan_is_an_unexpected_item_after_the_grace():
    mon = _monitor()
    assert mon.reading("stable", 640, T + 1, True) == []           # a scan may be coming
    events = mon.tick(T + 1.5, True)
    assert _kinds(events) == [("bagging_alert", "unexpected_item", None)]
    assert events[0]["delta_g"] == 640
    assert mon.tick(T + 2, True) == []                            # raised once
    assert _kinds(mon.reading("stable", 4, T + 3, True)) == [
        ("bagging_cleared", "unexpected_item", "put_right")]       # taken off again


def test_a_scan_within_the_grace_explains_the_weight():
    mon = _monitor()
    mon.reading("stable", 1049, T + 1, True)
    mon.expect(1, "milk", MILK, T + 1.2)
    assert mon.tick(T + 1.3, True) == [] and mon.pending == []


def test_scanned_not_bagged_is_a_missing_item_then_bagging_it_clears():
    mon = _monitor()
    mon.expect(7, "milk", MILK, T)
    assert mon.tick(T + 7.9, True) == []
    events = mon.tick(T + 8, True)
    assert _kinds(events) == [("bagging_alert", "missing_item", None)]
    assert events[0]["line_id"] == 7 and events[0]["expected_g"] == 1050
    assert _kinds(mon.reading("stable", 1055, T + 9, False)) == [
        ("bagging_cleared", "missing_item", "put_right")]


def test_a_removed_item_and_putting_it_back():
    mon = _monitor()
    mon.expect(1, "milk", MILK, T)
    mon.reading("stable", 1050, T + 1, True)
    mon.reading("stable", 2, T + 5, True)
    assert _kinds(mon.tick(T + 5.5, True)) == [("bagging_alert", "removed_item", None)]
    assert _kinds(mon.reading("stable", 1048, T + 7, False)) == [
        ("bagging_cleared", "removed_item", "put_right")]


def test_a_removed_line_may_take_its_item_off():
    mon = _monitor()
    mon.expect(1, "milk", MILK, T)
    mon.reading("stable", 1050, T + 1, True)
    mon.taken_off(1, "milk", MILK, 1, T + 2)
    assert mon.reading("stable", 3, T + 3, True) == []
    assert mon.tick(T + 30, True) == []


def test_a_lowered_quantity_is_no_longer_awaited():
    mon = _monitor()
    for _ in range(3):
        mon.expect(1, "milk", MILK, T)
    mon.reading("stable", 1052, T + 1, True)            # one bagged
    mon.taken_off(1, "milk", MILK, 2, T + 2)            # quantity 3 -> 1
    assert mon.pending == [] and mon.tick(T + 30, True) == []
    mon.taken_off(1, "milk", MILK, 1, T + 31)           # the line removed: it may come off
    assert mon.reading("stable", 2, T + 32, True) == [] and mon.pending == []


def test_own_bag_before_and_after_the_alert():
    mon = _monitor()
    assert mon.own_bag(T) == []
    assert mon.reading("stable", 60, T + 1, True) == [] and mon.baseline_g == 60
    assert mon.tick(T + 5, True) == []
    mon.reading("stable", 420, T + 6, True)                       # a second bag, unannounced
    assert _kinds(mon.tick(T + 7, True)) == [("bagging_alert", "unexpected_item", None)]
    assert _kinds(mon.own_bag(T + 8)) == [("bagging_cleared", "unexpected_item", "own_bag")]
    assert mon.baseline_g == 420


def test_own_bag_does_not_explain_a_heavy_item():
    mon = _monitor()
    mon.reading("stable", 900, T, True)
    assert mon.tick(T + 1, True)[0]["kind"] == "unexpected_item"
    assert mon.own_bag(T + 2) == [] and mon.alert is not None


def test_override_takes_the_weight_as_it_is():
    mon = _monitor()
    mon.expect(3, "melon", Expectation(2000), T)
    assert mon.tick(T + 9, True)[0]["kind"] == "missing_item"
    mon.override()
    assert mon.alert is None and mon.pending == []
    assert mon.tick(T + 30, True) == []


def test_an_unchecked_item_and_an_unknown_one():
    mon = _monitor()
    mon.expect(1, "crate", Expectation(check=False), T)
    assert mon.tick(T + 20, True) == []                          # never awaited
    mon.expect(2, "new", Expectation(None), T + 20)
    assert mon.reading("stable", 333, T + 21, True) == []         # any weight is it
    assert mon.samples == [("new", 333)]


def test_no_alert_outside_shopping_but_it_clears():
    mon = _monitor()
    mon.reading("stable", 500, T, False)
    assert mon.tick(T + 5, False) == []


def test_two_scanned_then_bagged_together():
    mon = _monitor()
    mon.expect(1, "milk", MILK, T)
    mon.expect(2, "milk", MILK, T + 1)
    assert mon.reading("stable", 2104, T + 3, True) == [] and mon.pending == []


@pytest.mark.parametrize("samples,learned", [
    ([500, 505], None),                       # too few
    ([500, 505, 498], Expectation(500, 50)),  # agree: the median, 10 % of it
    ([500, 900, 498], None),                  # disagree
])
def test_learning_an_items_weight(samples, learned):
    assert learned_weight(samples, CFG) == learned
