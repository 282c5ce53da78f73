"""Bus message bounds and rejected-message accounting (no broker needed).

* nesting is refused before ``json.loads`` recurses, counted outside strings only;
* state / core status schema: strict types, unknown fields pass;
* RejectLog: every rejection counted, N lines per reason per window, one summary.
"""

from __future__ import annotations

import json
import logging

import pytest

from kiosk.bus.messages import (
    MAX_DEPTH,
    MessageError,
    load_json,
    parse_command,
    parse_core_status,
    parse_state,
)
from kiosk.bus.rejects import RejectLog


@pytest.mark.parametrize("payload", [
    b"[" * 1000,                                   # unclosed: json recursed to its death
    b"[" * 5000 + b"]" * 5000,
    b'{"v":1,"type":"scan","id":"abcd","source":"ui","code":' + b'{"a":' * 600 + b"1"
    + b"}" * 600 + b"}",
])
def test_deep_nesting_is_refused_before_parsing(payload):
    with pytest.raises(MessageError) as err:
        parse_command(payload, 1 << 20)
    assert err.value.code == "too_deep"


def test_brackets_inside_strings_do_not_count():
    text = '[' * 50 + '\\"]' * 3
    msg = {"v": 1, "type": "scan", "id": "abcd", "source": "ui", "code": "x", "n": text}
    with pytest.raises(MessageError) as err:  # refused for the extra field, not for depth
        parse_command(json.dumps(msg).encode(), 16384)
    assert err.value.code == "invalid"
    assert load_json(json.dumps([[[{"a": text}]]]).encode(), 16384) == [[[{"a": text}]]]


def test_depth_limit_is_exact():
    assert load_json(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH, 1024) is not None
    with pytest.raises(MessageError):
        load_json(b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), 1024)


def test_oversized_and_not_json_have_codes():
    with pytest.raises(MessageError) as err:
        load_json(b"1" * 300, 256)
    assert err.value.code == "oversized"
    with pytest.raises(MessageError) as err:
        load_json(b"\xff\xfe", 256)
    assert err.value.code == "not_json"


STATE = {"v": 1, "type": "state", "seq": 7, "state": "shopping", "txn": "S-L-000001",
         "lines": [{"line_id": 1, "key": "k", "names": {"en": "Milk"}, "unit_price_minor": 189,
                    "qty": 1, "amount": 189, "weight_g": None, "future_field": [1, 2]}],
         "attendant": None, "faults": {}, "server_time": 1700000000, "brand_new": {"x": 1}}


def test_state_schema_is_strict_on_types_and_lenient_on_unknown_fields():
    assert parse_state(json.dumps(STATE).encode()) == STATE
    for bad in ({"attendant": "help"}, {"faults": ["door"]}, {"seq": "7"}, {"state": ""},
                {"lines": [{"line_id": 1}]}, {"payment": {"amount": 1.5}}, {"type": "stat"}):
        with pytest.raises(MessageError):
            parse_state(json.dumps({**STATE, **bad}).encode())


def test_core_status_online_must_be_a_bool():
    assert parse_core_status(b'{"v":1,"type":"core_status","online":false}')["online"] is False
    for online in ('"false"', "0", "1", "null"):
        with pytest.raises(MessageError):
            parse_core_status(f'{{"v":1,"type":"core_status","online":{online}}}'.encode())


def test_reject_log_counts_everything_and_logs_a_few_lines_per_window(caplog):
    rejects = RejectLog(logging.getLogger("test.rejects"), lines_per_window=3, window_s=60)
    with caplog.at_level(logging.INFO, logger="test.rejects"):
        for i in range(1000):
            rejects.reject("t/cmd", "not_json", f"#{i}", now=100.0 + i * 0.01)
            rejects.reject("t/cmd", "too_deep", now=100.0 + i * 0.01)
        assert len(caplog.records) == 6
        rejects.flush(now=159.0)  # the window is not over yet
        assert len(caplog.records) == 6
        rejects.flush(now=160.5)
        summaries = [r.getMessage() for r in caplog.records[6:]]
        assert summaries == ["rejected message on t/cmd (not_json): 997 more in 60 s not logged",
                             "rejected message on t/cmd (too_deep): 997 more in 60 s not logged"]
        rejects.reject("t/cmd", "not_json", now=161.0)  # a new window logs again
        assert caplog.records[-1].getMessage() == "rejected message on t/cmd (not_json)"
        for _ in range(4):
            rejects.reject("t/cmd", "not_json", now=162.0)
        rejects.flush(now=170.0, force=True)  # on the way out: what is pending, now
        assert caplog.records[-1].getMessage() == (
            "rejected message on t/cmd (not_json): 2 more in 9 s not logged")
    assert rejects.snapshot() == {"t/cmd": {"not_json": 1005, "too_deep": 1000}}
    assert rejects.total() == 2005 and not rejects.changed
