"""Fuzz targets: for each parser of outside input, a hypothesis strategy and its contract.

Each target opens with a work directory and yields ``(strategy, check)``: ``check(x)``
feeds one input to the real code and raises when the contract breaks. The contract is
the same everywhere: only the parser's own error type may escape (MessageError,
CatalogError, ConfigError, TlvError, IsoError; the scanner's classifier and kiosk-core's
``handle_command`` raise nothing), and what is accepted is sane (a command the core
took has a result that is not ``internal_error``; what the scanner forwards, kiosk-core
accepts; what the catalog stored holds no control character).

Shared by the short fuzz tests (``tests/fuzz/``) and ``kiosk bench fuzz`` (long runs).
Inputs are mostly real messages, files and card answers mutated, so the fuzz gets past
the first check of each parser; the rest is random bytes and text.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import shutil
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, get_args

from hypothesis import strategies as st

from kiosk.bus.acl import SENDER_ONLY, may_send
from kiosk.bus.credentials import provision
from kiosk.bus.messages import COMMAND_TYPES, VERSION, MessageError, Source, encode, parse_command
from kiosk.catalog import MAX_FIELD_CHARS, SAMPLE_CATALOG, Catalog, CatalogError
from kiosk.config import DEFAULTS_FILE, ConfigError, PathsConfig, load_config
from kiosk.domain import tlv
from kiosk.domain.codes import GS, READ_CLASSES
from kiosk.domain.money import currency_for
from kiosk.domain.text import first_unsafe
from kiosk.domain.tlv import TlvError
from kiosk.domain.vocabulary import REMOTE_ACTIONS
from kiosk.ops.provision import ProvisionError, toml_dumps
from kiosk.payments.acquirer import HostAnswer, handle_response_bytes
from kiosk.payments.iso8583 import IsoError, load_dialect
from kiosk.services.core import CoreService
from kiosk.services.scanner import classifier_for
from kiosk.sim.emvcard import PROFILES, make_card
from kiosk.sim.payments import lane_methods

Check = Callable[[Any], None]
Opened = Iterator[tuple[st.SearchStrategy, Check]]


class ContractBroken(AssertionError):
    """A parser accepted or answered something its contract forbids."""


# -- shared strategies -------------------------------------------------------------------------

#: odd JSON values, drawn cheaply (st.recursive is slow to generate from)
JUNK = st.one_of(
    st.sampled_from([None, True, False, 0, -1, 2**64, -(2**70), 1.5, 1e308, "", "x" * 70,
                     "\x00", "\u202e", "é", [], {}, [1, "a"], {"a": None}, [[[]]],
                     {"v": 1, "type": "scan"}, ["scan"], "NaN"]),
    st.integers(), st.text(max_size=8))
ANY_JSON = st.one_of(JUNK, st.lists(JUNK, max_size=3),
                     st.dictionaries(st.text(max_size=6), JUNK, max_size=3))
LOCALES = st.one_of(st.sampled_from(["en", "ko", "zh_Hans", "zh", "zh-CN", "zh_CN", "ko-KR",
                                     "en-US", "de", "zh-TW", "", "../en", "en\x00"]),
                    st.text(max_size=18))
SMALL_INT = st.one_of(st.integers(-3, 12), st.integers(-(2**64), 2**64))
#: command ids: one draw each, rarely the same twice (a repeat is a replay the core dedupes)
IDS = st.integers(0, 2**40).map(lambda n: f"fz{n:010x}")
BAD_IDS = st.sampled_from(["fz-replayed", "abc", "a" * 65, "bad id!", "", 7])


def _mutate_bytes(data: bytes, flips: list[tuple[int, int]], cut: int, tail: bytes) -> bytes:
    buf = bytearray(data)
    for pos, value in flips:
        if buf:
            buf[pos % len(buf)] = value
    return bytes(buf[:cut] if cut < len(buf) else buf) + tail


def mutated(seeds: st.SearchStrategy[bytes], span: int = 400) -> st.SearchStrategy[bytes]:
    """A seed with up to 4 bytes overwritten, cut short, and a few bytes appended."""
    return st.builds(_mutate_bytes, seeds,
                     st.lists(st.tuples(st.integers(0, span), st.integers(0, 255)), max_size=4),
                     st.integers(0, span), st.binary(max_size=8))


# -- bus commands ------------------------------------------------------------------------------

KNOWN_CODES = ["8801115954255", "070666928444", "8801094804527", "6901035052276",
               "2004011004857", "2504011024379", "1234567890128", "8801115954256",
               "STAFF:S100-7731", "4011"]
#: per command type and field: (values the core accepts, wrong ones); types not named here
#: get random fields
COMMAND_FIELDS: dict[str, dict[str, tuple[st.SearchStrategy, st.SearchStrategy]]] = {
    "scan": {"code": (st.sampled_from(KNOWN_CODES[:8]),
                      st.one_of(st.sampled_from(["9" * 65, "8801115954255 ", "4011"]),
                                st.text(max_size=16),
                                st.text("0123456789", min_size=6, max_size=20)))},
    "add_plu": {"plu": (st.sampled_from(["4011", "04011", "10006", "9999"]),
                        st.text("0123456789", max_size=6)),
                "weight_g": (st.one_of(st.none(), st.integers(1, 5_000)),
                             st.integers(-5, 60_000))},
    "start": {"locale": (st.sampled_from([None, "en", "ko", "zh-CN", "zh_Hans"]), LOCALES)},
    "set_language": {"locale": (st.sampled_from(["en", "ko", "zh", "zh_Hans", "en-US"]),
                                LOCALES)},
    "set_quantity": {"line_id": (st.integers(1, 4), SMALL_INT),
                     "qty": (st.integers(1, 99), st.integers(-2, 120))},
    "remove_line": {"line_id": (st.integers(1, 4), SMALL_INT)},
    # a sealed PIN (kiosk/security/pinseal.py): well-formed seals that do not open, and wrong shapes
    "staff_pin": {"epk": (st.just("A" * 43 + "="), st.text(max_size=50)),
                  "challenge": (st.text("0123456789abcdef", min_size=32, max_size=32),
                                st.text(max_size=40)),
                  "sealed": (st.just("B" * 43 + "="), st.just("x"))},
    "attendant": {"action": (st.sampled_from(["approve_age", "void_line", "clear",
                                              "cancel_basket"]), st.just("dance")),
                  "line_id": (st.one_of(st.none(), st.integers(1, 4)), SMALL_INT)},
    "pay": {"method": (st.sampled_from(["card", "qr"]), st.just("cash"))},
    "choose_app": {"index": (st.integers(0, 2), st.integers(-1, 9))},
    "receipt": {"choice": (st.sampled_from(["print", "none"]), st.just("both"))},
    # a wallet payment code of each kind's shape (kiosk.domain.wallet_codes); never a real one
    "wallet_code": {"code": (st.sampled_from(["134567890123456789", "2812345678901234",
                                              "6212345678901234567", "hQVDUFYwMWEaTwegAAAAAwEQ"]),
                             st.one_of(st.text(max_size=12), st.just("x" * 600))),
                    "kind": (st.sampled_from(["wechat", "alipay", "unionpay", "emvco_cpm"]),
                             st.just("cash"))},
    # an attendant station's signed command: well-formed signatures that do not verify
    "remote": {"lane": (st.sampled_from(["L01", "A1"]), st.just("../L01")),
               "action": (st.sampled_from(sorted(REMOTE_ACTIONS)), st.just("dance")),
               "line_id": (st.one_of(st.none(), st.integers(1, 4)), SMALL_INT),
               "ts": (st.floats(1.7e9, 1.9e9), st.text(max_size=8)),
               "cert": (st.just("e30.c2ln"), st.just("no dot")),
               "sig": (st.just("A" * 86), st.just("A" * 85))},
    "device": {"device": (st.sampled_from(["door", "printer", "scanner"]), st.just("toaster")),
               "ok": (st.booleans(), ANY_JSON),
               "detail": (st.sampled_from(["", "paper_out", "cover_open"]),
                          st.one_of(st.text(max_size=12), st.just("x" * 65)))},
}


def command_types() -> tuple[str, ...]:
    return tuple(COMMAND_TYPES)


@st.composite
def command_dict(draw: st.DrawFn, kind: str | None = None) -> dict:
    """A command message of every type, mostly well-formed, sometimes one field wrong."""
    kind = kind or draw(st.sampled_from(command_types()))
    fields = COMMAND_FIELDS.get(kind)
    msg: dict[str, Any] = {
        "v": VERSION, "type": kind,
        "id": draw(BAD_IDS if draw(st.integers(0, 19)) == 0 else IDS),
        "source": draw(st.sampled_from(get_args(Source))),
    }
    if fields is None:
        msg.update(draw(st.dictionaries(st.text(max_size=8), ANY_JSON, max_size=2)))
    else:
        for name, (good, wrong) in fields.items():
            pick = draw(st.integers(0, 19))
            if pick:  # 1 in 20 left out (optional fields may be), 1 in 20 wrong
                msg[name] = draw(wrong if pick == 1 else good)
    damage = draw(st.integers(0, 11))
    if damage == 1:
        msg[draw(st.sampled_from(sorted(msg)))] = draw(ANY_JSON)
    elif damage == 2:
        msg.pop(draw(st.sampled_from(sorted(msg))))
    elif damage == 3:
        msg[draw(st.text(max_size=8))] = draw(ANY_JSON)
    return msg


def _json(msg: Any, ascii_only: bool) -> bytes:
    return json.dumps(msg, ensure_ascii=ascii_only, separators=(",", ":")).encode(
        "utf-8", "surrogatepass")


def command_payloads() -> st.SearchStrategy[bytes]:
    """7 in 10 a command message, else one cut or overwritten, random bytes or JSON."""
    good = st.builds(_json, command_dict(), st.booleans())
    other = st.one_of(mutated(good, 120), st.binary(max_size=120),
                      st.builds(_json, ANY_JSON, st.booleans()))
    return st.integers(0, 9).flatmap(lambda n: good if n < 7 else other)


def nested_payloads(max_bytes: int) -> st.SearchStrategy[bytes]:
    """Valid JSON nested deeper than a recursive parser allows, within the size limit."""
    def build(depth: int, opener: str, where: int) -> bytes:
        closer = "]" if opener == "[" else "}"
        inner = (opener if opener == "[" else '{"a":') * depth + "1" + closer * depth
        return [inner, f'{{"v":1,"type":{inner}}}',
                f'{{"v":1,"type":"scan","id":"fuzz0001","source":"ui","code":{inner}}}'
                ][where].encode()

    return st.builds(build, st.integers(900, max(900, (max_bytes - 80) // 6)),
                     st.sampled_from(["[", "{"]), st.integers(0, 2))


@contextlib.contextmanager
def open_command(workdir: Path, nested: bool = False) -> Opened:
    """``parse_command``: MessageError or a dict the same parse accepts again."""
    limit = 16384

    def check(payload: bytes) -> None:
        try:
            cmd = parse_command(payload, limit)
        except MessageError:
            return
        if cmd["type"] not in COMMAND_TYPES:
            raise ContractBroken(f"accepted unknown type {cmd['type']!r}")
        if parse_command(encode(cmd), limit) != cmd:
            raise ContractBroken("an accepted command does not parse the same again")

    yield (nested_payloads(limit) if nested else command_payloads()), check


class _Recorder:
    """Stands in for kiosk-core's bus client: encodes and keeps what would be published."""

    def __init__(self) -> None:
        self.last: dict[str, bytes] = {}

    def publish(self, topic: str, message: dict | bytes, retain: bool = False,
                qos: int = 1) -> None:
        self.last[topic] = message if isinstance(message, bytes) else encode(message)


