"""Run the PayQr widget alone in a Kivy window (on the test's Xvfb display) and save what the
window shows: the payload in each language, then once more with a deadline that passes.

``python -m tests.wallet.codes.payqr_app OUT PAYLOAD``: writes ``OUT/pay_qr-<locale>.png``
and ``OUT/pay_qr-expired.png`` (each the window's own frame, read when it was drawn) and
prints one JSON object: per picture, the texts shown and the QR's place and module size.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

SIZE = (1280, 800)
LOCALES = ("en", "zh_Hans", "ko")
AMOUNT_MINOR = 12345


def main(out: Path, payload: str) -> int:
    os.environ["KIVY_HOME"] = str(out / "kivy")
    for key, value in (("KIVY_NO_ARGS", "1"), ("KIVY_NO_FILELOG", "1"),
                       ("KIVY_NO_CONFIG", "1"), ("KIVY_LOG_MODE", "PYTHON"),
                       ("KIVY_WINDOW", "sdl2"), ("KIVY_TEXT", "sdl2"),
                       ("KIVY_CLIPBOARD", "sdl2"), ("KIVY_IMAGE", "sdl2")):
        os.environ.setdefault(key, value)
    from kiosk.domain.money import Currency
    from kiosk.ui import fonts
    from kiosk.ui.fontcheck import font_texts

    cny = Currency("CNY", 156, 2)
    faces = fonts.resolve(lambda: font_texts(list(LOCALES), cny.code), [*LOCALES, cny.code],
                          out / "fonts")
    from kivy.config import Config

    Config.set("graphics", "fullscreen", "0")
    Config.set("graphics", "resizable", "0")
    Config.set("graphics", "width", str(SIZE[0]))
    Config.set("graphics", "height", str(SIZE[1]))
    from kivy.app import App
    from kivy.clock import Clock
    from kivy.core.window import Window
    from kivy.metrics import Metrics
    from kivy.uix.floatlayout import FloatLayout

    from kiosk.ui import theme
    from kiosk.ui.i18n import Translator
    from kiosk.ui.pay_qr import PayQr
    from kiosk.ui.shots import ShotWriter, read_frame, when_settled
    from kiosk.ui.widgets import register_fonts

    report: dict[str, dict] = {}
    writer = ShotWriter()

    class PayQrApp(App):
        def build(self):
            theme.configure(*SIZE, Metrics.dpi)
            register_fonts(faces)
            Window.clearcolor = theme.BG
            root = FloatLayout()
            self.pay = PayQr(size_hint=(None, None), size=(theme.px(720), theme.px(760)),
                             pos_hint={"center_x": 0.5, "center_y": 0.5})
            root.add_widget(self.pay)
            self.root_widget = root
            self.due: str | None = None
            self.steps = [*LOCALES, "expired"]
            Window.bind(on_flip=self._flip)
            return root

        def on_start(self) -> None:
            Clock.schedule_once(lambda _dt: self._next(), 0)

        def _next(self) -> None:
            if not self.steps:
                self.stop()
                return
            step = self.steps.pop(0)
            locale = "en" if step == "expired" else step
            t = Translator(locale, cny)
            if step == "expired":  # a deadline that passes: wait for the widget to say so
                self.pay.show(payload, t.money(AMOUNT_MINOR), time.monotonic() + 1.2, t)
                self.pay.bind(expired=lambda _w, v: v and self._settle(step))
                return
            self.pay.show(payload, t.money(AMOUNT_MINOR), time.monotonic() + 45, t)
            self._settle(step)

        def _settle(self, step: str) -> None:
            when_settled(lambda: [self.root_widget], lambda: self._shoot(step))

        def _shoot(self, step: str) -> None:
            self.due = step
            Window.canvas.ask_update()

        def _flip(self, *_a) -> None:
            if self.due is None:
                return
            step, self.due = self.due, None
            qr = self.pay.qr
            report[step] = {
                "title": self.pay.title.text, "amount": self.pay.amount.text,
                "countdown": self.pay.countdown.text, "module_px": qr.module_px,
                "qr_pos": list(qr._rect.pos), "qr_size": list(qr._rect.size),
                "window": list(Window.size), "expired": self.pay.expired,
                "seconds_left": self.pay.seconds_left,
                "title_overflows": self.pay.title.overflows(),
                "countdown_overflows": self.pay.countdown.overflows()}
            writer.write(out / f"pay_qr-{step}.png", read_frame(*Window.size),
                         done=lambda _p: Clock.schedule_once(lambda _dt: self._next(), 0),
                         top_down=False)

    PayQrApp().run()
    print(json.dumps(report, ensure_ascii=False))
    return 0 if len(report) == len(LOCALES) + 1 else 1


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1]), sys.argv[2]))
