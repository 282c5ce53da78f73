"""Versioned journal events (issue 15): models, upcasters, the apply table, snapshots that
carry their state version and a state restore that never trips over an unknown field."""

from __future__ import annotations

import pytest

from kiosk.domain import events as E
from kiosk.domain.checkout import HANDLERS, CheckoutState, Line, apply
from kiosk.journal.store import JOURNAL_SCHEMA

T0 = 1_700_000_000.0


def test_every_event_type_is_applied_through_the_table():
    applied = {cls.TYPE for cls in HANDLERS}
    assert applied == set(E.EVENT_TYPES) - {"snapshot"}
    assert all(cls.model_config.get("frozen") for cls in E.EVENT_TYPES.values())


def test_versions_are_pinned_to_the_journal_schema():
    """Changing an event's or the snapshot's version without bumping JOURNAL_SCHEMA (and
    adding its migration) would let an older release misread the journal: update both."""
    versions = {kind: cls.VERSION for kind, cls in E.EVENT_TYPES.items()}
    # issue 19: the state gained ``training`` (state version 2, journal schema 2); issue 18:
    # session_finished gained ``channels`` (its version 2, journal schema 3), and the
    # commands table each command's channel (journal schema 4: no event's shape changed)
    assert (JOURNAL_SCHEMA, E.STATE_VERSION) == (4, 2)
    # issue 21 added help_cancelled and item_put_aside at version 1: a new type is no new
    # shape of an old one (an older release refuses it as an unknown type, never misreads it)
    # issue 17 added catalog_applied the same way; issue 19 item_refused (a GS1 code past its
    # date or from a recalled batch), training_started / training_ended, and bagging_alert,
    # bagging_cleared and own_bag, and remote_command (the attendant station's commands);
    # issue 18 shopper_rating (the shopper's rating after the receipt)
    assert set(versions.values()) == {1, 2} and len(versions) == 40
    assert [k for k, v in versions.items() if v == 2] == ["session_finished", "snapshot"]


@pytest.mark.parametrize(("v0", "v1_fields"), [
    ({"type": "auth_declined", "stan": 3, "reason": "do_not_honour"},
     {"message_key": "card_declined", "response_code": ""}),
    ({"type": "auth_declined", "stan": 3, "reason": "x", "message_key": None},
     {"message_key": "card_declined"}),
    ({"type": "auth_approved", "stan": 3, "auth_code": "A1"},
     {"card": None, "rrn": "", "response_code": ""}),
    ({"type": "cancel_requested", "stan": 3}, {"by": "shopper"}),
    ({"type": "receipt_printed", "path": "/r", "ok": True}, {"reason": ""}),
    ({"type": "recovered"}, {"note": ""}),
    ({"type": "session_finished", "next_locale": None}, {"next_locale": None, "channels": None}),
    ({"type": "quantity_changed", "line_id": 2, "qty": 3}, {"line_id": 2, "qty": 3}),
])
def test_unversioned_events_are_upcast_to_the_current_version(v0, v1_fields):
    ev = E.parse({**v0, "ts": T0})
    assert type(ev) is E.EVENT_TYPES[v0["type"]]
    assert ev.v == type(ev).VERSION
    assert {k: getattr(ev, k) for k in v1_fields} == v1_fields
    assert ev.data()["v"] == ev.v  # written back with its version


def test_an_upcast_v0_event_applies_as_the_old_code_did():
    s = CheckoutState(state="authorizing",
                      payment={"method": "card", "amount": 100, "stan": 3, "idem_key": "k"})
    apply(s, {"type": "auth_declined", "ts": T0, "stan": 3, "reason": "do_not_honour"})
    assert (s.state, s.payment["message"], s.payment["response_code"]) == (
        "declined", "card_declined", "")


def test_an_event_newer_than_the_code_is_refused():
    with pytest.raises(E.NewerVersion, match=r"activity event version 2 is newer than this"
                                             r" software \(1\)"):
        E.parse({"type": "activity", "v": 2, "ts": T0})
    with pytest.raises(E.NewerVersion):
        apply(CheckoutState(state="shopping"), {"type": "activity", "v": 9, "ts": T0})


@pytest.mark.parametrize("bad", [
    {"type": "no_such_event", "ts": T0},
    {"type": "quantity_changed", "ts": T0, "line_id": "2", "qty": 3},   # no coercion
    {"type": "quantity_changed", "ts": T0, "line_id": 2},               # missing field
    {"type": "activity", "ts": T0, "surprise": 1},                      # unknown field
    {"type": "activity", "ts": T0, "v": "1"},
    {"type": "activity", "ts": T0, "v": True},
    {"type": "activity", "ts": T0, "v": 1.0},
])
def test_malformed_events_are_invalid_not_type_or_key_errors(bad):
    with pytest.raises(E.InvalidEvent):
        E.parse(bad)


def test_events_are_frozen():
    ev = E.parse({"type": "quantity_changed", "ts": T0, "line_id": 2, "qty": 3})
    with pytest.raises(ValueError):
        ev.qty = 4  # type: ignore[misc]


def test_build_validates_and_stamps_the_version():
    assert E.build("item_unknown", code="123") == {"type": "item_unknown", "v": 1, "code": "123"}
    with pytest.raises(TypeError, match="line_id"):
        E.build("line_removed", line_id=True, by="shopper")  # strict: a bool is not an id


# -- snapshots -------------------------------------------------------------------------------

def _state() -> CheckoutState:
    line = Line(line_id=1, key="k", gtin=None, plu="4011", names={"en": "Bananas"},
                unit_price_minor=199, tax_class="reduced", age_restricted=False,
                sold_by_weight=True, weight_g=1234)
    return CheckoutState(state="shopping", txn="S001-L01-000001", txn_seq=1, lines=[line],
                         next_line_id=2, last_line_id=1)


def test_a_snapshot_line_is_flat_the_event_line_and_its_state():
    """The snapshot format a journal keeps: a line is the ``item_added`` line's fields and
    the line's own, side by side (not nested), and restores to an equal line."""
    data = _state().as_dict()
    assert data["lines"] == [{
        "line_id": 1, "key": "k", "gtin": None, "plu": "4011", "names": {"en": "Bananas"},
        "unit_price_minor": 199, "tax_class": "reduced", "age_restricted": False,
        "sold_by_weight": True, "qty": 1, "weight_g": 1234, "price_minor": None,
        "age_status": "none"}]
    restored = CheckoutState.from_dict(data)
    assert restored.lines == _state().lines and isinstance(restored.lines[0], E.ItemLine)


def test_a_snapshot_with_an_unknown_field_restores_without_type_error():
    data = _state().as_dict()
    data["loyalty_id"] = "future-field"                 # the state of a later release
    data["lines"][0]["deposit_minor"] = 25              # and of its lines
    restored = CheckoutState.from_dict(data)
    assert restored.as_dict() == _state().as_dict()


def test_an_unversioned_snapshot_restores_as_version_0():
    assert CheckoutState.from_dict(_state().as_dict(), 0).as_dict() == _state().as_dict()


def test_a_snapshot_newer_than_the_code_is_refused():
    with pytest.raises(E.NewerVersion, match=rf"snapshot state version {E.STATE_VERSION + 1}"
                       " is newer"):
        CheckoutState.from_dict(_state().as_dict(), E.STATE_VERSION + 1)
