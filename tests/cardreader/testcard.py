"""A tiny ISO 7816-4 test card for the reader driver's own tests (the EMV profiles live in
kiosk.sim.emvcard). It answers SELECT with a long FCI and READ RECORD with a record;
as a T=0 card it answers case-4 SELECT with 61xx (data waits for GET RESPONSE, in chunks of
at most 256 bytes) and a wrong Le with 6Cxx, as a real T=0 card does.
"""

from __future__ import annotations

AID = bytes.fromhex("A0000000031010")
#: 300 bytes: more than one GET RESPONSE (Le 00 = 256) can carry
FCI = bytes([0x6F, 0x82, 0x01, 0x28]) + bytes(range(256)) + bytes(40)
RECORD = bytes.fromhex("7012") + bytes(range(0x10, 0x22))

ATR_T0 = bytes.fromhex("3B0454455330")                       # T=0 only, "TES0"
ATR_T1 = bytes.fromhex("3B84015445533146")                   # T=1, "TES1", TCK
ATR_CONTACTLESS = bytes.fromhex("3B8F8001804F0CA000000306030001000000006A")


class TinyCard:
    def __init__(self, protocol: str = "T=0", atr: bytes | None = None) -> None:
        self.protocol = protocol
        self._atr = atr or (ATR_T0 if protocol == "T=0" else ATR_T1)
        self.log: list[bytes] = []   # every C-APDU received, for the tests
        self.resets = 0
        self.reset()

    def atr(self) -> bytes:
        return self._atr

    def reset(self) -> None:
        self.selected = False
        self.pending = b""
        self.resets += 1

    def secrets(self) -> list[str]:
        return []

    def process(self, apdu: bytes) -> bytes:
        self.log.append(apdu)
        cla, ins, p1, p2 = apdu[:4]
        if ins == 0xC0:
            return self._get_response(apdu)
        self.pending = b""
        if ins == 0xA4 and p1 == 0x04:
            lc = apdu[4]
            if apdu[5:5 + lc] != AID:
                return b"\x6a\x82"
            self.selected = True
            return self._answer(FCI)
        if ins == 0xB2:
            if not self.selected:
                return b"\x69\x85"
            if self.protocol == "T=0":  # case 2: Le must be exact
                le = apdu[4] if len(apdu) == 5 else None
                if le != len(RECORD):
                    return bytes([0x6C, len(RECORD)])
            return RECORD + b"\x90\x00"
        return b"\x6d\x00"

    def _answer(self, data: bytes) -> bytes:
        if self.protocol == "T=1":
            return data + b"\x90\x00"
        self.pending = data
        return bytes([0x61, min(len(data), 256) & 0xFF])

    def _get_response(self, apdu: bytes) -> bytes:
        if not self.pending:
            return b"\x69\x85"
        le = apdu[4] if len(apdu) == 5 else 0
        want = le or 256
        available = min(len(self.pending), 256)
        if want > available:
            return bytes([0x6C, available & 0xFF])
        chunk, self.pending = self.pending[:want], self.pending[want:]
        if self.pending:
            return chunk + bytes([0x61, min(len(self.pending), 256) & 0xFF])
        return chunk + b"\x90\x00"


class EndlessCard(TinyCard):
    """A broken T=0 card: every GET RESPONSE says one more byte waits (61 01), forever."""

    def __init__(self) -> None:
        super().__init__("T=0")

    def process(self, apdu: bytes) -> bytes:
        self.log.append(apdu)
        return b"\x00\x61\x01" if apdu[1] == 0xC0 else b"\x61\x01"


def make_card(profile: str) -> TinyCard:
    """Factory for ``kiosk sim card --factory tests.cardreader.testcard:make_card``."""
    if profile == "t0":
        return TinyCard("T=0")
    if profile == "t1":
        return TinyCard("T=1")
    if profile == "contactless":
        return TinyCard("T=1", ATR_CONTACTLESS)
    if profile == "endless":
        return EndlessCard()
    raise ValueError(f"unknown test card profile {profile!r} (t0, t1, contactless, endless)")
