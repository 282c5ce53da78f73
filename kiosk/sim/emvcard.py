"""A pure-Python EMV contact card (ICC) simulator: C-APDU in, R-APDU out, no I/O.

Used in-process by the EMV tests and behind vpcd by ``kiosk sim card``. Each profile is
a consistent card: PSE directory (or none), applications with FCI, PDOL, AFL records
(5A, 5F24, 5F25, 57, 5F20, 8C, 8D, 8E, 9F07, 9F08, ...), AIP, and GENERATE AC answers
(CID, incrementing ATC, an HMAC-SHA256 cryptogram over the CDOL data with a per-card
key, IAD). A T=0 profile answers case-4 commands with 61xx and a wrong Le with 6Cxx,
as a real T=0 card does. Test PANs are Luhn-valid test numbers; ``secrets()`` lists
what must never leak (PAN, track 2, cardholder name).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from kiosk.domain import tlv

PSE = b"1PAY.SYS.DDF01"
PPSE = b"2PAY.SYS.DDF01"

SW_OK = 0x9000


def luhn_complete(base: str) -> str:
    """``base`` plus its Luhn check digit."""
    total = 0
    for i, ch in enumerate(reversed(base)):
        d = int(ch)
        if i % 2 == 0:  # these positions are doubled once the check digit is appended
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return base + str((10 - total % 10) % 10)


@dataclass
class SimApp:
    """One EMV application on the simulated card."""

    aid: bytes
    label: str
    pan: str
    name: str
    priority: int | None = None  # tag 87 value (b8 = cardholder confirmation required)
    aip: bytes = bytes.fromhex("3C00")
    pdol: bytes = b""
    cdol1: bytes = bytes.fromhex("9F02069F03069F1A0295055F2A029A039C019F3704")
    cdol2: bytes = bytes.fromhex("8A029F02069F03069F1A0295055F2A029A039C019F3704")
    cvm_list: bytes = bytes.fromhex("00000000000000001F03")
    version: bytes = bytes.fromhex("0096")
    auc: bytes = bytes.fromhex("FF00")
    issuer_country: int = 840
    currency: int = 840
    effective: str = "200101"
    expiry: str = "301231"
    iac_denial: bytes = bytes(5)
    iac_online: bytes = bytes.fromhex("F040048000")
    iac_default: bytes = bytes.fromhex("F040008000")
    format2: bool = False  # GPO / GENERATE AC response template 77 instead of 80
    select_sw: int = SW_OK  # 0x6283: application blocked
    gpo_sw: int = SW_OK  # 0x6985: conditions of use not satisfied
    aac_on_second: bool = False
    contact: bool = True  # False: contactless-only, not selectable over contacts
    in_pse: bool = True
    #: extra/overridden record data; a value of None removes the tag from the records
    overrides: dict[str, bytes | None] = field(default_factory=dict)

    def track2(self) -> bytes:
        digits = f"{self.pan}D{self.expiry[:4]}2010000012345"
        if len(digits) % 2:
            digits += "F"
        return bytes.fromhex(digits)

    def record_data(self) -> dict[str, bytes]:
        pan = self.pan + ("F" if len(self.pan) % 2 else "")
        data = {
            "57": self.track2(),
            "5F20": self.name.encode("ascii"),
            "5A": bytes.fromhex(pan),
            "5F24": bytes.fromhex(self.expiry),
            "5F25": bytes.fromhex(self.effective),
            "5F28": tlv.bcd(self.issuer_country, 2),
            "5F34": b"\x01",
            "9F07": self.auc,
            "9F08": self.version,
            "9F42": tlv.bcd(self.currency, 2),
            "8C": self.cdol1,
            "8D": self.cdol2,
            "8E": self.cvm_list,
            "9F0D": self.iac_default,
            "9F0E": self.iac_denial,
            "9F0F": self.iac_online,
        }
        for tag, value in self.overrides.items():
            if value is None:
                data.pop(tag, None)
            else:
                data[tag] = value
        return data

    def records(self) -> dict[tuple[int, int], bytes]:
        """(sfi, record) → record template 70. SFI 1: track data; SFI 2: the rest."""
        data = self.record_data()
        groups = [
            (1, 1, ["57", "5F20"]),
            (2, 1, ["5A", "5F24", "5F25", "5F28", "5F34", "9F07", "9F08", "9F42"]),
            (2, 2, ["8C", "8D", "8E", "9F0D", "9F0E", "9F0F"]),
        ]
        placed = {t for _, _, tags in groups for t in tags}
        extra = [t for t in data if t not in placed]
        groups.append((2, 3, extra))
        out: dict[tuple[int, int], bytes] = {}
        for sfi, rec, tags in groups:
            body = b"".join(tlv.encode(t, data[t]) for t in tags if t in data)
            if body or rec < 3:
                out[(sfi, rec)] = tlv.encode("70", body)
        return out

    def afl(self) -> bytes:
        recs = self.records()
        last2 = max(r for s, r in recs if s == 2)
        return bytes([1 << 3, 1, 1, 0, 2 << 3, 1, last2, 1])

    def fci(self) -> bytes:
        a5 = tlv.encode("50", self.label.encode("ascii"))
        if self.priority is not None:
            a5 += tlv.encode("87", bytes([self.priority]))
        if self.pdol:
            a5 += tlv.encode("9F38", self.pdol)
        a5 += tlv.encode("5F2D", b"enko")
        return tlv.encode("6F", tlv.encode("84", self.aid) + tlv.encode("A5", a5))

    def directory_entry(self) -> bytes:
        body = tlv.encode("4F", self.aid) + tlv.encode("50", self.label.encode("ascii"))
        if self.priority is not None:
            body += tlv.encode("87", bytes([self.priority]))
        return tlv.encode("61", body)


def _dol_len(dol: bytes) -> int:
    return sum(length for _, length in tlv.parse_dol(dol))


class VirtualCard:
    """A simulated contact EMV card; ``process`` is the whole card."""

    def __init__(self, profile: str, apps: list[SimApp], *, protocol: str = "T=1",
                 pse: bool = True, pse_sw: int = SW_OK, ppse: bool = False,
                 atr_cut: int = 0) -> None:
        self.profile = profile
        self.protocol = protocol
        self.atr_cut = atr_cut  # drop this many bytes off the ATR's end (a damaged chip)
        self.apps = apps
        self.pse = pse
        self.pse_sw = pse_sw
        self.ppse = ppse
        self.atc = 0
        self.script_log: list[bytes] = []  # issuer script commands the card accepted
        self.commands: list[bytes] = []  # every C-APDU header (CLA INS P1 P2), for tests
        self.reset()

    # --- identity ---------------------------------------------------------------------
    def atr(self) -> bytes:
        hist = b"KIOSK-SIM-EMV"
        if self.protocol == "T=0":
            atr = bytes([0x3B, 0x60 | len(hist), 0x00, 0x00]) + hist
        else:
            body = bytes([0xE0 | len(hist), 0x00, 0x00, 0x81, 0x31, 0xFE, 0x45]) + hist
            tck = 0
            for b in body:
                tck ^= b
            atr = b"\x3b" + body + bytes([tck])
        return atr[:len(atr) - self.atr_cut]

    def secrets(self) -> list[str]:
        """Strings that must never appear in logs, journal, bus traffic or receipts."""
        out: list[str] = []
        for app in self.apps:
            t2 = app.track2().hex().upper().rstrip("F")
            # track 2 as hex (D separator), as ISO 8583 field 35 text (=), and lower-case hex
            for s in (app.pan, t2, t2.replace("D", "="), t2.lower(), app.name):
                if s not in out:
                    out.append(s)
        return out

    def key(self, app: SimApp) -> bytes:
        return hashlib.sha256(f"kiosk-sim:{self.profile}:{app.aid.hex()}".encode()).digest()

    def arpc(self, arqc: bytes, arc: bytes) -> bytes:
        """Issuer authentication data (tag 91 value: ARPC 8 bytes + ARC) for the selected
        application, as the issuer host holding the card key would compute it."""
        app = self._app or self.apps[0]
        mac = hmac.new(self.key(app), b"ARPC" + arqc + arc, hashlib.sha256).digest()
        return mac[:8] + arc

    # --- state --------------------------------------------------------------------------
    def reset(self) -> None:
        self._selected: str | None = None  # "pse", "ppse" or "app"
        self._app: SimApp | None = None
        self._next: dict[bytes, int] = {}
        self._gac = 0
        self._arqc = b""
        self._ext_auth_failed = False
        self._pending = b""

    # --- APDU entry point ---------------------------------------------------------------
    def process(self, apdu: bytes) -> bytes:
        apdu = bytes(apdu)
        if len(apdu) < 4:
            return b"\x67\x00"
        self.commands.append(apdu[:4])
        cla, ins, p1, p2 = apdu[:4]
        if len(apdu) == 4:
            data, le, case = b"", None, 1
        elif len(apdu) == 5:
            data, le, case = b"", apdu[4] or 256, 2
        else:
            lc = apdu[4]
            if len(apdu) == 5 + lc:
                data, le, case = apdu[5:], None, 3
            elif len(apdu) == 6 + lc:
                data, le, case = apdu[5 : 5 + lc], apdu[-1] or 256, 4
            else:
                return b"\x67\x00"
        if ins == 0xC0 and cla == 0x00:
            return self._get_response(le or 256)
        self._pending = b""
        resp, sw = self._dispatch(cla, ins, p1, p2, data)
        return self._deliver(resp, sw, case, le)

    def _deliver(self, resp: bytes, sw: int, case: int, le: int | None) -> bytes:
        swb = sw.to_bytes(2, "big")
        if self.protocol != "T=0" or not resp:
            return resp + swb
        if case == 2:
            if le != len(resp):
                return bytes([0x6C, len(resp) & 0xFF])
            return resp + swb
        # T=0 case 4: data waits for GET RESPONSE (warnings like 6283 are then lost, as
        # on a real T=0 card that reports 61xx first; we keep them for GET RESPONSE)
        self._pending = resp
        self._pending_sw = sw
        return bytes([0x61, len(resp) & 0xFF])

    def _get_response(self, le: int) -> bytes:
        pending = self._pending
        if not pending:
            return b"\x69\x85"
        if le > len(pending):
            return bytes([0x6C, len(pending) & 0xFF])
        chunk, rest = pending[:le], pending[le:]
        self._pending = rest
        if rest:
            return chunk + bytes([0x61, len(rest) & 0xFF])
        return chunk + self._pending_sw.to_bytes(2, "big")

    def _dispatch(self, cla: int, ins: int, p1: int, p2: int, data: bytes) -> tuple[bytes, int]:
        if cla == 0x00 and ins == 0xA4:
            return self._select(p1, p2, data)
        if cla == 0x00 and ins == 0xB2:
            return self._read_record(p1, p2)
        if cla == 0x80 and ins == 0xA8:
            return self._gpo(data)
        if cla == 0x80 and ins == 0xAE:
            return self._generate_ac(p1, data)
        if cla == 0x00 and ins == 0x82:
            return self._external_authenticate(data)
        if cla == 0x80 and ins == 0xCA:
            return self._get_data(p1, p2)
        if cla == 0x84 and ins in (0x1E, 0x18, 0x16, 0x24, 0xDA, 0xDC):
            if self._app is None:
                return b"", 0x6985
            self.script_log.append(bytes([cla, ins, p1, p2]) + data)
            return b"", SW_OK
        if cla not in (0x00, 0x80, 0x84):
            return b"", 0x6E00
        return b"", 0x6D00

    def _select(self, p1: int, p2: int, name: bytes) -> tuple[bytes, int]:
        if p1 != 0x04 or p2 not in (0x00, 0x02):
            return b"", 0x6A86
        self._app = None
        self._selected = None
        self._gac = 0
        if name == PSE:
            if self.pse_sw != SW_OK:
                return b"", self.pse_sw
            if not self.pse:
                return b"", 0x6A82
            self._selected = "pse"
            a5 = tlv.encode("88", b"\x01") + tlv.encode("5F2D", b"en")
            return tlv.encode("6F", tlv.encode("84", PSE) + tlv.encode("A5", a5)), SW_OK
        if name == PPSE:
            if not self.ppse:
                return b"", 0x6A82
            self._selected = "ppse"
            entries = b"".join(a.directory_entry() for a in self.apps)
            fci = tlv.encode("84", PPSE) + tlv.encode("A5", tlv.encode("BF0C", entries))
            return tlv.encode("6F", fci), SW_OK
        matches = [a for a in self.apps if a.contact and a.aid.startswith(name) and name]
        start = self._next.get(name, 0) if p2 == 0x02 else 0
        if start >= len(matches):
            return b"", 0x6A82
        app = matches[start]
        self._next[name] = start + 1
        if app.select_sw == SW_OK:
            self._app = app
            self._selected = "app"
        return app.fci(), app.select_sw

    def _read_record(self, rec: int, p2: int) -> tuple[bytes, int]:
        if p2 & 0x07 != 0x04:
            return b"", 0x6A86
        sfi = p2 >> 3
        if self._selected == "pse":
            entries = [a.directory_entry() for a in self.apps if a.in_pse]
            # two entries per record, as directories often spread them
            chunks = [entries[i : i + 2] for i in range(0, len(entries), 2)]
            if sfi != 1 or not 1 <= rec <= len(chunks):
                return b"", 0x6A83
            return tlv.encode("70", b"".join(chunks[rec - 1])), SW_OK
        if self._selected != "app" or self._app is None:
            return b"", 0x6985
        body = self._app.records().get((sfi, rec))
        if body is None:
            return b"", 0x6A83
        return body, SW_OK

    def _gpo(self, data: bytes) -> tuple[bytes, int]:
        app = self._app
        if app is None:
            return b"", 0x6985
        if app.gpo_sw != SW_OK:
            return b"", app.gpo_sw
        try:
            cmd = tlv.parse_one(data, "83")
        except tlv.TlvError:
            return b"", 0x6A80
        if len(cmd.value) != _dol_len(app.pdol):
            return b"", 0x6700
        self.atc += 1
        self._gac = 0
        if app.format2:
            body = tlv.encode("82", app.aip) + tlv.encode("94", app.afl())
            return tlv.encode("77", body), SW_OK
        return tlv.encode("80", app.aip + app.afl()), SW_OK

    def _generate_ac(self, p1: int, data: bytes) -> tuple[bytes, int]:
        app = self._app
        if app is None or self._gac >= 2:
            return b"", 0x6985
        dol = app.cdol1 if self._gac == 0 else app.cdol2
        if len(data) != _dol_len(dol):
            return b"", 0x6700
        requested = p1 & 0xC0
        if self._gac == 0:
            cid = 0x00 if requested == 0x00 else 0x80  # never approves offline
        elif requested == 0x40 and not (app.aac_on_second or self._ext_auth_failed):
            cid = 0x40
        else:
            cid = 0x00
        self._gac += 1
        atc = self.atc.to_bytes(2, "big")
        mac = hmac.new(self.key(app), bytes([cid]) + data + atc, hashlib.sha256).digest()[:8]
        if self._gac == 1 and cid == 0x80:
            self._arqc = mac
        cvr = bytes([0x03, 0xA0 if cid == 0x80 else (0x60 if cid == 0x40 else 0x90), 0x00, 0x00])
        iad = bytes.fromhex("06010A") + cvr
        if app.format2:
            body = (tlv.encode("9F27", bytes([cid])) + tlv.encode("9F36", atc)
                    + tlv.encode("9F26", mac) + tlv.encode("9F10", iad))
            return tlv.encode("77", body), SW_OK
        return tlv.encode("80", bytes([cid]) + atc + mac + iad), SW_OK

    def _external_authenticate(self, data: bytes) -> tuple[bytes, int]:
        app = self._app
        if app is None or self._gac != 1 or not self._arqc:
            return b"", 0x6985
        if len(data) < 10:
            self._ext_auth_failed = True
            return b"", 0x6700
        if not hmac.compare_digest(self.arpc(self._arqc, data[8:10]), data[:10]):
            self._ext_auth_failed = True
            return b"", 0x6300
        return b"", SW_OK

    def _get_data(self, p1: int, p2: int) -> tuple[bytes, int]:
        tag = f"{p1:02X}{p2:02X}"
        if tag == "9F36":
            return tlv.encode(tag, self.atc.to_bytes(2, "big")), SW_OK
        if tag == "9F17":
            return tlv.encode(tag, b"\x03"), SW_OK
        return b"", 0x6A88


# --- profiles -----------------------------------------------------------------------------

VISA = bytes.fromhex("A0000000031010")
VISA_ELECTRON = bytes.fromhex("A0000000032010")
MASTERCARD = bytes.fromhex("A0000000041010")
MAESTRO = bytes.fromhex("A0000000043060")
UNIONPAY = bytes.fromhex("A000000333010101")
UNIONPAY_CREDIT = bytes.fromhex("A000000333010102")

MC_CDOL1 = bytes.fromhex("9F02069F03069F1A0295055F2A029A039C019F37049F35019F45029F4C089F3403")
MC_CDOL2 = bytes.fromhex("910A8A0295059F37049F4C08")
#: online PIN (apply next), then No CVM always: the PIN-pad TVR bit, then success
CVM_PIN_THEN_NOCVM = bytes.fromhex("0000000000000000" "4200" "1F00")
#: online PIN if the terminal supports it, signature if supported, No CVM if supported
CVM_VISA = bytes.fromhex("0000000000000000" "4203" "5E03" "1F03")
#: online PIN (apply next), signature (apply next), No CVM always
CVM_UNIONPAY = bytes.fromhex("0000000000000000" "4200" "5E00" "1F00")


def _visa(pan: str, name: str, **kw: object) -> SimApp:
    base: dict[str, object] = dict(aid=VISA, label="VISA CREDIT", pan=pan, name=name,
                                   priority=1, pdol=bytes.fromhex("9F1A029F3501"),
                                   cvm_list=CVM_VISA)
    base.update(kw)
    return SimApp(**base)  # type: ignore[arg-type]


def _mastercard(pan: str, name: str, **kw: object) -> SimApp:
    base: dict[str, object] = dict(aid=MASTERCARD, label="MASTERCARD", pan=pan, name=name,
                                   priority=1, aip=bytes.fromhex("1900"), cdol1=MC_CDOL1,
                                   cdol2=MC_CDOL2, cvm_list=CVM_PIN_THEN_NOCVM,
                                   version=bytes.fromhex("0002"), format2=True)
    base.update(kw)
    return SimApp(**base)  # type: ignore[arg-type]


def _unionpay(pan: str, name: str, **kw: object) -> SimApp:
    base: dict[str, object] = dict(aid=UNIONPAY, label="UNIONPAY DEBIT", pan=pan, name=name,
                                   priority=1, pdol=bytes.fromhex("9F02065F2A02"),
                                   cvm_list=CVM_UNIONPAY, version=bytes.fromhex("0030"),
                                   issuer_country=156, currency=156, format2=True)
    base.update(kw)
    return SimApp(**base)  # type: ignore[arg-type]


def _build(profile: str) -> VirtualCard:
    pan = {
        "visa": "476173900101011", "mastercard": "541333008901001",
        "unionpay": "625094600000001", "t0_visa": "476173900101001",
        "blocked": "476173900101013", "app_blocked": "476173900101012",
        "app_blocked_only": "476173900101014", "cobadged": "541333008902001",
        "aac_after_approval": "476173900101015", "ppse_only": "476173900101016",
        "gpo_6985": "541333008901003", "unionpay_credit": "625094600000002",
        "unionpay_dual": "625094600000003", "bad_pan": "476173900101017",
        "bad_atr": "476173900101018",
    }[profile]
    pan = luhn_complete(pan)
    name = f"TEST/{profile.upper().replace('_', '')} CARDHOLDER"
    if profile == "visa":
        return VirtualCard(profile, [_visa(pan, name)])
    if profile == "mastercard":
        return VirtualCard(profile, [_mastercard(pan, name)], pse=False)
    if profile == "unionpay":
        return VirtualCard(profile, [_unionpay(pan, name)])
    if profile == "unionpay_credit":
        return VirtualCard(profile, [_unionpay(pan, name, aid=UNIONPAY_CREDIT,
                                               label="UNIONPAY CREDIT")])
    if profile == "unionpay_dual":  # debit and credit on one chip, debit first
        return VirtualCard(profile, [
            _unionpay(pan, name),
            _unionpay(pan, name, aid=UNIONPAY_CREDIT, label="UNIONPAY CREDIT", priority=2)])
    if profile == "bad_pan":  # a PAN of 3 digits: the card's data does not parse as EMV
        return VirtualCard(profile, [_visa(pan, name, overrides={"5A": bytes.fromhex("123F")})])
    if profile == "bad_atr":  # an ATR cut short in its historical bytes
        return VirtualCard(profile, [_visa(pan, name)], atr_cut=4)
    if profile == "t0_visa":
        # card application version 008C differs from the terminal's 0096: TVR byte 2 b8
        return VirtualCard(profile, [_visa(pan, name, version=bytes.fromhex("008C"))],
                           protocol="T=0")
    if profile == "blocked":
        return VirtualCard(profile, [_visa(pan, name)], pse_sw=0x6A81)
    if profile == "app_blocked":
        apps = [_visa(pan, name, select_sw=0x6283),
                _visa(pan, name, aid=VISA_ELECTRON, label="VISA DEBIT", priority=2)]
        return VirtualCard(profile, apps)
    if profile == "app_blocked_only":
        return VirtualCard(profile, [_visa(pan, name, select_sw=0x6283)])
    if profile == "cobadged":
        apps = [_mastercard(pan, name, label="DEBIT MASTERCARD", priority=1),
                _mastercard(pan, name, aid=MAESTRO, label="MAESTRO", priority=2)]
        return VirtualCard(profile, apps)
    if profile == "aac_after_approval":
        return VirtualCard(profile, [_visa(pan, name, aac_on_second=True)])
    if profile == "ppse_only":
        return VirtualCard(profile, [_visa(pan, name, contact=False, in_pse=False)],
                           pse=False, ppse=True)
    if profile == "gpo_6985":
        apps = [_mastercard(pan, name, priority=1, gpo_sw=0x6985),
                _mastercard(pan, name, aid=MAESTRO, label="MAESTRO", priority=2)]
        return VirtualCard(profile, apps)
    raise AssertionError(profile)


PROFILES: tuple[str, ...] = (
    "visa", "mastercard", "unionpay", "t0_visa", "blocked", "app_blocked",
    "app_blocked_only", "cobadged", "aac_after_approval", "ppse_only", "gpo_6985",
    "unionpay_credit", "unionpay_dual", "bad_pan", "bad_atr",
)


def make_card(profile: str) -> VirtualCard:
    """A fresh card of a named profile (see PROFILES); ValueError for an unknown name."""
    if profile not in PROFILES:
        raise ValueError(f"unknown card profile {profile!r}; known: {', '.join(PROFILES)}")
    return _build(profile)


def issuer_arpc(track2: str, aid: bytes, arqc: bytes, arc: bytes) -> bytes | None:
    """Tag 91 (ARPC + ARC) for a simulated card, as its issuer would compute it: the
    acquirer simulator plays the issuer for these test cards. ``track2`` is field 35 as
    text (PAN, separator, ...). None for a card that is not one of the profiles."""
    pan = track2.replace("=", "D").split("D")[0]
    for profile in PROFILES:
        card = _build(profile)
        for app in card.apps:
            if app.pan == pan and app.aid == aid:
                mac = hmac.new(card.key(app), b"ARPC" + arqc + arc, hashlib.sha256).digest()
                return mac[:8] + arc
    return None
