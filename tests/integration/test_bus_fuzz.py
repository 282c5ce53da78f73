"""Fuzz kiosk-core's command handling: nothing a bus client sends can crash it.

The core runs in-process against the real broker and a real journal; hypothesis
sends malformed, unknown, oversized and well-formed-but-wrong commands.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.bus.messages import COMMAND_TYPES, MessageError, parse_command
from kiosk.domain.vocabulary import STATES
from kiosk.services.core import CoreService
from kiosk.sim.payments import lane_methods

pytestmark = pytest.mark.integration

codes = st.one_of(
    st.sampled_from(["8801115954255", "070666928444", "8801048052745", "2510001005235",
                     "STAFF:S100-7731", "STAFF:nobody", "4006381333931", "123"]),
    st.text(max_size=80),
)
fields = st.fixed_dictionaries({}, optional={
    "code": codes,
    "plu": st.one_of(st.sampled_from(["04011", "10001", "99999"]), st.text(max_size=8)),
    "weight_g": st.one_of(st.integers(-10, 60_000), st.floats(), st.none()),
    "line_id": st.one_of(st.integers(-2, 10), st.text(max_size=3)),
    "qty": st.one_of(st.integers(-5, 200), st.none()),
    "pin": st.one_of(st.sampled_from(["2468", "0000"]), st.text(max_size=14)),
    "method": st.sampled_from(["card", "qr", "cash", ""]),
    "action": st.sampled_from(["approve_age", "void_line", "clear", "cancel_basket", "x"]),
    "locale": st.sampled_from(["en", "ko", "zh_Hans", "fr", ""]),
    "extra": st.integers(),
})
commands = st.builds(
    lambda base, extra: {**base, **extra},
    st.fixed_dictionaries({
        "v": st.sampled_from([1, 1, 1, 2, "1", None]),
        "type": st.sampled_from([*COMMAND_TYPES, "refund", "", "SCAN"]),
        "id": st.one_of(st.uuids().map(lambda u: u.hex), st.text(max_size=70)),
        "source": st.sampled_from(["ui", "voice", "scanner", "hacker"]),
    }),
    fields,
)
_ids = st.uuids().map(lambda u: u.hex)
_valid_fields = {
    "scan": st.fixed_dictionaries({"code": st.sampled_from(
        ["8801115954255", "070666928444", "8801048052745", "2510001005235", "8801094804527",
         "STAFF:S100-7731", "4006381333931", "96385074"])}),
    "add_plu": st.fixed_dictionaries({"plu": st.sampled_from(["04011", "10001", "99999"]),
                                      "weight_g": st.integers(1, 50_000)}),
    "set_quantity": st.fixed_dictionaries({"line_id": st.integers(1, 6),
                                           "qty": st.integers(1, 99)}),
    "remove_line": st.fixed_dictionaries({"line_id": st.integers(1, 6)}),
    "staff_pin": st.fixed_dictionaries({"pin": st.sampled_from(["2468", "1357", "0000"])}),
    "attendant": st.fixed_dictionaries({"action": st.sampled_from(
        ["approve_age", "void_line", "clear", "cancel_basket"])}),
    "pay": st.fixed_dictionaries({"method": st.sampled_from(["card", "qr"])}),
    "set_language": st.fixed_dictionaries({"locale": st.sampled_from(["en", "ko", "zh_Hans"])}),
    **{k: st.just({}) for k in ("touch", "help", "checkout", "back", "cancel", "done", "start")},
}
valid_commands = st.sampled_from(sorted(_valid_fields)).flatmap(
    lambda kind: st.builds(lambda f, i: {"v": 1, "type": kind, "id": i, "source": "ui", **f},
                           _valid_fields[kind], _ids))
payloads = st.one_of(
    valid_commands.map(lambda c: json.dumps(c).encode()),
    valid_commands.map(lambda c: json.dumps(c).encode()),
    commands.map(lambda c: json.dumps(c).encode()),
    st.binary(max_size=200),
    st.just(b"[1,2,3]"), st.just(b"null"), st.just(b'{"v":1}'),
    st.just(b'{"v":1,"type":"scan","id":"abcd","source":"ui","code":"' + b"9" * 20000 + b'"}'),
)


@given(payloads)
@settings(max_examples=300, deadline=None)
def test_parse_command_only_raises_message_error(payload):
    try:
        cmd = parse_command(payload, 16384)
    except MessageError as exc:
        assert str(exc)
    else:
        assert cmd["type"] in COMMAND_TYPES and cmd["v"] == 1


@pytest.fixture
def core_service(lane_env, monkeypatch):
    for key, value in lane_env.items():
        if key.startswith("KIOSK"):
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("KIOSK__SIM__PAYMENT__LATENCY_MS", "0")
    from kiosk.config import load_config

    service = CoreService(config := load_config(), lane_methods(config))
    service.bus.start(wait_s=10)
    yield service
    service.bus.stop()


@given(st.lists(payloads, min_size=1, max_size=25))
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_core_survives_any_command_sequence(core_service, batch):
    for payload in batch:
        result = core_service.handle_command(payload)
        assert result is None or set(result) >= {"id", "ok", "reason"}
        if result is not None and not result["ok"]:
            assert result["reason"] != "internal_error"
        # drain worker answers (authorizations, prints) as the main loop would
        while not core_service.inbox.empty():
            kind, item = core_service.inbox.get_nowait()
            if kind != "cmd":
                core_service._dispatch(kind, item)
        state = core_service.state
        assert state.state in STATES
        assert all(ln.qty >= 1 for ln in state.lines)
        assert (state.state == "authorizing") == (
            state.payment is not None and state.payment["status"] == "authorizing")
    count, problems = core_service.journal.verify()
    assert problems == []
