"""What a shopper meets in the first hour tells the truth (issue 21, items 1-5 and 7), in a real
Kivy window in English, Chinese and Korean.

The retained state is published as kiosk-core publishes it (its ``accepts`` row from the
domain's table), one step after another; each screen is photographed and checked for
clipped text, missing glyphs and English on a Chinese or Korean screen (tests/ui/checks.py):

1. after "No receipt" the receipt screen does not say "take your receipt";
2. a help button on every screen a shopper meets (attract, insert card, authorizing,
   approved, receipt), "Cancel help" once help is called (the header, the attendant
   screen), "Put the item aside" for an unknown barcode: taps send those commands;
3. the phone method's screen promises no QR code, the payment screen says what it takes;
4. the card as the receipt shows it (brand name, last 4), the declined body is no title;
7. the last scanned item, big, with its picture (or a drawn bag when the catalog has
   none), its quantity or weight and its price, above a basket that still fits;
5. the UI runs with ``--screenshots`` (the headless demo): it saves the frame on screen,
   one numbered file per step, no "starting" page first, no white band.
"""

from __future__ import annotations

import json
import queue
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from kiosk.bus.client import BusClient
from kiosk.bus.messages import Topics, status_message
from kiosk.catalog import pictures_dir
from kiosk.domain.cards import shown_pan
from kiosk.payments.card_method import CardMethod
from kiosk.payments.wallet.method import WalletMethod
from kiosk.ui import theme
from kiosk.ui.i18n import Translator
from tests.fixtures.sample_items import MILK
from tests.harness import bus_login
from tests.ui.driver import LIVE_LOCALES
from tests.ui.test_purchase_ui import Screens
from tests.ui.test_viewmodel import card_state, state

pytestmark = pytest.mark.ui

METHODS = [CardMethod.offer(), WalletMethod.offer()]
CARD = {"brand": "visa", "masked_pan": "476173******0119"}
PICTURE_INK = (250, 214, 52)   # a yellow no screen of the kiosk draws: the product picture
BAG_INK = tuple(round(c * 255) for c in theme.GREY[:3])   # the bag drawn without a picture
PICTURE_TILE = (34, 122, 156, 244)   # where the last-scanned panel's picture goes (1280 x 800)


