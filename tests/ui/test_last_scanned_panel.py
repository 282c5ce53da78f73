"""The "last scanned item" panel (issue 21, item 7) drawn in en, zh_Hans and ko under Xvfb:
the item's picture from the catalog's pictures, its name and its price; without a picture
the text takes the whole panel. The PNGs are kept under var/ui-screenshots/ to look at."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.ui.driver import REPO

pytestmark = pytest.mark.ui

#: runs in its own process (one Kivy window per process): draws the panel, saves a PNG,
#: prints what it showed as JSON
SCRIPT = r"""
import json, os, sys
from pathlib import Path
out, home, locale, picture = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
for k, v in {"KIVY_HOME": str(home / "kivy"), "KIVY_NO_ARGS": "1", "KIVY_NO_CONFIG": "1",
             "KIVY_NO_FILELOG": "1", "KIVY_LOG_MODE": "PYTHON", "KIVY_WINDOW": "sdl2",
             "KIVY_TEXT": "sdl2", "KIVY_IMAGE": "sdl2"}.items():
    os.environ[k] = v
from kivy.config import Config
Config.set("graphics", "width", "1000")
Config.set("graphics", "height", "240")
from kiosk.ui import fonts
from kiosk.ui.fontcheck import font_texts
faces = fonts.resolve(lambda: font_texts(["en", "zh_Hans", "ko"], "USD"),
                      ["en", "zh_Hans", "ko", "USD"], home / "fonts")
from kivy.app import App
from kivy.clock import Clock
from kiosk.ui.widgets import register_fonts
from kiosk.ui.last_scanned import LastScannedPanel
from kiosk.ui.viewmodel import build_view
register_fonts(faces)
msg = {"v": 1, "type": "state", "seq": 3, "state": "shopping", "locale": locale,
       "locales": ["en", "zh_Hans", "ko"], "currency": {"code": "USD", "exponent": 2},
       "txn": "T", "last_line_id": 2, "payment": None, "receipt": None,
       "totals": {"subtotal": 358, "tax": 7, "total": 365, "tax_mode": "exclusive"},
       "lines": [
           {"line_id": 1, "key": "08801115954255", "unit_price_minor": 189, "qty": 1,
            "names": {"en": "Whole Milk 1L", "zh": "全脂牛奶 1L", "ko": "우유 1L"},
            "weight_g": None, "price_minor": None, "age_status": "none", "amount": 189},
           {"line_id": 2, "key": "PLU04011", "unit_price_minor": 199, "qty": 1,
            "names": {"en": "Bananas", "zh": "香蕉", "ko": "바나나"},
            "weight_g": 850, "price_minor": None, "age_status": "none", "amount": 169}]}
view = build_view(msg, True)
pictures = {"PLU04011": Path(picture)} if picture else {}

class Shot(App):
    def load_kv(self, filename=None):  # no kv file: the panel is built in Python
        return None
    def build(self):
        self.panel = LastScannedPanel(pictures)
        self.loaded = not pictures
        self.panel.picture.bind(on_load=lambda *_a: setattr(self, "loaded", True),
                                on_error=lambda *_a: setattr(self, "loaded", True))
        self.panel.show(view.last_scanned, locale.split("_")[0])
        return self.panel
    def on_start(self):
        Clock.schedule_once(self.save, 0)
    def save(self, _dt):
        p = self.panel
        laid_out = p.texts.width > 100 and p.name.width == p.texts.width and p.name.top > 0
        if not (laid_out and self.loaded):  # layout settles; the picture loads in the background
            Clock.schedule_once(self.save, 0.1)
            return
        p.export_to_png(str(out))
        print(json.dumps({"name": p.name.text, "price": p.price.text, "detail": p.detail.text,
                          "picture": p.picture.source, "picture_width": p.picture.width,
                          "fits": not any(w.overflows() for w in (p.name, p.price, p.detail))}))
        self.stop()
Shot().run()
"""


@pytest.mark.parametrize("locale,name,price,unit,with_picture", [
    pytest.param("en", "Bananas", "$1.69", "kg", True, id="en"),
    pytest.param("zh_Hans", "香蕉", "US$1.69", "千克", True, id="zh_Hans"),
    pytest.param("ko", "바나나", "US$1.69", "kg", True, id="ko"),
    pytest.param("ko", "바나나", "US$1.69", "kg", False, id="ko-no-picture")])
def test_last_scanned_panel_shows_picture_name_and_price(xvfb, shots, tmp_path, locale, name,
                                                         price, unit, with_picture):
    picture = ""
    if with_picture:
        from PIL import Image, ImageDraw

        img = Image.new("RGB", (240, 240), (255, 244, 209))
        ImageDraw.Draw(img).ellipse((30, 60, 210, 180), fill=(245, 179, 1))
        picture = str(tmp_path / "PLU04011.png")
        img.save(picture)
    out = shots / f"last-scanned-{locale}{'-picture' if with_picture else ''}.png"
    env = {"DISPLAY": xvfb.display, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(out), str(tmp_path), locale,
                           picture], env=env, capture_output=True, text=True, timeout=120,
                          cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    shown = json.loads(done.stdout.strip().splitlines()[-1])
    assert (shown["name"], shown["price"]) == (name, price)
    assert unit in shown["detail"] and shown["fits"]
    assert bool(shown["picture"]) == with_picture
    assert (shown["picture_width"] > 0) == with_picture
    from PIL import Image

    with Image.open(out) as shot:  # the product's picture (amber on cream) is on the panel
        colours = {c for _n, c in shot.convert("RGB").getcolors(1 << 20)}
    assert ((245, 179, 1) in colours) == with_picture
