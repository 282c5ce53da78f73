"""Fixtures for the EMV tests: a default terminal and a whole-sale runner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest

from kiosk.domain import tlv
from kiosk.payments.emv import EmvTransaction
from kiosk.payments.emv_config import TerminalConfig
from kiosk.sim.emvcard import VirtualCard, make_card
from tests.emv.channel import SimChannel

NOW = datetime(2026, 11, 25, 14, 30, 5)
UN = bytes.fromhex("A1B2C3D4")


@dataclass
class Sale:
    txn: EmvTransaction
    channel: SimChannel
    card: VirtualCard
    offered: list  # candidate lists shown to the shopper
    result: str | None = None


def first(cands: list) -> int:
    return 0


def start(card: VirtualCard | str, *, amount: int = 1234, currency: int = 840,
          exponent: int = 2, terminal: TerminalConfig | None = None, choose=None,
          now: datetime = NOW, **kw) -> Sale:
    if isinstance(card, str):
        card = make_card(card)
    channel = SimChannel(card)
    txn = EmvTransaction(channel, terminal or TerminalConfig(), amount, currency, exponent,
                         now=now, unpredictable=UN, atc_counter=lambda: 7, **kw)
    return Sale(txn, channel, card, [])


def run(card: VirtualCard | str, *, host: str = "approve", choose=None, **kw) -> Sale:
    """A whole sale; host: approve (with ARPC), approve_no_arpc, decline, unreachable."""
    sale = start(card, **kw)
    offered = sale.offered

    def chooser(cands: list) -> int:
        offered.append([c.label for c in cands])
        return (choose or first)(cands)

    sale.txn.select(chooser)
    sale.txn.read_data()
    sale.txn.analyse()
    arqc = sale.txn.first_ac()
    if host == "unreachable":
        sale.result = sale.txn.second_ac(None, None)
    elif host == "decline":
        sale.result = sale.txn.second_ac(b"05", None)
    elif host == "approve_no_arpc":
        sale.result = sale.txn.second_ac(b"00", None)
    else:
        issuer = tlv.encode("91", sale.card.arpc(arqc, b"00"))
        sale.result = sale.txn.second_ac(b"00", issuer)
    return sale


@pytest.fixture
def terminal() -> TerminalConfig:
    return TerminalConfig()