@contextlib.contextmanager
def open_core(workdir: Path, nested: bool = False) -> Opened:
    """kiosk-core's ``handle_command`` in-process (real journal, catalog, sim payments; the
    bus client replaced by a recorder), then the loop's own dispatch of what the workers
    sent back and its timer tick: never raises, never answers ``internal_error``."""
    workdir.mkdir(parents=True, exist_ok=True)
    bus = workdir / "bus"  # kiosk-core logs in even though its bus is a recorder here
    provision(bus / "credentials", bus / "passwd", bus / "acl", demo=True)
    env = {"KIOSK__PATHS__STATE_DIR": str(workdir / "lane-0"),
           "KIOSK__BUS__CREDENTIALS_DIR": str(bus / "credentials"),
           "KIOSK__SIM__PAYMENT__LATENCY_MS": "0", "KIOSK__SIM__PAYMENT__CARD_STEP_MS": "0"}
    config = load_config(site_dir=workdir / "no-site", environ=env)
    catalog = Catalog(config.catalog_path)
    catalog.import_csv(SAMPLE_CATALOG, config.currency, config.tax.rates)
    catalog.close()
    quiet = logging.getLogger("kiosk")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # thousands of rejected commands are logged otherwise
    lanes = iter(range(1, 1 << 62))
    core: CoreService | None = None

    def new_lane() -> CoreService:
        """A fresh kiosk-core on its own state dir (a copy of the loaded catalog, an empty
        journal): examples do not all pile onto one basket."""
        nonlocal core
        if core is not None:
            core.journal.close()
            core.catalog.close()
            shutil.rmtree(core.config.paths.state_dir, ignore_errors=True)
        state_dir = workdir / f"lane-{next(lanes)}"
        state_dir.mkdir()
        shutil.copyfile(config.catalog_path, state_dir / config.catalog_path.name)
        lane = config.model_copy(update={"paths": PathsConfig(state_dir=state_dir)})
        core = CoreService(lane, lane_methods(lane))
        core.bus = _Recorder()  # type: ignore[assignment]
        core.journal.db.execute("PRAGMA synchronous=OFF")  # the fuzz is not about power cuts
        return core

    def check(case: tuple[bool, list[bytes]]) -> None:
        fresh, payloads = case
        assert core is not None
        lane = new_lane() if fresh else core
        while not lane.inbox.empty():  # payment and print results that came back
            lane._dispatch(*lane.inbox.get_nowait())
        for payload in payloads:
            sender = "cli"  # the operator's tools may send any command but a wallet code
            try:
                cmd = parse_command(payload, config.bus.max_message_bytes)
                parsed = True
                if not may_send(sender, cmd):
                    sender = SENDER_ONLY.get(cmd["type"], sender)
            except MessageError:
                parsed = False
            result = lane.handle_command(payload, sender)
            if (result is None) == parsed:
                raise ContractBroken(f"parse said {parsed} but the core answered {result}")
            if result is not None and result.get("reason") == "internal_error":
                raise ContractBroken(f"internal_error for {payload[:200]!r}")
        lane._tick()

    fresh = st.integers(0, 7).map(lambda n: n == 0)
    if nested:  # a nested message between ordinary ones: the core must go on afterwards
        cases = st.tuples(fresh, st.lists(st.one_of(
            nested_payloads(config.bus.max_message_bytes), command_payloads()),
            min_size=1, max_size=3))
    else:  # a shopper's way through a sale cut anywhere, then anything: reaches every state
        sale = st.tuples(*(st.builds(_json, command_dict(kind), st.booleans()) for kind in (
            "scan", "scan", "checkout", "pay", "choose_app", "receipt", "done")))
        cases = st.builds(lambda new, path, cut, rest: (new, [*path[:cut], *rest]),
                          fresh, sale, st.integers(0, 7),
                          st.lists(command_payloads(), min_size=1, max_size=5))
    try:
        new_lane()
        yield cases, check
    finally:
        quiet.setLevel(level)
        if core is not None:
            core.journal.close()
            core.catalog.close()


