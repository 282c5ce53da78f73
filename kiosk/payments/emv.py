"""Brand-neutral EMV contact transaction flow over a CardChannel (no reader code here).

Steps (EMV 4.3 Book 1 ch. 12, Book 3 ch. 10): application selection (PSE directory,
else the terminal's AID list with partial matching and SELECT next), GET PROCESSING
OPTIONS with the PDOL, READ RECORD over the AFL, mandatory data check, offline data
authentication declared as not performed (the terminal supports none), processing
restrictions, cardholder verification with only "No CVM required", terminal risk
management (floor limit 0), terminal action analysis, first GENERATE AC (ARQC), and
after the host answer EXTERNAL AUTHENTICATE, issuer scripts and the second GENERATE AC.

This is not a certified EMV level 2 kernel. Card data never reaches a log: only
command names, status words and lengths are logged; ``summary()`` is journal-safe.
The channel is anything with ``transmit(apdu) -> (data, sw)`` (kiosk_drivers.cardreader's
CardChannel); it handles T=0 61xx/6Cxx itself.
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol, TypeVar

from kiosk.domain import tlv
from kiosk.domain.cards import mask_pan
from kiosk.payments.emv_config import AidConfig, TerminalConfig

log = logging.getLogger(__name__)

PSE_NAME = b"1PAY.SYS.DDF01"
PPSE_NAME = b"2PAY.SYS.DDF01"
SW_OK = 0x9000

#: never put into field 55, a log, or the journal (PCI DSS 3.3.1)
SECRET_TAGS = frozenset({"57", "5A", "5F20", "56", "9F6B", "9F1F", "9F20", "99"})

# --- TVR (tag 95) and TSI (tag 9B) bits: (byte 1-based, bit b1..b8), Book 3 Annex C5/C6 ---
TVR_ODA_NOT_PERFORMED = (1, 8)
TVR_ICC_DATA_MISSING = (1, 6)
TVR_VERSIONS_DIFFER = (2, 8)
TVR_EXPIRED = (2, 7)
TVR_NOT_YET_EFFECTIVE = (2, 6)
TVR_SERVICE_NOT_ALLOWED = (2, 5)
TVR_CV_NOT_SUCCESSFUL = (3, 8)
TVR_UNRECOGNISED_CVM = (3, 7)
TVR_PIN_PAD_NOT_PRESENT = (3, 5)
TVR_EXCEEDS_FLOOR_LIMIT = (4, 8)
TVR_ISSUER_AUTH_FAILED = (5, 7)
TVR_SCRIPT_FAILED_BEFORE = (5, 6)
TVR_SCRIPT_FAILED_AFTER = (5, 5)

TSI_ODA_PERFORMED = (1, 8)
TSI_CV_PERFORMED = (1, 7)
TSI_CARD_RISK_MANAGEMENT = (1, 6)
TSI_ISSUER_AUTH = (1, 5)
TSI_TERMINAL_RISK_MANAGEMENT = (1, 4)
TSI_SCRIPT_PROCESSING = (1, 3)

# AIP (tag 82) byte 1, Book 3 Annex C1
AIP_CV_SUPPORTED = 0x10
AIP_ISSUER_AUTH = 0x04

# Cryptogram Information Data (9F27) b8-b7, Book 3 6.5.5.4
CID_TYPES = {0x00: "AAC", 0x40: "TC", 0x80: "ARQC"}
GAC_P1 = {"AAC": 0x00, "TC": 0x40, "ARQC": 0x80}

# CVM codes (b6-b1 of CV rule byte 1), Book 3 Annex C3
CVM_FAIL = 0x00
CVM_PIN_CODES = frozenset({0x01, 0x02, 0x03, 0x04, 0x05})  # offline/online PIN (+signature)
CVM_SIGNATURE = 0x1E
CVM_NO_CVM = 0x1F
CVM_APPLY_NEXT = 0x40
CVM_RESULT_FAILED = 0x01
CVM_RESULT_SUCCESSFUL = 0x02

# Transaction types (9C) that matter to AUC and CVM conditions
TXN_CASH = 0x01
TXN_CASHBACK = 0x09

APPROVED_ARCS = frozenset({b"00"})

#: field 55 of an authorization request, as issue #4 lists it
FIELD55_TAGS = ("82", "84", "95", "9A", "9C", "5F2A", "9F02", "9F03", "9F10", "9F1A", "9F26",
                "9F27", "9F33", "9F34", "9F35", "9F36", "9F37", "9F41")


class EmvError(Exception):
    """The transaction cannot go on. ``reason`` is a stable key for the UI and journal:
    card_blocked, no_application, unsupported_card, card_data_missing, card_data_error,
    card_error, card_declined, terminal_declined, cancelled, card_removed, card_timeout,
    reader_error, sequence. The message never holds card data."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class CardChannel(Protocol):
    def transmit(self, apdu: bytes) -> tuple[bytes, int]: ...


