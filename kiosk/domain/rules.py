"""The store's rules the checkout applies: its config models, validated, no I/O.

Store identity and languages, currency, tax, promotions, variable-measure layouts
(:mod:`kiosk.domain.gtin`), what a GS1 code's dates and batch refuse (:mod:`kiosk.domain.gs1`),
timeouts and a staff member's credentials. The application's
configuration (:mod:`kiosk.config`) composes them: :class:`CheckoutRules` is the part of
``KioskConfig`` the domain reads, with the same TOML keys.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from babel.numbers import get_currency_precision, list_currencies
from pydantic import Field, field_validator, model_validator

from kiosk.domain.gtin import GtinError, VariableMeasureConfig, validate_gtin
from kiosk.domain.money import ISO_4217_NUMERIC, Currency
from kiosk.domain.strict import Strict


class CurrencyConfig(Strict):
    code: str = Field(pattern=r"^[A-Z]{3}$")
    numeric: int = Field(ge=1, le=999)
    exponent: int = Field(ge=0, le=4)

    @model_validator(mode="after")
    def _matches_iso4217(self) -> CurrencyConfig:
        if self.code not in list_currencies():
            raise ValueError(f"unknown ISO 4217 currency code {self.code!r}")
        # the numeric code goes on the wire (EMV 5F2A, ISO 8583 field 49): it must agree
        numeric = ISO_4217_NUMERIC.get(self.code)
        if numeric is None:
            raise ValueError(f"currency {self.code} is not supported (add its ISO 4217 numeric"
                             " code to kiosk.domain.money.ISO_4217_NUMERIC)")
        if self.numeric != numeric:
            raise ValueError(f"numeric {self.numeric:03d} does not match ISO 4217 for"
                             f" {self.code} ({numeric:03d})")
        iso = get_currency_precision(self.code)
        if iso != self.exponent:
            raise ValueError(
                f"exponent {self.exponent} does not match ISO 4217 for {self.code} ({iso})"
            )
        return self

    def currency(self) -> Currency:
        return Currency(self.code, self.numeric, self.exponent)


class StoreConfig(Strict):
    """The store and lane. ``locales`` are catalog names (zh_Hans); kiosk.config's subclass
    turns any tag an operator writes (zh-CN) into one and refuses one with no catalog."""

    store_id: str = Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_-]+$")
    lane_id: str = Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(min_length=1)
    receipt_header: list[str] = Field(default_factory=list)
    e_receipt_url: str = Field(
        default="", max_length=120,  # its signed link stays within a state message's Text
        pattern=r"^(https://\S*\{txn\}\S*|http://(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?/\S*"
                r"\{txn\}\S*)?$",
        description="the e-receipt link printed (and as a QR code) on each receipt and shown"
                    " on the receipt screen, an https URL holding {txn} (http only on loopback,"
                    " for the demo); kiosk-core puts the signed token there"
                    " (kiosk/printing/ereceipt.py); empty: none")
    locales: list[str] = Field(min_length=1)
    default_locale: str
    currency: CurrencyConfig

    @model_validator(mode="after")
    def _default_in_locales(self) -> StoreConfig:
        if self.default_locale not in self.locales:
            raise ValueError(f"default_locale {self.default_locale!r} is not in locales")
        return self


class TaxConfig(Strict):
    mode: Literal["inclusive", "exclusive"]
    rates: dict[str, Decimal] = Field(min_length=1, description="percent per tax class")

    @field_validator("rates")
    @classmethod
    def _sane_rates(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for name, rate in value.items():
            if not (Decimal(0) <= rate < Decimal(100)):
                raise ValueError(f"rate for {name!r} must be between 0 and 100 percent")
        return value


class PromotionConfig(Strict):
    id: str = Field(min_length=1)
    name: dict[str, str] = Field(min_length=1, description="label per language")
    kind: Literal["buy_n_pay_m", "n_for_price"]
    gtins: list[str] = Field(min_length=1)
    n: int = Field(ge=2, le=100)
    m: int | None = Field(default=None, ge=1)
    price: str | None = None

    @field_validator("gtins")
    @classmethod
    def _valid_gtins(cls, value: list[str]) -> list[str]:
        try:
            return [validate_gtin(g) for g in value]
        except GtinError as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _kind_fields(self) -> PromotionConfig:
        if self.kind == "buy_n_pay_m" and (self.m is None or self.m >= self.n):
            raise ValueError("buy_n_pay_m needs m smaller than n")
        if self.kind == "n_for_price" and self.price is None:
            raise ValueError("n_for_price needs a price")
        return self


class TimeoutConfig(Strict):
    idle_warning_s: float = Field(gt=0)
    idle_void_s: float = Field(gt=0, description="seconds after the warning until the void")
    receipt_s: float = Field(gt=0)
    authorization_s: float = Field(gt=0)
    receipt_choice_s: float = Field(default=20, gt=0, description="approved: print unless"
                                    " the shopper chose within this")


class StaffMember(Strict):
    id: str = Field(min_length=1)
    name: str
    pin_hash: str | None = None
    badge_hash: str | None = None

    @field_validator("pin_hash", "badge_hash")
    @classmethod
    def _hash_format(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("scrypt$"):
            raise ValueError("must be a hash from `kiosk staff hash-pin` (scrypt$...)")
        return value


class RecallConfig(Strict):
    """A recalled batch: the item's GTIN and the batch (GS1 AI 10) printed on it."""

    gtin: str
    batch: str = Field(min_length=1, max_length=20)
    note: str = Field(default="", description="e.g. the recall notice's reference")

    @field_validator("gtin")
    @classmethod
    def _valid_gtin(cls, value: str) -> str:
        try:
            return validate_gtin(value)
        except GtinError as exc:
            raise ValueError(str(exc)) from None


class Gs1Config(Strict):
    """What a lane refuses to sell from a GS1 code's dates and batch (kiosk.domain.gs1)."""

    refuse_past: list[Literal["15", "16", "17"]] = Field(
        default_factory=lambda: ["15", "16", "17"],
        description="date AIs whose date, once past, refuses the item: 15 best before,"
                    " 16 sell by, 17 expiry (the item is sellable on the date itself)")
    recalls: list[RecallConfig] = Field(
        default_factory=list,
        description="recalled batches (until the back office sends the recall list)")

    def recalled(self, gtin14: str, batch: str | None) -> RecallConfig | None:
        return next((r for r in self.recalls if batch is not None and r.gtin == gtin14
                     and r.batch == batch), None)


class CheckoutRules(Strict):
    """What the checkout reads of the configuration (the first sections of KioskConfig)."""

    store: StoreConfig
    tax: TaxConfig
    variable_measure: VariableMeasureConfig
    promotions: list[PromotionConfig] = Field(default_factory=list)
    timeouts: TimeoutConfig
    gs1: Gs1Config = Field(default_factory=Gs1Config)

    @property
    def currency(self) -> Currency:
        return self.store.currency.currency()
