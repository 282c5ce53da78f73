"""Card terminal configuration: the EMV terminal data objects, TACs and the AID list.

``CardConfig`` is the ``[card]`` section of the kiosk configuration. Codes follow EMV
Book 4 Annex A (9F35, 9F33, 9F40) and Book 3 (TACs). The store currency (5F2A, 5F36)
is not here: it comes from ``[store.currency]`` so the basket and the card agree.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    # mirrors kiosk.config._Strict: importing it would be a cycle (kiosk.config imports us)
    model_config = ConfigDict(extra="forbid", frozen=True)


def _hex(value: str, size: int | None, what: str) -> str:
    text = value.replace(" ", "").upper()
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"{what} must be hex, got {value!r}") from None
    if size is not None and len(raw) != size:
        raise ValueError(f"{what} must be {size} bytes of hex, got {len(raw)}")
    return text


class AidConfig(_Strict):
    """One application the terminal accepts (the EMV 'list of AIDs', Book 1 12.3.1)."""

    name: str = Field(min_length=1, description="shown in logs; the card's label wins on screen")
    aid: str = Field(description="terminal AID (RID + PIX), hex, 5-16 bytes")
    partial: bool = Field(True, description="Application Selection Indicator: partial match ok")
    app_version: str = Field("0096", description="9F09 terminal application version number")
    brand: str = Field(min_length=1, description="brand for the receipt and journal")
    tac_denial: str | None = Field(None, description="per-brand TAC override, 5 bytes hex")
    tac_online: str | None = None
    tac_default: str | None = None

    @field_validator("aid")
    @classmethod
    def _aid(cls, value: str) -> str:
        text = _hex(value, None, "aid")
        if not 5 <= len(text) // 2 <= 16:
            raise ValueError("aid must be 5 to 16 bytes")
        return text

    @field_validator("app_version")
    @classmethod
    def _version(cls, value: str) -> str:
        return _hex(value, 2, "app_version")

    @field_validator("tac_denial", "tac_online", "tac_default")
    @classmethod
    def _tac(cls, value: str | None) -> str | None:
        return None if value is None else _hex(value, 5, "TAC")


def _default_aids() -> list[AidConfig]:
    return [
        AidConfig(name="Visa", aid="A0000000031010", brand="visa"),
        AidConfig(name="Visa Electron", aid="A0000000032010", brand="visa"),
        AidConfig(name="Mastercard", aid="A0000000041010", app_version="0002", brand="mastercard",
                  tac_denial="0000000000", tac_online="FC509C8800", tac_default="FC509C8800"),
        AidConfig(name="Maestro", aid="A0000000043060", app_version="0002", brand="maestro",
                  tac_denial="0000800000", tac_online="FC509C8800", tac_default="FC509C8800"),
        AidConfig(name="UnionPay Debit", aid="A000000333010101", app_version="0030",
                  brand="unionpay"),
        AidConfig(name="UnionPay Credit", aid="A000000333010102", app_version="0030",
                  brand="unionpay"),
        AidConfig(name="Amex", aid="A00000002501", app_version="0001", brand="amex"),
        AidConfig(name="Discover", aid="A0000001523010", app_version="0001", brand="discover"),
        AidConfig(name="JCB", aid="A0000000651010", app_version="0200", brand="jcb"),
    ]


class TerminalConfig(_Strict):
    """EMV terminal data. Defaults: a US-style unattended, online-only, chip-only test lane."""

    country_code: int = Field(840, ge=1, le=999, description="9F1A ISO 3166 numeric")
    # 9F35, Book 4 A1: first digit 2 = operational control by the merchant, second digit
    # 4 = unattended, online only. The kiosk never approves offline, so x4 (not x5).
    terminal_type: str = Field("24", description="9F35")
    # 9F33, Book 4 A2: byte 1 0x20 = IC with contacts only; byte 2 0x08 = "No CVM required"
    # only (no PIN pad, no signature); byte 3 0x00 = no SDA/DDA/CDA, no card capture.
    capabilities: str = Field("200800", description="9F33")
    # 9F40, Book 4 A3: byte 1 goods+services (0x60); byte 4 print+display for the cardholder
    # (0x50); byte 5 code table 1 (ISO 8859-1).
    additional_capabilities: str = Field("6000005001", description="9F40")
    terminal_id: str = Field("KIOSK001", min_length=8, max_length=8, description="9F1C an8")
    merchant_id: str = Field("KIOSKMERCHANT01", min_length=15, max_length=15,
                             description="9F16 ans15")
    merchant_name_location: str = Field("SELF CHECKOUT KIOSK, ANYTOWN US", max_length=60,
                                        description="9F4E")
    mcc: int = Field(5411, ge=0, le=9999, description="9F15 merchant category code")
    pos_entry_mode: str = Field("05", description="9F39: 05 = integrated circuit card")
    # Visa-style defaults (a brand may override per AID). TAC-online covers byte 4 b8
    # "exceeds floor limit", so the decision is online even before the online-only rule.
    tac_denial: str = Field("0010000000")
    tac_online: str = Field("DC4004F800")
    tac_default: str = Field("DC4000A800")
    floor_limit: int = Field(0, ge=0, description="9F1B in minor units; 0 = every sale online")
    aids: list[AidConfig] = Field(default_factory=_default_aids, min_length=1)

    @field_validator("terminal_type")
    @classmethod
    def _type(cls, value: str) -> str:
        text = _hex(value, 1, "terminal_type")
        if text[0] not in "123" or text[1] not in "456":
            raise ValueError("terminal_type must be an unattended type (x4, x5 or x6)")
        return text

    @field_validator("capabilities")
    @classmethod
    def _caps(cls, value: str) -> str:
        text = _hex(value, 3, "capabilities")
        raw = bytes.fromhex(text)
        if raw[1] != 0x08:
            raise ValueError("capabilities byte 2 must declare only 'No CVM required' (08)")
        if raw[2] & 0xC8:
            raise ValueError("capabilities byte 3 must not declare SDA, DDA or CDA")
        return text

    @field_validator("additional_capabilities")
    @classmethod
    def _addcaps(cls, value: str) -> str:
        return _hex(value, 5, "additional_capabilities")

    @field_validator("tac_denial", "tac_online", "tac_default")
    @classmethod
    def _tac(cls, value: str) -> str:
        return _hex(value, 5, "TAC")

    @field_validator("pos_entry_mode")
    @classmethod
    def _pem(cls, value: str) -> str:
        return _hex(value, 1, "pos_entry_mode")

    @model_validator(mode="after")
    def _online_only(self) -> TerminalConfig:
        if self.terminal_type[1] == "4" and self.floor_limit != 0:
            raise ValueError("an online-only terminal type (x4) needs floor_limit 0")
        aids = [a.aid for a in self.aids]
        if len(aids) != len(set(aids)):
            raise ValueError("AIDs must be unique")
        return self


class CardConfig(_Strict):
    """The [card] section: terminal data plus the reader timing the payment worker uses."""

    terminal: TerminalConfig = Field(default_factory=TerminalConfig)
    session_limit_s: float = Field(60.0, gt=0, description="watchdog over the whole card session")
    insert_timeout_s: float = Field(60.0, gt=0, description="wait for the shopper's card")