# -- catalog import ----------------------------------------------------------------------------

HEADER = ["gtin", "name_en", "name_zh", "name_ko", "price", "tax_class", "age_restricted",
          "sold_by_weight", "plu"]
_FIELD = {
    "gtin": st.one_of(st.sampled_from(KNOWN_CODES[:8] + ["", "0"]),
                      st.text("0123456789", max_size=15), st.text(max_size=16)),
    "name": st.one_of(st.sampled_from(["Milk", "牛奶", "우유", ""]), st.text(max_size=30)),
    "price": st.one_of(st.sampled_from(["1.00", "0", "3500", "1.999", "-1", "1e9", ""]),
                       st.text("0123456789.", max_size=16), st.text(max_size=8)),
    "tax_class": st.one_of(st.sampled_from(["standard", "reduced", "zero", "luxury"]),
                           st.text(max_size=8)),
    "flag": st.one_of(st.sampled_from(["0", "1", "yes", "no", "maybe", ""]),
                      st.text(max_size=4)),
    "plu": st.one_of(st.sampled_from(["", "4011", "04011", "12", "123456"]),
                     st.text("0123456789", max_size=6)),
}
_KIND = {"gtin": "gtin", "price": "price", "tax_class": "tax_class", "plu": "plu",
         "age_restricted": "flag", "sold_by_weight": "flag"}