def read_png(path: Path) -> tuple[int, int, bytes]:
    """Width, height and RGBA rows of a PNG the UI wrote (8-bit RGBA, filter 0 rows)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, size = 8, b"", (0, 0)
    while pos < len(data):
        length, tag = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if tag == b"IHDR":
            size = struct.unpack(">II", body[:8])
        elif tag == b"IDAT":
            idat += body
        pos += 12 + length
    w, h = size
    raw = zlib.decompress(idat)
    stride = w * 4 + 1
    return w, h, b"".join(raw[y * stride + 1:(y + 1) * stride] for y in range(h))


def white_rows(path: Path) -> list[int]:
    """Rows that are white from edge to edge: a band no screen of the kiosk has (every
    page has a grey margin)."""
    w, h, rgba = read_png(path)
    white = b"\xff" * w
    out = []
    for y in range(h):
        row = rgba[y * w * 4:(y + 1) * w * 4]
        if row[0::4] == white and row[1::4] == white and row[2::4] == white:
            out.append(y)
    return out


class Lane:
    """A retained state published step by step, and the commands the UI sends."""

    def __init__(self, lane_env: dict, broker_port: int, locale: str) -> None:
        self.topics = Topics(lane_env["KIOSK__STORE__LANE_ID"])
        self.bus = BusClient(bus_login(broker_port, "kiosk-core"), f"test-core-{self.topics.state}")
        self.commands: queue.Queue[dict] = queue.Queue()
        self.bus.subscribe(self.topics.commands,
                           lambda _t, payload: self.commands.put(json.loads(payload)))
        assert self.bus.start(wait_s=10)
        self.bus.publish(self.topics.core_status, status_message(True), retain=True)
        self.locale, self.seq = locale, 0

    def show(self, msg: dict) -> int:
        self.seq += 1
        self.bus.publish(self.topics.state, {**msg, "seq": self.seq, "locale": self.locale,
                                             "methods": METHODS}, retain=True)
        return self.seq

    def sent(self, kind: str, timeout: float = 10) -> dict:
        """The next command of ``kind`` the UI sent (touches and the like skipped)."""
        while True:
            cmd = self.commands.get(timeout=timeout)
            if cmd["type"] == kind:
                return cmd

    def stop(self) -> None:
        self.bus.stop()


def tids(ui) -> set[str]:
    return {t["tid"] for t in ui.call("tappables")["tappables"]}


@pytest.mark.parametrize("locale", LIVE_LOCALES)
def test_the_screens_tell_the_truth(locale, lane_env, broker_port, ui_factory, shots,
                                    ui_fonts):
    t = Translator(locale)
    lane = Lane(lane_env, broker_port, locale)
    demo_dir = shots / "demo"
    try:
        lane.show(state(state="attract", lines=[], txn=None))
        # 7: the catalog has a picture of the bananas (as `kiosk catalog import` keeps it)
        folder = pictures_dir(Path(lane_env["KIOSK__PATHS__STATE_DIR"]) / "catalog.sqlite")
        folder.mkdir(parents=True, exist_ok=True)
        picture = Image.new("RGB", (240, 240), (255, 244, 209))
        draw = ImageDraw.Draw(picture)   # a banana: a thick yellow crescent, brown tips
        draw.arc((10, -90, 230, 170), start=35, end=145, fill=PICTURE_INK, width=46)
        for x, y in ((193, 104), (47, 104)):
            draw.ellipse((x - 9, y - 9, x + 9, y + 9), fill=(92, 64, 28))
        picture.save(folder / "PLU04011.png")
        ui = ui_factory("--screenshots", str(demo_dir))
        ui.wait_screen("attract", locale=locale)
        screens = Screens(ui, shots, locale, ui_fonts())
        steps = ["attract"]

        def demo_shot() -> None:
            """Wait for the headless demo's picture of the step now on screen."""
            want = demo_dir / f"{len(steps):03d}-{steps[-1]}.png"
            ui.wait(lambda _st: want.exists(), f"demo screenshot {want.name}")

        def step(msg: dict, screen: str, name: str) -> list[str]:
            seq = lane.show(msg)
            ui.wait(lambda st: st.get("seq") == seq and st["screen"] == screen,
                    f"{name} (seq {seq})")
            steps.append(screen)
            texts = screens.snap(name, screen)
            demo_shot()
            return texts

        # 2: help on every screen a shopper meets
        screens.snap("attract", "attract")
        demo_shot()
        assert "help" in tids(ui)
        ui.tap("help")
        assert lane.sent("help")["source"] == "ui"

        # 7: the last scanned item, big, above the basket: its picture from the catalog,
        # then an item the catalog has no picture of (a drawn bag in its place)
        for last, name, amount, detail, pictured in (
                (2, "Bananas", 169, t.tr("{weight} kg × {price}/kg", weight=t.kg(850),
                                         price=t.money(199)), True),
                (1, "Cup Noodles", 297, t.tr("{qty} × {price}", qty=3, price=t.money(99)),
                 False)):
            shown = t.name(state()["lines"][last - 1]["names"], "")
            snap = f"shopping-last-scanned{'-picture' if pictured else ''}"
            texts = step(state(last_line_id=last), "shopping", snap)
            # the panel and the basket's row both name it
            assert texts.count(shown) == 2 and texts.count(t.money(amount)) == 2, texts
            assert texts.count(detail) == 2, texts
            assert {"checkout", "cancel", f"remove:{last}"} <= tids(ui)   # all still fit
            with Image.open(shots / f"{screens.count:02d}-{snap}.png") as shot:
                tile = shot.convert("RGB").crop(PICTURE_TILE)   # the panel's picture square
                colours = {c for _n, c in tile.getcolors(1 << 22)}
            assert (PICTURE_INK in colours) == pictured, f"{name}: picture shown {not pictured}"
            assert (BAG_INK in colours) != pictured, f"{name}: the bag in its place {pictured}"

        # 3: the payment screen says what the lane takes; the phone method promises no QR
        texts = step(state(state="payment"), "payment", "payment")
        labels = [t.tr(m["label"]) for m in METHODS]
        assert t.tr("Accepted here: {methods}", methods=t.join(labels)) in texts
        assert t.tr(CardMethod.hint) in texts
        texts = step(card_state(method="qr", step=None), "authorizing", "authorizing-phone")
        assert t.tr("This takes a moment. Please stay at the checkout.") in texts
        assert not any("QR" in text for text in texts), texts
        assert "help" in tids(ui)

        texts = step(card_state(step="insert_card"), "card_insert", "insert-card")
        assert "help" in tids(ui)

        # 4: the card as the receipt shows it: its brand's name and the last 4 digits
        texts = step(card_state("approved", auth_code="A1B2C3", card=CARD), "approved",
                     "approved")
        shown = "\n".join(texts)
        assert f"Visa {shown_pan(CARD['masked_pan'])}" in shown and "0119" in shown  # receipt rule
        assert "476173" not in shown and "visa" not in shown
        assert {"help", "receipt:print", "receipt:none"} <= tids(ui)

        # 4: the declined screen's body says something its title does not
        for key in ("cancelled", "card_declined", "not_charged"):
            texts = step(card_state("declined", message=key, reason="x"), "declined",
                         f"declined-{key}")
            title = next(x for x in texts if x in (t.tr("Payment cancelled"),
                                                    t.tr("Payment declined"),
                                                    t.tr("Payment not completed")))
            assert [x for x in texts if title in x] == [title], texts  # said once
            assert len(texts) == len(set(texts)), texts
            if locale == "en":   # nor said again in other words ("The payment was cancelled.")
                verb = title.split()[-1]
                assert not any(verb in x for x in texts if x != title), texts

        # 1: "No receipt" is not followed by "take your receipt"
        texts = step(card_state("receipt", auth_code="A1", receipt_choice="none")
                     | {"receipt": {"path": "", "ok": True, "printed": False}},
                     "receipt", "receipt-none")
        assert t.tr("No receipt was printed, as you chose.") in texts
        assert t.tr("Please take your receipt.") not in texts
        assert "help" in tids(ui)
        texts = step(card_state("receipt", auth_code="A1", receipt_choice="print")
                     | {"receipt": {"path": "/r", "ok": True}}, "receipt", "receipt-printed")
        assert t.tr("Please take your receipt.") in texts

        # 2: help called beside a payment: the header's button withdraws it
        texts = step(card_state("receipt", auth_code="A1", receipt_choice="print")
                     | {"receipt": {"path": "/r", "ok": True},
                        "attendant": {"reason": "help", "return_to": "receipt"}},
                     "receipt", "receipt-help-called")
        assert t.tr("Cancel help") in texts
        ui.tap("help")
        lane.sent("cancel_help")

        # 2: the attendant screen: cancel one's own help call, put an unknown item aside
        texts = step(state(state="attendant_needed",
                           attendant={"reason": "help", "return_to": "shopping"}),
                     "attendant", "attendant-help")
        assert t.tr("Cancel help") in texts
        ui.tap("shopper:resolve")
        lane.sent("cancel_help")
        texts = step(state(state="attendant_needed",
                           attendant={"reason": "unknown_barcode", "code": "1234567890128",
                                      "return_to": "shopping"}),
                     "attendant", "attendant-unknown-item")
        assert t.tr("Put the item aside") in texts
        ui.tap("shopper:resolve")
        lane.sent("put_aside")
        texts = step(state(state="attendant_needed", staff={"name": "Sam"},
                           attendant={"reason": "unknown_barcode", "code": "1234567890128",
                                      "return_to": "shopping"}),
                     "attendant", "attendant-staff")
        assert "shopper:resolve" not in tids(ui)   # staff are here: their buttons only

        # 5: the headless demo's pictures: one per step, what was on screen, no band
        files = sorted(p.name for p in demo_dir.glob("[0-9]*.png"))
        assert files == [f"{i:03d}-{s}.png" for i, s in enumerate(steps, 1)], files
        assert (demo_dir / "current.png").exists()
        for name in files:
            w, h, _ = read_png(demo_dir / name)
            assert w == 1280 and h >= 800, (name, w, h)   # the whole window: kiosk + demo panel
            assert white_rows(demo_dir / name) == [], f"{name}: a white band"
    finally:
        lane.stop()


