"""Look of the shopper UI: colours, type scale and sizes (no Kivy import).

High contrast on a light background: near-black text on white cards, white
text on the strong state colours. The header carries the tower light's colour
(kiosk.bus.light.light_for: green normal, amber staff attention, red out of
service), so shopper and staff read the same signal on screen and on the pole;
blue marks the payment choices.
Sizes are design pixels for a 1280 × 800 screen, scaled to the real window;
touch targets never go below 9 mm.
"""

from __future__ import annotations


def rgb(hex_colour: str, alpha: float = 1.0) -> tuple[float, float, float, float]:
    h = hex_colour.lstrip("#")
    return (int(h[0:2], 16) / 255, int(h[2:4], 16) / 255, int(h[4:6], 16) / 255, alpha)


BG = rgb("#EEF1F5")
CARD = rgb("#FFFFFF")
INK = rgb("#101828")        # body text: 17:1 on white
MUTED = rgb("#475467")      # secondary text: 7.7:1 on white
LINE = rgb("#D0D5DD")
WHITE = rgb("#FFFFFF")
GREEN = rgb("#12733A")      # 6:1 with white text
GREEN_PALE = rgb("#E3F4EA")
AMBER = rgb("#F5B301")      # with INK text (10:1)
AMBER_PALE = rgb("#FFF4D1")
BLUE = rgb("#1849A9")       # 8:1 with white text
BLUE_PALE = rgb("#E3ECFB")
RED = rgb("#B42318")        # 6.5:1 with white text
RED_PALE = rgb("#FDE8E6")
GREY = rgb("#667085")
DISABLED = rgb("#C9CED6")
SCRIM = rgb("#101828", 0.62)
DEMO_BG = rgb("#1D2939")
DEMO_TILE = rgb("#344054")

#: light colour → (header background, header text)
LIGHT = {
    "green": (GREEN, WHITE), "amber": (AMBER, INK), "blue": (BLUE, WHITE),
    "red": (RED, WHITE), "off": (rgb("#344054"), WHITE),
}
PALE = {"green": GREEN_PALE, "amber": AMBER_PALE, "blue": BLUE_PALE, "red": RED_PALE,
        "off": BG}

DESIGN_W, DESIGN_H = 1280, 800
#: type scale (design px). Few sizes on purpose: SDL2_ttf opens one FreeType face per
#: font file and size, and a Noto CJK face costs ~2.3 MB, so xs shares s's size; bold
#: is used from m up only (buttons, names, titles, the total).
FONT = {"xs": 22, "s": 22, "m": 26, "l": 32, "xl": 44, "xxl": 56, "huge": 80}
HEADER_H = 88
ROW_H = 88
BUTTON_H = 80
BIG_BUTTON_H = 104
PAD = 20
RADIUS = 14
MIN_TOUCH_MM = 9.0
DEMO_H = 168

_scale = 1.0
_min_touch_px = 34.0


def configure(width: int, height: int, dpi: float) -> None:
    """Scale design pixels to a ``width`` × ``height`` window at ``dpi``."""
    global _scale, _min_touch_px
    _scale = min(width / DESIGN_W, height / DESIGN_H)
    _min_touch_px = MIN_TOUCH_MM / 25.4 * dpi


def px(value: float) -> float:
    """Design pixels → window pixels."""
    return round(value * _scale)


def touch(value: float) -> float:
    """A touch-target dimension: design pixels, but never under 9 mm."""
    return max(px(value), _min_touch_px)


def font(size: str) -> float:
    return px(FONT[size])


def smaller(size: float) -> float | None:
    """The next smaller size of the type scale, or None at the bottom."""
    below = [font(k) for k in FONT if font(k) < size]
    return max(below) if below else None


def min_touch_px() -> float:
    return _min_touch_px