@st.composite
def catalog_files(draw: st.DrawFn) -> bytes:
    """A catalog CSV: rows of plausible and hostile fields, sometimes broken as a file."""
    header = list(HEADER)
    if draw(st.integers(0, 9)) == 0:
        header = draw(st.lists(st.sampled_from(HEADER + ["name_fr", "x", ""]), max_size=10))
    rows = [[draw(_FIELD[_KIND.get(col, "name")]) for col in header]
            for _ in range(draw(st.integers(0, 5)))]
    if rows and draw(st.integers(0, 5)) == 0:
        rows[-1] = rows[-1][:draw(st.integers(0, len(header)))]  # too few fields
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    text = out.getvalue()
    style = draw(st.integers(0, 11))
    if style == 0:  # a field the csv module cannot hold
        text += ',"' + "A" * (csv.field_size_limit() + 1) + '",1.00\n'
    elif style == 1:
        text = text.replace(",", draw(st.sampled_from(['"', ";", "\t", ',"'])), 2)
    if style == 2:
        return text.encode(draw(st.sampled_from(["gbk", "euc_kr", "latin-1", "utf-16"])),
                           "replace")
    data = text.encode("utf-8", "surrogatepass")
    if style == 3:
        return draw(mutated(st.just(data), len(data) or 1))
    if style == 4:
        return draw(st.binary(max_size=200))
    return data