@dataclass
class Candidate:
    """An application the card and the terminal both support."""

    aid: bytes
    label: str
    priority: int | None
    needs_confirmation: bool
    brand: str = ""


def is_contactless_atr(atr: bytes) -> bool:
    """PC/SC part 3 synthesises '3B 8x 80 01 ...' for contactless cards: not our kernel."""
    return len(atr) >= 4 and atr[0] == 0x3B and atr[1] & 0xF0 == 0x80 and atr[2:4] == b"\x80\x01"


_T = TypeVar("_T")


def _guard(method: Callable[..., _T]) -> Callable[..., _T]:
    """Card answers that do not parse end the flow as EmvError, never as another crash."""

    @functools.wraps(method)
    def wrapper(self: EmvTransaction, *args: Any, **kwargs: Any) -> _T:
        try:
            return method(self, *args, **kwargs)
        except EmvError as exc:
            self._error = exc.reason
            raise
        except (tlv.TlvError, ValueError, IndexError, KeyError) as exc:
            self._error = "card_data_error"
            log.warning("EMV %s: malformed card data (%s)", method.__name__, type(exc).__name__)
            raise EmvError("card_data_error", f"{method.__name__}: {exc}") from None

    return wrapper


def _card_error_reason(exc: BaseException) -> str | None:
    """Map kiosk_drivers.cardreader errors by class name, so this module needs no reader import."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "CardError" not in names:
        return None
    reason = getattr(exc, "reason", None)  # kiosk_drivers.cardreader errors carry a stable code
    if isinstance(reason, str) and reason and reason != "card_error":
        return reason
    if "CardRemoved" in names:
        return "card_removed"
    if "CardTimeout" in names:
        return "card_timeout"
    return "reader_error"


_default_counter = itertools.count(1)


def _set(bits: bytearray, pos: tuple[int, int]) -> None:
    byte, bit = pos
    bits[byte - 1] |= 1 << (bit - 1)


def _is_set(bits: bytes, pos: tuple[int, int]) -> bool:
    byte, bit = pos
    return bool(bits[byte - 1] & (1 << (bit - 1)))


def _ymd(value: bytes, tag: str) -> date:
    """YYMMDD BCD (format n6); YY below 50 is 20YY (Book 4 Annex A5 practice)."""
    text = value.hex()
    if len(value) != 3 or not text.isdigit():
        raise EmvError("card_data_error", f"{tag} is not a YYMMDD date")
    yy, mm, dd = int(text[:2]), int(text[2:4]), int(text[4:])
    try:
        return date(2000 + yy if yy < 50 else 1900 + yy, mm, dd)
    except ValueError:
        raise EmvError("card_data_error", f"{tag} is not a valid date") from None


def _ascii(value: bytes) -> str:
    return "".join(chr(b) for b in value if 0x20 <= b < 0x7F).strip()


class EmvTransaction:
    """One contact EMV sale. Call select → read_data → analyse → first_ac → (host) →
    second_ac; icc_data / track2_equivalent / pan_masked feed the authorization request."""

    def __init__(self, channel: CardChannel, terminal: TerminalConfig, amount: int,
                 currency_numeric: int, exponent: int, txn_type: int = 0x00,
                 now: datetime | None = None, unpredictable: bytes | None = None,
                 atc_counter: Callable[[], int] | None = None, amount_other: int = 0) -> None:
        if not 0 < amount <= 999_999_999_999:
            raise ValueError("amount must be 1..999999999999 minor units (9F02 is n12)")
        if not 0 <= amount_other <= 999_999_999_999:
            raise ValueError("amount_other out of range")
        if not 1 <= currency_numeric <= 999 or not 0 <= exponent <= 9:
            raise ValueError("currency numeric must be 1..999 and exponent 0..9")
        if unpredictable is not None and len(unpredictable) != 4:
            raise ValueError("unpredictable number (9F37) must be 4 bytes")
        self.channel = channel
        self.terminal = terminal
        self.amount = amount
        self.currency_numeric = currency_numeric
        self.exponent = exponent
        self.txn_type = txn_type
        self.now = now or datetime.now()
        counter = atc_counter or (lambda: next(_default_counter))
        seq = counter()
        self.tvr = bytearray(5)
        self.tsi = bytearray(2)
        self.cvm_results = bytes.fromhex("3F0000")
        self.term: dict[str, bytes] = {
            "9F02": tlv.bcd(amount, 6),
            "9F03": tlv.bcd(amount_other, 6),
            "81": amount.to_bytes(4, "big") if amount < 2**32 else b"\xff" * 4,
            "9F04": amount_other.to_bytes(4, "big") if amount_other < 2**32 else b"\xff" * 4,
            "5F2A": tlv.bcd(currency_numeric, 2),
            "5F36": tlv.bcd(exponent, 1),
            "9A": bytes.fromhex(self.now.strftime("%y%m%d")),
            "9F21": bytes.fromhex(self.now.strftime("%H%M%S")),
            "9C": bytes([txn_type]),
            "9F37": unpredictable if unpredictable is not None else os.urandom(4),
            "9F1A": tlv.bcd(terminal.country_code, 2),
            "9F35": bytes.fromhex(terminal.terminal_type),
            "9F33": bytes.fromhex(terminal.capabilities),
            "9F40": bytes.fromhex(terminal.additional_capabilities),
            "9F1C": terminal.terminal_id.encode("ascii"),
            "9F16": terminal.merchant_id.encode("ascii"),
            "9F4E": terminal.merchant_name_location.encode("ascii"),
            "9F15": tlv.bcd(terminal.mcc, 2),
            "9F39": bytes.fromhex(terminal.pos_entry_mode),
            "9F1B": terminal.floor_limit.to_bytes(4, "big"),
            "9F41": tlv.bcd(seq % 10**8, 4),
        }
        self.card: dict[str, bytes] = {}  # FCI, GPO, record and GENERATE AC data
        self.candidates: list[Candidate] = []
        self.selected: Candidate | None = None
        self.aid_config: AidConfig | None = None
        self.blocked_aids: list[bytes] = []
        self.decision: str | None = None  # terminal action analysis: "AAC" or "ARQC"
        self.online_reason = False
        self.first_cid: str | None = None
        self.second_cid: str | None = None
        self.arqc: bytes | None = None
        self.final_cryptogram: bytes | None = None
        self.arc: bytes | None = None
        self.issuer_auth: bool | None = None
        self.scripts: list[dict[str, Any]] = []
        self._choose: Callable[[list[Candidate]], int] | None = None
        self._step = "new"
        self._error: str | None = None

    # --- transport ----------------------------------------------------------------------
    def _tx(self, name: str, apdu: bytes) -> tuple[bytes, int]:
        try:
            data, sw = self.channel.transmit(apdu)
        except EmvError:
            raise
        except Exception as exc:
            reason = _card_error_reason(exc)
            if reason is None:
                raise
            log.info("EMV %s: %s", name, reason)
            raise EmvError(reason, name) from exc
        log.debug("EMV %s -> %04X (%d bytes)", name, sw, len(data))
        return bytes(data), sw

    @staticmethod
    def _apdu(cla: int, ins: int, p1: int, p2: int, data: bytes = b"",
              le: bool = True) -> bytes:
        if len(data) > 255:
            raise EmvError("card_data_error", "command data over 255 bytes")
        out = bytes([cla, ins, p1, p2])
        if data:
            out += bytes([len(data)]) + data
        return out + (b"\x00" if le else b"")

    def _select_cmd(self, name: bytes, next_: bool = False) -> tuple[bytes, int]:
        return self._tx("SELECT", self._apdu(0x00, 0xA4, 0x04, 0x02 if next_ else 0x00, name))

    def _read_record(self, sfi: int, rec: int) -> tuple[bytes, int]:
        return self._tx("READ RECORD", self._apdu(0x00, 0xB2, rec, (sfi << 3) | 0x04))

    # --- application selection (Book 1 12.3-12.4) ---------------------------------------
    @_guard
    def select(self, choose: Callable[[list[Candidate]], int]) -> Candidate:
        """Build the candidate list (PSE, else the AID list) and select one application.
        ``choose`` gets the candidates in priority order and returns an index; it is asked
        only when several remain or the single one requires cardholder confirmation."""
        if self._step != "new":
            raise EmvError("sequence", "select() runs once")
        self._choose = choose
        self.candidates = self._candidates_from_pse()
        if not self.candidates:
            self.candidates = self._candidates_from_aid_list()
        if not self.candidates:
            data, sw = self._select_cmd(PPSE_NAME)
            if sw == SW_OK:
                raise EmvError("unsupported_card", "contactless-only card (PPSE, no contact AID)")
            if self.blocked_aids:
                raise EmvError("no_application", "every matching application is blocked")
            raise EmvError("no_application", "no application in common with the terminal")
        self.candidates = self._ordered(self.candidates)
        cand = self._final_selection()
        self._step = "selected"
        return cand

    def _match(self, adf: bytes) -> AidConfig | None:
        best: AidConfig | None = None
        for conf in self.terminal.aids:
            aid = bytes.fromhex(conf.aid)
            if adf == aid or (conf.partial and adf.startswith(aid)):
                if best is None or len(conf.aid) > len(best.aid):
                    best = conf
        return best

    def _candidate(self, adf: bytes, fields: dict[str, bytes]) -> Candidate | None:
        conf = self._match(adf)
        if conf is None:
            return None
        api = fields.get("87")
        prio = (api[0] & 0x0F) or None if api else None
        label = _ascii(fields.get("50", b"")) or _ascii(fields.get("9F12", b"")) or conf.name
        return Candidate(adf, label, prio, bool(api and api[0] & 0x80), conf.brand)

    def _candidates_from_pse(self) -> list[Candidate]:
        data, sw = self._select_cmd(PSE_NAME)
        if sw == 0x6A81:
            raise EmvError("card_blocked", "SELECT PSE answered 6A81")
        if sw != SW_OK:
            log.info("EMV PSE not usable (%04X): list of AIDs", sw)
            return []
        try:
            fci = tlv.parse_one(data, "6F")
            sfi_obj = fci.find("88")
            if sfi_obj is None or len(sfi_obj.value) != 1 or not 1 <= sfi_obj.value[0] <= 10:
                raise tlv.TlvError("PSE FCI without a valid SFI (88)")
            sfi = sfi_obj.value[0]
            found: list[Candidate] = []
            for rec in range(1, 32):
                body, rsw = self._read_record(sfi, rec)
                if rsw == 0x6A83:
                    break
                if rsw != SW_OK:
                    raise tlv.TlvError(f"PSE READ RECORD answered {rsw:04X}")
                record = tlv.parse_one(body, "70")
                for entry in record.children:
                    if entry.tag != "61":
                        continue
                    fields = {c.tag: c.value for c in entry.children}
                    if "4F" not in fields:  # a DDF entry (9D) or broken: nested DDFs unsupported
                        continue
                    cand = self._candidate(fields["4F"], fields)
                    if cand is not None and all(c.aid != cand.aid for c in found):
                        found.append(cand)
            return found
        except tlv.TlvError as exc:
            log.warning("EMV PSE directory unusable (%s): list of AIDs", exc)
            return []

    def _candidates_from_aid_list(self) -> list[Candidate]:
        found: list[Candidate] = []
        for conf in self.terminal.aids:
            aid = bytes.fromhex(conf.aid)
            next_ = False
            for _ in range(16):  # a card never holds more applications under one AID
                data, sw = self._select_cmd(aid, next_)
                if sw == 0x6A81:
                    raise EmvError("card_blocked", "SELECT answered 6A81")
                if sw not in (SW_OK, 0x6283):
                    break
                try:
                    fci = tlv.parse_one(data, "6F")
                    df = fci.find("84")
                    if df is None:
                        raise tlv.TlvError("FCI without DF name")
                    a5 = fci.find("A5")
                    fields = {c.tag: c.value for c in a5.children} if a5 else {}
                except tlv.TlvError as exc:
                    log.warning("EMV malformed FCI while building candidates (%s)", exc)
                    break
                adf = df.value
                if sw == 0x6283:
                    log.info("EMV application blocked (6283): skipped")
                    if adf not in self.blocked_aids:
                        self.blocked_aids.append(adf)
                elif adf == aid or (conf.partial and adf.startswith(aid)):
                    cand = self._candidate(adf, fields)
                    if cand is not None and all(c.aid != cand.aid for c in found):
                        found.append(cand)
                if adf == aid:
                    break  # exact match: next terminal AID
                next_ = True  # partial match (allowed or not): SELECT next, P2 = 02
        return found

    @staticmethod
    def _ordered(cands: list[Candidate]) -> list[Candidate]:
        with_prio = sorted((c for c in cands if c.priority), key=lambda c: c.priority or 0)
        return with_prio + [c for c in cands if not c.priority]

    def _final_selection(self) -> Candidate:
        while self.candidates:
            index = 0
            if len(self.candidates) > 1 or self.candidates[0].needs_confirmation:
                assert self._choose is not None
                try:
                    index = self._choose(list(self.candidates))
                except EmvError:
                    raise
                except Exception as exc:
                    raise EmvError("cancelled", f"application choice failed: {exc}") from None
                if not isinstance(index, int) or not 0 <= index < len(self.candidates):
                    raise EmvError("cancelled", "no application chosen")
            cand = self.candidates[index]
            data, sw = self._select_cmd(cand.aid)
            if sw == 0x6A81:
                raise EmvError("card_blocked", "final SELECT answered 6A81")
            fields: dict[str, bytes] = {}
            try:
                if sw == SW_OK:
                    fci = tlv.parse_one(data, "6F")
                    df = fci.find("84")
                    if df is None or df.value != cand.aid:
                        raise tlv.TlvError("DF name differs from the selected ADF")
                    a5 = fci.find("A5")
                    if a5 is None:
                        raise tlv.TlvError("FCI without proprietary template A5")
                    fields = {c.tag: c.value for c in tlv.walk(a5.children)}
                    fields["84"] = df.value
            except tlv.TlvError as exc:
                log.warning("EMV final SELECT: malformed FCI (%s)", exc)
                sw = 0x6F00
            if sw != SW_OK:
                log.info("EMV final SELECT %04X: application removed from candidates", sw)
                if sw == 0x6283:
                    self.blocked_aids.append(cand.aid)
                self.candidates.pop(index)
                continue
            self.selected = cand
            self.aid_config = self._match(cand.aid)
            self.card = {t: v for t, v in fields.items() if t in ("84", "50", "87", "9F38",
                                                                 "5F2D", "9F11", "9F12")}
            return cand
        if self.blocked_aids:
            raise EmvError("no_application", "every matching application is blocked")
        raise EmvError("no_application", "no candidate could be selected")

    # --- data for DOLs ------------------------------------------------------------------
    def _dol_source(self) -> dict[str, bytes]:
        src = dict(self.card)
        src.update(self.term)
        if self.aid_config is not None:
            src["9F09"] = bytes.fromhex(self.aid_config.app_version)
            src["9F06"] = bytes.fromhex(self.aid_config.aid)
        src["95"] = bytes(self.tvr)
        src["9B"] = bytes(self.tsi)
        src["9F34"] = self.cvm_results
        return src

    # --- GPO and records (Book 3 10.1-10.2) ----------------------------------------------
    @_guard
    def read_data(self) -> None:
        """GET PROCESSING OPTIONS (6985: drop the application, select again), then READ
        RECORD for every AFL entry and the mandatory data check."""
        if self._step != "selected":
            raise EmvError("sequence", "read_data() needs select() first")
        while True:
            pdol = self.card.get("9F38", b"")
            pdol_data = tlv.build_dol(pdol, self._dol_source()) if pdol else b""
            cmd = self._apdu(0x80, 0xA8, 0x00, 0x00, tlv.encode("83", pdol_data))
            data, sw = self._tx("GET PROCESSING OPTIONS", cmd)
            if sw == 0x6985:
                log.info("EMV GPO 6985: application dropped, selecting again")
                assert self.selected is not None
                self.candidates = [c for c in self.candidates if c.aid != self.selected.aid]
                self.selected = None
                self._final_selection()
                continue
            if sw != SW_OK:
                raise EmvError("card_error", f"GET PROCESSING OPTIONS answered {sw:04X}")
            break
        aip, afl = self._parse_gpo(data)
        self.card["82"] = aip
        self.card["94"] = afl
        records: list[tlv.Tlv] = []
        for i in range(0, len(afl), 4):
            sfi, first, last, oda = afl[i] >> 3, afl[i + 1], afl[i + 2], afl[i + 3]
            if afl[i] & 0x07 or not 1 <= sfi <= 30 or first == 0 or last < first \
                    or oda > last - first + 1:
                raise EmvError("card_data_error", "malformed AFL entry")
            for rec in range(first, last + 1):
                body, rsw = self._read_record(sfi, rec)
                if rsw != SW_OK:
                    raise EmvError("card_error", f"READ RECORD answered {rsw:04X}")
                obj = tlv.parse_one(body, "70") if sfi <= 10 else tlv.parse_one(body)
                records.append(obj)
        try:
            found = tlv.primitives(records)
        except tlv.TlvError as exc:
            raise EmvError("card_data_error", str(exc)) from None  # Book 3 10.2: duplicates
        self.card.update(found)
        missing = [t for t in ("5A", "5F24", "8C", "8D") if t not in self.card]
        if missing:
            _set(self.tvr, TVR_ICC_DATA_MISSING)
            raise EmvError("card_data_missing", "missing " + " ".join(missing))
        pan = self.card["5A"].hex().upper().rstrip("F")
        if not pan.isdigit() or not 12 <= len(pan) <= 19:
            raise EmvError("card_data_error", "PAN (5A) is not 12-19 digits")
        tlv.parse_dol(self.card["8C"])
        tlv.parse_dol(self.card["8D"])
        self._step = "read"

    @staticmethod
    def _parse_gpo(data: bytes) -> tuple[bytes, bytes]:
        obj = tlv.parse_one(data)
        if obj.tag == "80":  # format 1: AIP (2) + AFL
            aip, afl = obj.value[:2], obj.value[2:]
        elif obj.tag == "77":
            fields = tlv.primitives(obj.children)
            if "82" not in fields or "94" not in fields:
                raise EmvError("card_data_missing", "GPO response without AIP or AFL")
            aip, afl = fields["82"], fields["94"]
        else:
            raise EmvError("card_data_error", f"GPO response template {obj.tag}")
        if len(aip) != 2 or not afl or len(afl) % 4:
            raise EmvError("card_data_error", "GPO response AIP/AFL length")
        return aip, afl

    # --- restrictions, CVM, risk management, action analysis (Book 3 10.3-10.7) -----------
    @_guard
    def analyse(self) -> None:
        if self._step != "read":
            raise EmvError("sequence", "analyse() needs read_data() first")
        # 10.3: the terminal supports no SDA/DDA/CDA (9F33 byte 3 = 0), so offline data
        # authentication is not performed: TVR B1b8 set, TSI B1b8 left clear.
        _set(self.tvr, TVR_ODA_NOT_PERFORMED)
        self._processing_restrictions()
        self._cardholder_verification()
        self._terminal_risk_management()
        self._terminal_action_analysis()
        self._step = "analysed"

    def _processing_restrictions(self) -> None:
        card = self.card
        if "9F08" in card and self.aid_config is not None:
            if card["9F08"] != bytes.fromhex(self.aid_config.app_version):
                _set(self.tvr, TVR_VERSIONS_DIFFER)
        auc = card.get("9F07")
        if auc is not None and len(auc) >= 2:
            allowed = bool(auc[0] & 0x01)  # valid at terminals other than ATMs
            country = card.get("5F28")
            if country is not None:
                domestic = country == self.term["9F1A"]
                if self.txn_type == TXN_CASH:
                    allowed &= bool(auc[0] & (0x80 if domestic else 0x40))
                else:  # a kiosk sells goods: domestic b6 / international b5
                    allowed &= bool(auc[0] & (0x20 if domestic else 0x10))
                if self.txn_type == TXN_CASHBACK:
                    allowed &= bool(auc[1] & (0x80 if domestic else 0x40))
            if not allowed:
                _set(self.tvr, TVR_SERVICE_NOT_ALLOWED)
        today = self.now.date()
        if "5F25" in card and today < _ymd(card["5F25"], "5F25"):
            _set(self.tvr, TVR_NOT_YET_EFFECTIVE)
        if today > _ymd(card["5F24"], "5F24"):
            _set(self.tvr, TVR_EXPIRED)

    def _cvm_condition(self, cond: int, code: int, x: int, y: int) -> bool | None:
        """Book 3 Annex C3 condition codes; None = not understood (skip the rule)."""
        cash = self.txn_type == TXN_CASH
        if cond == 0x00:
            return True
        if cond == 0x01:  # unattended cash: this terminal is unattended
            return cash
        if cond == 0x02:  # not unattended cash, not manual cash, not purchase with cashback
            return not cash and self.txn_type != TXN_CASHBACK
        if cond == 0x03:  # terminal supports the CVM: only No CVM required (and "fail")
            return code in (CVM_NO_CVM, CVM_FAIL)
        if cond == 0x04:  # manual cash needs an attendant
            return False
        if cond == 0x05:
            return self.txn_type == TXN_CASHBACK
        if 0x06 <= cond <= 0x09:
            # amounts X/Y are in the application currency: without 9F42 == 5F2A skip
            if self.card.get("9F42") != self.term["5F2A"]:
                return False
            return {0x06: self.amount < x, 0x07: self.amount > x,
                    0x08: self.amount < y, 0x09: self.amount > y}[cond]
        return None

    def _cardholder_verification(self) -> None:
        aip = self.card["82"]
        if not aip[0] & AIP_CV_SUPPORTED:
            self.cvm_results = bytes.fromhex("3F0000")  # not performed
            return
        cvm = self.card.get("8E", b"")
        if len(cvm) < 10:
            # 10.5: no CVM List (or no rule in it): ICC data missing, TSI bit left clear
            _set(self.tvr, TVR_ICC_DATA_MISSING)
            self.cvm_results = bytes.fromhex("3F0000")
            return
        _set(self.tsi, TSI_CV_PERFORMED)
        x = int.from_bytes(cvm[0:4], "big")
        y = int.from_bytes(cvm[4:8], "big")
        attempted: tuple[int, int] | None = None
        rules = cvm[8:]
        for i in range(0, len(rules) - 1, 2):
            rule, cond = rules[i], rules[i + 1]
            code = rule & 0x3F
            if not self._cvm_condition(cond, code, x, y):
                continue  # condition not satisfied or not understood: next rule
            attempted = (rule, cond)
            if code == CVM_NO_CVM:
                self.cvm_results = bytes([rule, cond, CVM_RESULT_SUCCESSFUL])
                return
            if code in CVM_PIN_CODES:
                # a PIN CVM applies but the kiosk has no PIN pad (10.5.2/10.5.3)
                _set(self.tvr, TVR_PIN_PAD_NOT_PRESENT)
            elif code not in (CVM_FAIL, CVM_SIGNATURE):
                _set(self.tvr, TVR_UNRECOGNISED_CVM)
            if not rule & CVM_APPLY_NEXT:
                break
        _set(self.tvr, TVR_CV_NOT_SUCCESSFUL)
        if attempted is None:
            self.cvm_results = bytes([0x3F, 0x00, CVM_RESULT_FAILED])
        else:
            self.cvm_results = bytes([attempted[0], attempted[1], CVM_RESULT_FAILED])

    def _terminal_risk_management(self) -> None:
        # 10.6.1 floor limit: amount >= 0 always exceeds. Random selection and velocity
        # checking exist for offline approval; an online-only terminal never approves offline.
        if self.amount >= self.terminal.floor_limit:
            _set(self.tvr, TVR_EXCEEDS_FLOOR_LIMIT)
        _set(self.tsi, TSI_TERMINAL_RISK_MANAGEMENT)

    def _tacs(self) -> tuple[bytes, bytes, bytes]:
        conf, term = self.aid_config, self.terminal
        denial = (conf and conf.tac_denial) or term.tac_denial
        online = (conf and conf.tac_online) or term.tac_online
        default = (conf and conf.tac_default) or term.tac_default
        return bytes.fromhex(denial), bytes.fromhex(online), bytes.fromhex(default)

    def _terminal_action_analysis(self) -> None:
        tac_d, tac_o, _ = self._tacs()
        # 10.7: an absent IAC-Denial counts as zeros, an absent IAC-Online as all ones
        iac_d = self.card.get("9F0E", bytes(5)).ljust(5, b"\x00")[:5]
        iac_o = self.card.get("9F0F", b"\xff" * 5).ljust(5, b"\x00")[:5]
        tvr = bytes(self.tvr)
        if any((a | b) & t for a, b, t in zip(tac_d, iac_d, tvr, strict=True)):
            self.decision = "AAC"
        else:
            # online-only terminal (9F35 x4): every sale goes online whatever the online codes
            self.decision = "ARQC"
        self.online_reason = any((a | b) & t for a, b, t in zip(tac_o, iac_o, tvr, strict=True))

    # --- GENERATE AC (Book 3 6.5.5, 10.8, 10.9) ------------------------------------------
    def _generate_ac(self, kind: str, dol_tag: str) -> tuple[str, bytes]:
        data = tlv.build_dol(self.card[dol_tag], self._dol_source())
        cmd = self._apdu(0x80, 0xAE, GAC_P1[kind], 0x00, data)
        resp, sw = self._tx("GENERATE AC", cmd)
        if sw != SW_OK:
            raise EmvError("card_error", f"GENERATE AC answered {sw:04X}")
        obj = tlv.parse_one(resp)
        if obj.tag == "80":
            v = obj.value
            if len(v) < 11:
                raise EmvError("card_data_error", "GENERATE AC format 1 too short")
            fields = {"9F27": v[0:1], "9F36": v[1:3], "9F26": v[3:11]}
            if len(v) > 11:
                fields["9F10"] = v[11:]
        elif obj.tag == "77":
            fields = tlv.primitives(obj.children)
            for tag in ("9F27", "9F36", "9F26"):
                if tag not in fields:
                    raise EmvError("card_data_missing", f"GENERATE AC without {tag}")
        else:
            raise EmvError("card_data_error", f"GENERATE AC template {obj.tag}")
        if len(fields["9F27"]) != 1 or len(fields["9F36"]) != 2 or len(fields["9F26"]) != 8:
            raise EmvError("card_data_error", "GENERATE AC field lengths")
        cid = CID_TYPES.get(fields["9F27"][0] & 0xC0)
        if cid is None:
            raise EmvError("card_data_error", "cryptogram type RFU")
        self.card.update(fields)
        return cid, fields["9F26"]

    @_guard
    def first_ac(self) -> bytes:
        """First GENERATE AC with CDOL1: ARQC requested (AAC when action analysis denied).
        Returns the ARQC. A card AAC raises EmvError("card_declined"), a terminal denial
        EmvError("terminal_declined"): no authorization request goes out in either case."""
        if self._step != "analysed":
            raise EmvError("sequence", "first_ac() needs analyse() first")
        requested = self.decision or "ARQC"
        self._step = "first_ac"
        cid, cryptogram = self._generate_ac(requested, "8C")
        _set(self.tsi, TSI_CARD_RISK_MANAGEMENT)
        self.first_cid = cid
        if cid == "TC" or (requested == "AAC" and cid != "AAC"):
            raise EmvError("card_error", f"card answered {cid} to a {requested} request")
        if cid == "AAC":
            self.final_cryptogram = cryptogram
            if requested == "AAC":
                raise EmvError("terminal_declined", "terminal action analysis: denial")
            raise EmvError("card_declined", "card answered AAC to the ARQC request")
        self.arqc = cryptogram
        return cryptogram

    def _run_scripts(self, issuer: list[tlv.Tlv], template: str) -> None:
        for script in (o for o in issuer if o.tag == template):
            sid = script.find("9F18")
            entry: dict[str, Any] = {"template": template,
                                     "id": sid.value.hex().upper() if sid else None,
                                     "ok": True, "commands": 0}
            _set(self.tsi, TSI_SCRIPT_PROCESSING)
            commands = [c.value for c in script.children if c.tag == "86"]
            if not commands:
                entry["ok"] = False
            for command in commands:
                if len(command) < 4:
                    entry["ok"] = False
                    break
                _, sw = self._tx("ISSUER SCRIPT", command)
                entry["commands"] += 1
                if sw >> 8 not in (0x90, 0x62, 0x63):
                    entry["ok"] = False
                    break
            if not entry["ok"]:
                _set(self.tvr, TVR_SCRIPT_FAILED_BEFORE if template == "71"
                     else TVR_SCRIPT_FAILED_AFTER)
            self.scripts.append(entry)

    @_guard
    def second_ac(self, arc: bytes | None, issuer_data: bytes | None,
                  approved: bool | None = None) -> str:
        """Complete after the host answer. ``arc`` is field 39 as 2 ASCII bytes (8A), None
        when the host was unreachable (AAC requested with 8A "Z3"). ``issuer_data`` is the
        response's field 55 (91, 71, 72). ``approved`` overrides "arc == b'00'" as the host
        decision (e.g. a partial approval the kiosk refuses). Returns "TC" or "AAC"; "AAC"
        after a host approval means the sale must be reversed."""
        if self._step != "first_ac" or self.arqc is None:
            raise EmvError("sequence", "second_ac() needs an ARQC from first_ac()")
        self._step = "second_ac"
        issuer: list[tlv.Tlv] = []
        if arc is None:
            arc, approve = b"Z3", False  # Book 4 A6: unable to go online, offline declined
        else:
            if len(arc) != 2:
                raise EmvError("sequence", "arc must be field 39 as 2 ASCII bytes")
            approve = (arc in APPROVED_ARCS) if approved is None else approved
            if issuer_data:
                try:
                    issuer = tlv.parse(issuer_data)
                except tlv.TlvError as exc:
                    log.warning("EMV issuer data in the host answer is malformed (%s)", exc)
                    _set(self.tvr, TVR_ISSUER_AUTH_FAILED)
        self.arc = arc
        self.term["8A"] = arc
        iad = next((o.value for o in issuer if o.tag == "91"), None)
        if iad is not None:
            self.term["91"] = iad
            if self.card["82"][0] & AIP_ISSUER_AUTH:
                _set(self.tsi, TSI_ISSUER_AUTH)
                _, sw = self._tx("EXTERNAL AUTHENTICATE",
                                 self._apdu(0x00, 0x82, 0x00, 0x00, iad, le=False))
                self.issuer_auth = sw == SW_OK
                if not self.issuer_auth:
                    _set(self.tvr, TVR_ISSUER_AUTH_FAILED)
        self._run_scripts(issuer, "71")
        requested = "TC" if approve else "AAC"
        try:
            cid, cryptogram = self._generate_ac(requested, "8D")
        except EmvError as exc:
            if exc.reason in ("card_removed", "card_timeout", "reader_error"):
                raise
            log.warning("EMV second GENERATE AC failed (%s): treated as AAC", exc.reason)
            self.second_cid = "AAC"
            return "AAC"
        self.second_cid = "TC" if (cid == "TC" and requested == "TC") else "AAC"
        self.final_cryptogram = cryptogram
        self._run_scripts(issuer, "72")
        self._step = "done"
        return self.second_cid

    # --- data for the authorization request ----------------------------------------------
    def icc_data(self, tags: list[str]) -> bytes:
        """Field 55: TLVs for the listed tags that exist (82 84 95 9A 9C 5F2A 9F02 ...).
        Secret tags (57, 5A, 5F20, ...) are refused with ValueError."""
        src = self._dol_source()
        out = b""
        for tag in tags:
            tag = tag.upper()
            if tag in SECRET_TAGS:
                raise ValueError(f"tag {tag} must never go into field 55")
            if tag in src:
                out += tlv.encode(tag, src[tag])
        return out

    def track2_equivalent(self) -> bytes:
        """Tag 57 as read (field 35 only; never log it)."""
        if "57" not in self.card:
            raise EmvError("card_data_missing", "no track 2 equivalent data (57)")
        return self.card["57"]

    def pan(self) -> str:
        """Full PAN digits, for field 2 only where a dialect needs it; never log it."""
        if "5A" not in self.card:
            raise EmvError("sequence", "PAN not read yet")
        return self.card["5A"].hex().upper().rstrip("F")

    def pan_masked(self) -> str:
        """First 6 / last 4 (PCI DSS 3.4.1), e.g. 476173******0119."""
        return mask_pan(self.pan())

    @property
    def tvr_hex(self) -> str:
        return bytes(self.tvr).hex().upper()

    @property
    def tsi_hex(self) -> str:
        return bytes(self.tsi).hex().upper()

    def tvr_set(self, bit: tuple[int, int]) -> bool:
        return _is_set(bytes(self.tvr), bit)

    def summary(self) -> dict[str, Any]:
        """Journal-safe facts: never PAN, track 2, name or any secret tag."""
        def hx(value: bytes | None) -> str | None:
            return value.hex().upper() if value is not None else None

        out: dict[str, Any] = {
            "aid": hx(self.selected.aid) if self.selected else None,
            "label": self.selected.label if self.selected else None,
            "brand": self.selected.brand if self.selected else None,
            "entry": "chip",
            "tvr": self.tvr_hex,
            "tsi": self.tsi_hex,
            "cvm_results": hx(self.cvm_results),
            "aip": hx(self.card.get("82")),
            "atc": hx(self.card.get("9F36")),
            "pan_seq": hx(self.card.get("5F34")),
            "decision": self.decision,
            "arqc": hx(self.arqc),
            "first_cid": self.first_cid,
            "second_cid": self.second_cid,
            "arc": self.arc.decode("ascii", "replace") if self.arc else None,
            "issuer_auth": self.issuer_auth,
            "scripts": list(self.scripts),
            "pan_masked": self.pan_masked() if "5A" in self.card else None,
            "error": self._error,
        }
        if self.second_cid == "TC":
            out["tc"] = hx(self.final_cryptogram)
        elif self.final_cryptogram is not None:
            out["aac"] = hx(self.final_cryptogram)
        return out