UNKNOWN = "1234567890128"   # a valid EAN-13 the sample catalog does not have


def test_the_shopper_leaves_the_attendant_screen_on_a_real_core(start_core, shopper,
                                                                 ui_factory, shots, ui_fonts):
    """Taps on the real UI reach the real kiosk-core: an unknown item is put aside, a help
    call from the basket is withdrawn, and help from the idle screen opens a session."""
    start_core()
    shopper.wait_online()
    ui = ui_factory()
    ui.wait_screen("attract")
    screens = Screens(ui, shots, "en", ui_fonts())
    ui.tap("help")    # help on the idle screen: a session opens and staff are called
    st = shopper.wait_state(lambda s: s["state"] == "attendant_needed")
    assert st["attendant"]["reason"] == "help" and st["txn"]
    ui.sync(st)
    screens.snap("attendant-help-from-attract", "attendant")
    ui.tap("shopper:resolve")
    st = shopper.wait_state(lambda s: s["state"] == "shopping" and s["attendant"] is None)

    assert shopper.send("scan", code=MILK)["ok"]
    assert shopper.send("scan", code=UNKNOWN)["ok"]
    st = shopper.wait_state(lambda s: s["state"] == "attendant_needed")
    assert st["attendant"]["reason"] == "unknown_barcode"
    ui.sync(st)
    screens.snap("attendant-unknown-item", "attendant")
    ui.tap("shopper:resolve")
    st = shopper.wait_state(lambda s: s["state"] == "shopping" and s["attendant"] is None)
    assert len(st["lines"]) == 1     # the milk stays, the unknown item was never added
    ui.sync(st)

    ui.tap("help")
    st = shopper.wait_state(lambda s: s["state"] == "attendant_needed")
    ui.sync(st)
    ui.tap("shopper:resolve")
    st = shopper.wait_state(lambda s: s["state"] == "shopping" and s["attendant"] is None)
    assert len(st["lines"]) == 1