@contextlib.contextmanager
def open_catalog(workdir: Path) -> Opened:
    """``Catalog.import_csv``: a report or CatalogError (one line, catalog unchanged); what
    it stored holds no control character or bidi override."""
    workdir.mkdir(parents=True, exist_ok=True)
    catalog = Catalog(workdir / "catalog.sqlite")
    catalog.db.execute("PRAGMA synchronous=OFF")
    usd, classes = currency_for("USD"), ("standard", "reduced", "zero")
    base = "\n".join([",".join(HEADER), "8801115954255,Milk,牛奶,우유,1.89,reduced,0,0,",
                      ",Bananas,香蕉,바나나,1.99,reduced,0,1,4011"]) + "\n"
    path = workdir / "fuzz.csv"

    def snapshot() -> list[tuple]:
        return catalog.db.execute("SELECT * FROM products ORDER BY id").fetchall()

    def check(data: bytes) -> None:
        with catalog.db:
            catalog.db.execute("DELETE FROM products")
        catalog.import_rows(csv.DictReader(io.StringIO(base)), usd, classes)
        before = snapshot()
        path.write_bytes(data)
        try:
            catalog.import_csv(path, usd, classes)
        except CatalogError as exc:
            if "\n" in str(exc) or "\r" in str(exc):
                raise ContractBroken(f"error is not one line: {str(exc)[:300]!r}") from None
            if snapshot() != before:
                raise ContractBroken("a rejected import changed the catalog") from None
            return
        for (names,) in catalog.db.execute("SELECT names FROM products"):
            for name in json.loads(names).values():
                if first_unsafe(name) is not None or len(name) > MAX_FIELD_CHARS:
                    raise ContractBroken(f"stored a hostile name {name[:80]!r}")

    try:
        yield catalog_files(), check
    finally:
        catalog.close()


