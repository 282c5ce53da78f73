"""A wallet lane for tests: a real kiosk-core process (its ``qr`` method on the simulated
gateway in kiosk/sim/wallet_gateway.py) on the real test broker, with what each scenario is
checked against: the gateway's ledger, the method's order book and the core's journal."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from kiosk.payments.wallet.orders import FINAL
from kiosk.sim.wallet_gateway import CONTROL, HELD, LEDGER
from tests.fixtures.sample_items import MILK
from tests.harness import Shopper
from tests.integration.flow import send_wallet_code, show_code, to_receipt, wallet_code


def write_qr_options(env: dict, options: dict, name: str = "30-qr.toml") -> None:
    """A site file ``[payments.options.qr]`` for the lane (e.g. kiosk sim qrpay's)."""
    def value(v: object) -> str:
        return json.dumps(v if isinstance(v, bool | int | float) else str(v))

    site = Path(env["KIOSK_CONFIG_DIR"])
    (site / name).write_text("[payments.options.qr]\n" + "".join(
        f"{k} = {value(v)}\n" for k, v in options.items() if v is not None))


class WalletLane:
    def __init__(self, env: dict, shopper: Shopper) -> None:
        self.env = env
        self.shopper = shopper
        self.dir = Path(env["KIOSK__PATHS__STATE_DIR"])
        self.codes: list[str] = []

    # -- driving --------------------------------------------------------------------------
    def control(self, **values: object) -> None:
        values.setdefault("poll_interval_s", 0.05)
        tmp = self.dir / (CONTROL + ".tmp")
        tmp.write_text(json.dumps(values))
        tmp.replace(self.dir / CONTROL)

    def to_payment(self, resolved: bool = True) -> str:
        self.shopper.wait_state(lambda s: s["state"] == "attract" and not (
            resolved and s.get("payments_resolving")), 20)
        assert self.shopper.send("scan", code=MILK)["ok"]
        assert self.shopper.send("checkout")["ok"]
        return self.shopper.state["txn"]

    def pay(self, code: str | None = None) -> str:
        assert self.shopper.send("pay", method="qr")["ok"]
        return self.show(code)

    def phone_scans(self) -> dict:
        """Merchant-presented: pay by phone, "scan a code with my phone instead"; the
        state's payment once the screen shows the order's code (``qr``)."""
        assert self.shopper.send("pay", method="qr")["ok"]
        self.step("show_code")
        assert self.shopper.send("choose_app", index=1)["ok"]
        shown = self.step("scan_code")["payment"]
        assert shown["qr"]
        return shown

    def show(self, code: str | None = None) -> str:
        code = show_code(self.shopper, code or wallet_code())
        self.codes.append(code)
        return code

    def present(self, code: str) -> dict:
        return send_wallet_code(self.shopper, code)

    def step(self, name: str, timeout: float = 10) -> dict:
        return self.shopper.wait_state(
            lambda s: (s.get("payment") or {}).get("step") == name, timeout)

    def end(self, timeout: float = 20) -> dict:
        """The attempt's end: approved, declined, or back to payment once reversed."""
        return self.shopper.wait_state(
            lambda s: s["state"] in ("approved", "receipt", "declined", "payment",
                                     "payment_unavailable"), timeout)

    def finish(self) -> None:
        """Close the basket whatever its state (receipt → done; else void)."""
        st = self.shopper.state or {}
        if st["state"] in ("approved", "receipt"):
            to_receipt(self.shopper, "none")
            assert self.shopper.send("done")["ok"]
        elif st["state"] in ("payment", "declined"):   # (a cancel right after a cancelled
            assert self.shopper.send("back")["ok"]     # payment is its double tap: back first)
            assert self.shopper.send("cancel")["ok"]
        self.shopper.wait_state(lambda s: s["state"] == "attract", 15)

    def wait_held(self, point: str, timeout: float = 10) -> None:
        held = self.dir / HELD
        deadline = time.monotonic() + timeout
        while not (held.exists() and held.read_text() == point):
            assert time.monotonic() < deadline, f"the gateway never held at {point}"
            time.sleep(0.01)
        held.unlink()

    # -- what is checked ----------------------------------------------------------------------
    def ledger(self) -> list[dict]:
        path = self.dir / LEDGER
        return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []

    def gateway_orders(self) -> dict[str, dict]:
        last: dict[str, dict] = {}
        for entry in self.ledger():
            last[entry["order_no"]] = entry["order"]
        return last

    def book(self) -> list[dict]:
        db = sqlite3.connect(f"file:{self.dir / 'wallet-orders.sqlite'}?mode=ro", uri=True)
        db.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in db.execute("SELECT * FROM orders ORDER BY id")]
        finally:
            db.close()

    def journal(self) -> list[dict]:
        db = sqlite3.connect(f"file:{self.dir / 'journal.sqlite'}?mode=ro", uri=True)
        try:
            return [{"type": t, "txn": txn, **json.loads(d)} for t, txn, d in
                    db.execute("SELECT type, txn, data FROM events ORDER BY seq")]
        finally:
            db.close()

    def approved_baskets(self) -> dict[str, int]:
        """txn → amount of every sale the journal holds approved."""
        out: dict[str, int] = {}
        requested = {}
        for e in self.journal():
            if e["type"] == "auth_requested":
                requested[(e["txn"], e["stan"])] = e["amount"]
            elif e["type"] == "auth_approved":
                out[e["txn"]] = requested[(e["txn"], e["stan"])]
        return out

    def check_money(self) -> dict[str, int]:
        """No order open at the gateway or in the book, none paid twice, none lost: the
        money the gateway kept per basket is exactly the sales the journal approved."""
        gateway = self.gateway_orders()
        open_ = {no: o["state"] for no, o in gateway.items() if o["state"] == "user_paying"}
        assert open_ == {}, f"orders left open at the gateway: {open_}"
        book = self.book()
        assert [o["order_no"] for o in book if o["state"] not in FINAL] == [], book
        kept: dict[str, int] = {}
        for o in book:
            g = gateway.get(o["order_no"])
            if g and g["state"] == "paid":
                txn = o["idem_key"].rpartition("-")[0]
                kept[txn] = kept.get(txn, 0) + g["paid"]
                assert o["state"] == "recorded", (o, g)
        assert kept == self.approved_baskets(), (kept, self.approved_baskets())
        return kept

    def check_no_code_leaked(self, *logs: str) -> None:
        """The codes shown appear nowhere the lane writes: journal, order book, logs."""
        def raw(name: str) -> bytes:   # the database and its write-ahead log
            return b"".join(p.read_bytes() for p in self.dir.glob(name + "*"))

        journal, book = raw("journal.sqlite"), raw("wallet-orders.sqlite")
        for code in self.codes:
            for name, text in (("journal", journal), ("order book", book)):
                assert code.encode() not in text, f"a payment code in the {name}"
            for text in logs:
                assert code not in text, "a payment code in a log"
