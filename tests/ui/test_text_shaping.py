"""The UI's text widget draws Chinese and Korean "…" as those languages set it: the dots
mid-height. Kivy's default shaping (Latin) put them on the baseline ("正在处理付款……", the
payment screen's title, read like a Latin "......").

A real Kivy window under Xvfb draws ``kiosk.ui.widgets.Text`` with the fonts the UI chose
(tests/ui/conftest.py); the ink of the rendered textures is measured."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.harness import REPO
from tests.ui.conftest import font_choice

pytestmark = pytest.mark.ui

# a Text per (lang, text): the middle row of its ink (share of the height from the top)
PROBE = r"""
import json, os, sys
os.environ["KIVY_NO_ARGS"] = "1"
from kivy.app import App
from kivy.clock import Clock
from kivy.uix.boxlayout import BoxLayout
from kiosk.ui.fonts import Resolved
from kiosk.ui.widgets import Text, register_fonts

choice, cases = json.loads(sys.argv[1]), json.loads(sys.argv[2])
register_fonts({lang: Resolved(**face) for lang, face in choice["faces"].items()})
out = []

def ink_middle(texture):
    w, h = texture.size
    px = texture.pixels   # RGBA rows
    rows = [y for y in range(h) if any(px[(y * w + x) * 4 + 3] > 128 for x in range(w))]
    return (rows[0] + rows[-1]) / 2 / h

class Probe(App):
    def build(self):
        self.labels = [Text(lang=lang, text=text, fit=False, color=(0, 0, 0, 1),
                            size_hint=(None, None), size=(1000, 80)) for lang, text in cases]
        Clock.schedule_once(self.measure, 0)
        box = BoxLayout(orientation="vertical")
        for label in self.labels:
            box.add_widget(label)
        return box

    def measure(self, _dt):
        for label in self.labels:
            label.texture_update()
            out.append({"middle": ink_middle(label.texture)})
        self.stop()

Probe().run()
print("PROBE " + json.dumps(out))
"""


def probe(xvfb, choice_file, home, cases: list[tuple[str, str]]) -> list[dict]:
    env = {"DISPLAY": xvfb.display, "PATH": "/usr/bin:/bin", "HOME": str(home),
           "KIVY_HOME": str(home / "kivy")}
    script = home / "probe.py"   # a file: Kivy's App looks for its module's source
    script.write_text(PROBE)
    done = subprocess.run([sys.executable, str(script), choice_file.read_text(),
                           json.dumps(cases)], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=60)
    line = next((x for x in done.stdout.splitlines() if x.startswith("PROBE ")), None)
    assert line, (done.returncode, done.stdout[-3000:], done.stderr[-3000:])
    return json.loads(line.removeprefix("PROBE "))


@pytest.mark.parametrize("lang", ["zh", "ko"])
def test_an_ellipsis_sits_mid_height(xvfb, tmp_path_factory, tmp_path, lang):
    dots, stroke = probe(xvfb, font_choice(tmp_path_factory), tmp_path,
                         [(lang, "……"), (lang, "一")])
    # the dots sit where the middle stroke of 一 does, not on the baseline (before: 0.75
    # of the line's height from the top against 0.54 for the stroke)
    assert abs(dots["middle"] - stroke["middle"]) < 0.1, (dots, stroke)