# -- config loader -----------------------------------------------------------------------------

TOML_VALUE = st.recursive(
    st.one_of(st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(), st.text(max_size=20),
              st.sampled_from(["KRW", "USD", "zh-CN", "de", "127.0.0.1", "0.0.0.0", "scrypt$",
                               "sim", "escpos", "inclusive", "/tmp", "840", "410"])),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(
        st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8), kids, max_size=3),
    max_leaves=6)


@contextlib.contextmanager
def open_config(workdir: Path) -> Opened:
    """``load_config``: a KioskConfig or ConfigError with one line, for any site file and
    environment layer."""
    defaults = tomllib.loads(DEFAULTS_FILE.read_text())
    default_text = DEFAULTS_FILE.read_bytes()
    paths: list[list[str]] = []

    def walk(node: dict, prefix: list[str]) -> None:
        for key, value in node.items():
            paths.append([*prefix, key])
            if isinstance(value, dict):
                walk(value, [*prefix, key])

    walk(defaults, [])
    site = workdir / "site"
    site.mkdir(parents=True, exist_ok=True)

    def structured(picks: list[tuple[list[str], Any]]) -> bytes:
        layer: dict = {}
        for path, value in picks:
            node = layer
            for part in path[:-1]:
                node = node.setdefault(part, {}) if isinstance(node.get(part, {}), dict) else {}
            node[path[-1]] = value
        try:
            return toml_dumps(layer).encode("utf-8", "surrogatepass")
        except ProvisionError:
            return b""

    files = st.one_of(
        st.builds(structured, st.lists(st.tuples(st.sampled_from(paths), TOML_VALUE),
                                       min_size=1, max_size=4)),
        mutated(st.just(default_text), len(default_text)),
        st.binary(max_size=200),
        st.builds(lambda depth, c: b"[store]\nname = " + (c * depth).encode(),
                  st.integers(1, 3000), st.sampled_from(["[", "{a = "])),
    )
    env = st.dictionaries(
        st.builds(lambda p: "KIOSK__" + "__".join(p).upper(), st.sampled_from(paths)),
        st.one_of(st.text(max_size=20), st.sampled_from(["[1, 2]", "{a = 1}", "[", "{"])),
        max_size=2)

    def check(case: tuple[bytes, dict[str, str]]) -> None:
        data, environ = case
        (site / "50-fuzz.toml").write_bytes(data)
        try:
            load_config(site_dir=site, environ=environ)
        except ConfigError as exc:
            if "\n" in str(exc) or "\r" in str(exc):
                raise ContractBroken(f"error is not one line: {str(exc)[:300]!r}") from None

    yield st.tuples(files, env), check


# -- scanner classification ------------------------------------------------------------------


