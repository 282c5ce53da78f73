"""The domain's vocabulary: a pure kiosk.domain, and one table of what each state accepts
that decide, the published state and the bus schema all follow."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from typing import get_args

import pytest

import kiosk.domain
from kiosk.bus.messages import COMMAND_TYPES, Command, accepted, encode, parse_state, state_message
from kiosk.config import load_config
from kiosk.domain.catalog import Product
from kiosk.domain.checkout import CheckoutState, Context, Line, Rejected, decide
from kiosk.domain.rules import StaffMember
from kiosk.domain.vocabulary import (
    ACCEPTS,
    COMMANDS,
    HELP_STATES,
    REFUSALS,
    STATES,
    accepts,
    states_accepting,
)

#: libraries the lane does its I/O with: none may load with the domain (the stdlib's socket
#: may: pydantic's email helpers import it without opening one)
IO_MODULES = ("sqlite3", "paho", "serial", "smartcard", "gpiozero", "kivy", "cv2", "vosk",
              "escpos", "pyudev", "numpy", "PIL")


def _loaded_by(statement: str) -> tuple[list[str], list[str]]:
    """(project modules, I/O modules) a fresh interpreter has loaded after ``statement``."""
    probe = (f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout
    modules = json.loads(out)
    ours = [m for m in modules if m.startswith(("kiosk", "kiosk_"))]
    io = [m for m in modules if m.split(".")[0] in IO_MODULES]
    return ours, io


def test_the_checkout_loads_only_the_domain() -> None:
    ours, io = _loaded_by("import kiosk.domain.checkout")
    assert ours and all(m == "kiosk" or m.startswith("kiosk.domain.") or m == "kiosk.domain"
                        for m in ours), ours
    assert io == []


def test_every_domain_module_is_pure() -> None:
    names = [f"kiosk.domain.{m.name}" for m in pkgutil.iter_modules(kiosk.domain.__path__)]
    assert "kiosk.domain.receipt" in names and "kiosk.domain.codes" in names
    ours, io = _loaded_by("\n".join(f"import {n}" for n in names))
    assert [m for m in ours if m != "kiosk" and not m.startswith("kiosk.domain")] == []
    assert io == []


def test_the_table_names_every_state_and_only_known_commands() -> None:
    assert set(ACCEPTS) == set(STATES)
    assert all(row <= set(COMMANDS) for row in ACCEPTS.values())
    # help on every screen a shopper meets (issue 21): not while a payment is being undone
    # (seconds) and not on a closed lane
    assert HELP_STATES == ("attract", "shopping", "payment", "authorizing", "approved",
                           "declined", "payment_unavailable", "receipt")
    assert states_accepting("done") == ("receipt",)
    assert accepts("no_such_state") == ()


def test_the_bus_schema_takes_exactly_the_domains_commands() -> None:
    # and the attendant station's signed ``remote``, which kiosk-core checks and then decides
    # as its action (decide_remote)
    assert COMMAND_TYPES == (*COMMANDS, "remote")
    kinds = {get_args(m.model_fields["type"].annotation)
             for m in get_args(get_args(Command)[0])}
    assert {k for ks in kinds for k in ks} == set(COMMANDS) | {"remote"}


# -- decide follows the table, state by state and command by command ----------------------

MILK = Product("08801115954255", None, {"en": "Milk"}, 189, "reduced", False, False)
APPLES = Product(None, "04012", {"en": "Apples"}, 99, "reduced", False, False)
MEMBER = StaffMember(id="S100", name="Sam")
#: a well-formed command of every type, one that succeeds wherever its state accepts it
GOOD = {
    "scan": {"code": "8801115954255"}, "add_plu": {"plu": "04012"}, "start": {},
    "set_language": {"locale": "en"}, "set_quantity": {"line_id": 1, "qty": 2},
    "remove_line": {"line_id": 1}, "staff_pin": {"pin": "2468"},
    "attendant": {"action": "cancel_basket"}, "pay": {"method": "card"},
    "device": {"device": "printer", "ok": False, "detail": "paper_out"}, "touch": {},
    "help": {}, "checkout": {}, "back": {}, "cancel": {}, "done": {},
    "choose_app": {"index": 0}, "receipt": {"choice": "print"},
    "cancel_help": {}, "put_aside": {},
    "wallet_code": {"code": "134567890123456789", "kind": "wechat"},
    "own_bag": {}, "rate": {"rating": 3},
}
#: what the state holds for a command to succeed: an open help call (cancel_help), an
#: unknown barcode (put_aside), an unexpected item in the bagging area (own_bag), all
#: without staff signed in
CALLS = {"cancel_help": {"reason": "help"},
         "put_aside": {"reason": "unknown_barcode", "code": "12345670"},
         "own_bag": {"reason": "unexpected_item"}}


@pytest.fixture(scope="module")
def config():
    return load_config(environ={})


def _state(name: str, kind: str = "") -> CheckoutState:
    line = Line(line_id=1, key=MILK.key, gtin=MILK.gtin, plu=None, names=MILK.names,
                unit_price_minor=189, tax_class="reduced", age_restricted=False,
                sold_by_weight=False)
    return CheckoutState(
        state=name, txn=None if name == "attract" else "S001-L01-000001",
        lines=[] if name == "attract" else [line], next_line_id=2,
        staff={"id": "S100", "name": "Sam"} if name == "attendant_needed"
        and kind not in CALLS else None,
        attendant=CALLS.get(kind) or ({"reason": "help"} if name == "attendant_needed"
                                      else None),
        payment={"method": "card", "amount": 193, "stan": 1, "idem_key": "k",
                 "status": "authorizing"} if name in ("authorizing", "approved") else None)


def _ctx(config, kind: str = "") -> Context:
    # the payment's step: a card offering its applications, or a wallet waiting for a code
    step = ({"stan": 1, "step": "show_code"} if kind == "wallet_code" else
            {"stan": 1, "step": "choose_app", "apps": [{"label": "VISA"}]})
    return Context(config, lambda gtin: MILK if gtin == MILK.gtin else None,
                   lambda plu: APPLES if plu == APPLES.plu else None,
                   lambda cmd, now: (MEMBER, ""), lambda code, now: (MEMBER, ""),
                   now=1_700_000_000.0, step=step,
                   payment_methods=("card", "qr"))


@pytest.mark.parametrize("name", STATES)
@pytest.mark.parametrize("kind", COMMANDS)
def test_decide_accepts_what_the_table_says_and_refuses_the_rest(config, name, kind) -> None:
    cmd = {"type": kind, **GOOD[kind]}
    if kind == "scan" and name == "attendant_needed":
        cmd["code"] = "STAFF:S100-7731"  # waiting for staff, the scanner reads badges
    if kind in ACCEPTS[name]:
        decide(_state(name, kind), cmd, _ctx(config, kind))  # not rejected
    else:
        with pytest.raises(Rejected) as info:
            decide(_state(name, kind), cmd, _ctx(config, kind))
        assert info.value.reason == REFUSALS.get(kind, {}).get(name, "not_allowed_now")


def test_the_published_state_carries_its_row_of_the_table() -> None:
    for name in STATES:
        msg = state_message(3, {"state": name}, {}, {"code": "USD", "exponent": 2}, {})
        parsed = parse_state(encode(msg))
        assert parsed["accepts"] == list(accepts(name))
        assert accepted(parsed, "help") == (name in HELP_STATES)
    assert not accepted({"state": "shopping"}, "help")  # no accepts: nothing is offered
    assert not accepted(None, "help")
