"""E-receipt fixtures: kept receipts (en, zh_Hans, ko) and the page service on loopback.

The receipts are the printer tests' realistic ones (:mod:`tests.drivers.receipts`, built by
the real ``build_receipt``), kept by the real :class:`ReceiptStore`; the service is the real
:class:`kiosk.services.ereceipt.EReceiptServer` on 127.0.0.1, in a thread of the test.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from kiosk.printing.ereceipt import LinkSigner, load_key
from kiosk.printing.store import ReceiptStore
from kiosk.services.ereceipt import EReceiptServer
from tests.drivers.receipts import make_receipt

LOCALES = ("en", "zh_Hans", "ko")
TXNS = {"en": "S001-L01-000042", "zh_Hans": "S001-L01-000043", "ko": "S001-L01-000044"}


@dataclass
class Served:
    base: str                 # http://127.0.0.1:PORT
    key: bytes
    store: ReceiptStore
    server: EReceiptServer

    def signer(self, valid_s: int = 30 * 86400) -> LinkSigner:
        return LinkSigner(self.key, self.base + "/r/{txn}", valid_s)

    def link(self, locale: str, **kw) -> str:
        return self.signer(**kw).link(TXNS[locale], locale)


@pytest.fixture
def served(config, tmp_path: Path):
    key = load_key(tmp_path / "ereceipt.key", create=True)
    store = ReceiptStore(config.receipts_dir)
    for locale in LOCALES:
        store.save(make_receipt(config, locale, txn=TXNS[locale], link=False))
    server = EReceiptServer(("127.0.0.1", 0), key, config.receipts_dir)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield Served(f"http://{host}:{port}", key, store, server)
    server.shutdown()
    server.server_close()
    thread.join(10)