@contextlib.contextmanager
def open_scanner(workdir: Path) -> Opened:
    """``Classifier``: never raises, one of the known classes, and whatever it forwards
    kiosk-core accepts as a ``scan`` command; bearer codes are masked in logs."""
    config = load_config(site_dir=workdir / "no-site", environ={})
    ai = st.sampled_from(["01", "02", "10", "17", "21", "3103", "3922", "8110", "8112", "00",
                          "99", "7003", "235"])
    element = st.tuples(ai, st.text("0123456789ABC", max_size=20))
    gs1 = st.builds(lambda els, style: "".join(
        f"({a}){v}" if style == 0 else (a + v + (GS if style == 1 else ""))
        for a, v in els), st.lists(element, min_size=1, max_size=4), st.integers(0, 2))
    texts = st.one_of(
        st.text(max_size=80), st.text("0123456789", min_size=1, max_size=26),
        st.sampled_from(KNOWN_CODES), gs1,
        st.builds(lambda s: "STAFF:" + s, st.text(max_size=70)),
        st.builds(lambda s: "https://qr.example/pay?" + s, st.text(max_size=30)),
        # GS1 Digital Link URIs (kiosk.domain.gs1): key, qualifiers and query AIs
        st.builds(lambda els, q: "https://id.gs1.org" + "".join(f"/{a}/{v}" for a, v in els)
                  + ("?" + "&".join(f"{a}={v}" for a, v in q) if q else ""),
                  st.lists(element, max_size=3), st.lists(element, max_size=3)),
    )
    symbology = st.sampled_from(["", "EAN13", "EAN8", "UPCA", "UPCE", "Code128", "QRCode",
                                 "DataBar", "DataBarExpanded", "DataBarLimited", "ITF"])

    def check(case: tuple[str, str]) -> None:
        text, sym = case
        classify = classifier_for(config.scanner, config.variable_measure)
        read = classify(text, sym)
        if read.cls not in READ_CLASSES:
            raise ContractBroken(f"unknown class {read.cls!r}")
        if read.forward:
            msg = {"v": 1, "type": "scan", "id": "fuzz0001", "source": "scanner",
                   "code": read.code}
            try:
                parse_command(encode(msg), config.bus.max_message_bytes)
            except MessageError as exc:
                raise ContractBroken(f"forwarded {read.code!r}, the core refuses: {exc}"
                                     ) from None
        if read.cls == "wallet":
            msg = {"v": 1, "type": "wallet_code", "id": "fuzz0001", "source": "scanner",
                   "code": read.code, "kind": read.detail["kind"]}
            try:
                parse_command(encode(msg), config.bus.max_message_bytes)
            except MessageError as exc:
                raise ContractBroken(f"a wallet code the core refuses: {exc}") from None
        if read.cls in ("wallet", "payment", "coupon", "staff_badge") and len(read.code) > 4 \
                and read.code in read.masked:
            raise ContractBroken(f"a bearer code is logged in full: {read.masked!r}")

    yield st.tuples(texts, symbology), check


# -- EMV TLV -----------------------------------------------------------------------------------

NASTY_TLV = [b"\x84\xff\xff\xff\xff", b"\x85\x00\x00\x00\x00\x01", b"\x80", b"\x1f",
             b"\x9f\x81", b"\x81", b"\x82\x01", b"\x70\x7f", b"\xbf\x0c\x81\xff"]
def tlv_seeds() -> list[bytes]:
    """Valid EMV answers of every virtual card profile, and templates nested deeper than
    the parser allows: structure worth mutating."""
    deep = b""
    for _ in range(40):
        deep = tlv.encode("70", deep)
    out = [deep]
    for profile in PROFILES:
        for app in make_card(profile).apps:
            out += [app.fci(), app.directory_entry(), *app.records().values(),
                    tlv.encode("77", tlv.encode("82", app.aip) + tlv.encode("94", app.afl())),
                    tlv.encode("80", app.aip + app.afl()), app.cdol1, app.cdol2]
    return out


@st.composite
def hostile_tlv(draw: st.DrawFn, seeds: tuple[bytes, ...]) -> bytes:
    """Random bytes, or a real card answer mutated: truncated, bytes overwritten, a nasty
    tag/length spliced in. Cheap draws only."""
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.binary(max_size=200))
    data = bytearray(draw(st.sampled_from(seeds)))
    if kind == 1:
        return bytes(data[: draw(st.integers(0, len(data)))])
    if kind == 2:
        for pos, byte in draw(st.lists(st.tuples(st.integers(0, len(data) - 1),
                                                 st.integers(0, 255)), min_size=1, max_size=4)):
            data[pos] = byte
        return bytes(data)
    pos = draw(st.integers(0, len(data)))
    return bytes(data[:pos]) + draw(st.sampled_from(NASTY_TLV)) + bytes(data[pos:])


def tlv_contract(data: bytes) -> None:
    """Only TlvError may escape parse, primitives and parse_dol."""
    try:
        tlv.primitives(tlv.parse(data))
    except TlvError:
        pass
    try:
        tlv.parse_dol(data)
    except TlvError:
        pass


@contextlib.contextmanager
def open_tlv(workdir: Path) -> Opened:
    yield hostile_tlv(tuple(tlv_seeds())), tlv_contract


# -- ISO 8583 ----------------------------------------------------------------------------------

ISO_DIALECTS = ("default", "alt_ascii_dual")


def iso_setup(name: str) -> tuple[Any, dict[str, str], dict[str, str], list[bytes]]:
    """(dialect, the request sent, its echoed fields, framed answers worth mutating)."""
    d = load_dialect(name)
    values = {"4": "000000001234", "7": "1125130000", "11": "000042", "12": "130000",
              "13": "1125", "49": "840", "55": "9F2701809F360200AB"}
    _, sent = d.build(d.auth_mti, values)
    base = {k: v for k, v in sent.items() if k in ("3", "4", "7", "11", "41", "42", "49")}
    seeds = []
    for extra in ({"39": "00", "38": "A12345", "37": "000000000001",
                   "55": "910A010203040506070830307204" "9F180100"},
                  {"39": "05"}, {"39": "10", "54": "0002840C000000000500"},
                  {"39": "00", "55": "71039F1800720486020000"}):
        doc = dict(base, t=d.response_mti(d.auth_mti), **extra)
        seeds.append(d.frame(d.encode(doc)))
    seeds.append(d.frame(d.encode(dict(base, t="0410", **{"39": "00"}))))
    return d, sent, base, seeds


@contextlib.contextmanager
def open_iso8583(workdir: Path) -> Opened:
    """Host answers (framing + decode + match + field 55) in every dialect: only IsoError
    may escape, and an answer is a HostAnswer or None."""
    setups = {name: iso_setup(name) for name in ISO_DIALECTS}

    def inputs(name: str) -> st.SearchStrategy[tuple[str, bytes]]:
        d, _sent, base, seeds = setups[name]
        icc = st.binary(max_size=80).map(lambda b: d.frame(d.encode(
            dict(base, t=d.response_mti(d.auth_mti), **{"39": "00", "55": b.hex().upper()}))))
        raw = st.one_of(st.binary(max_size=300), mutated(st.sampled_from(seeds)),
                        st.lists(st.sampled_from(seeds), min_size=1, max_size=3).map(b"".join),
                        icc)
        return st.tuples(st.just(name), raw)

    def check(case: tuple[str, bytes]) -> None:
        name, raw = case
        d, sent, _base, _seeds = setups[name]
        try:
            answer = handle_response_bytes(d, raw, sent)
        except IsoError:
            return
        if answer is not None and not isinstance(answer, HostAnswer):
            raise ContractBroken(f"answer of type {type(answer).__name__}")

    yield st.one_of(*(inputs(n) for n in ISO_DIALECTS)), check


#: name → opener; the order ``kiosk bench fuzz`` runs them in
TARGETS: dict[str, Callable[[Path], contextlib.AbstractContextManager]] = {
    "command": open_command,
    "command_nested": lambda workdir: open_command(workdir, nested=True),
    "core": open_core,
    "core_nested": lambda workdir: open_core(workdir, nested=True),
    "catalog": open_catalog,
    "config": open_config,
    "scanner": open_scanner,
    "tlv": open_tlv,
    "iso8583": open_iso8583,
}
