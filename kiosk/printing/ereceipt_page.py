"""The e-receipt as a phone web page: server-rendered HTML, no script, in the receipt's language.

Renders a kept :class:`kiosk.domain.receipt.Receipt` (what the paper receipt says, rows and
all: the card only as brand and last 4 digits, a wallet by its name) with the store, receipt
number, date and lane at the top, and a Code 128 barcode of the receipt number (inline SVG)
for a return at the service desk. :func:`error_page` is the page for a link that opens
nothing (expired, tampered, unknown): in the link's language when it names a shipped one,
else in every shipped language. The one inline style sheet is allowed by its hash
(:data:`CSP`): the page needs nothing else.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from html import escape

from babel.dates import format_datetime

from kiosk.domain.receipt import Receipt
from kiosk.i18n import N_, html_lang, shipped_locales, translator

STYLE = """
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:#f2f2f2;color:#1a1a1a;font:16px/1.45 system-ui,-apple-system,
"Noto Sans","Noto Sans CJK SC","Noto Sans CJK KR",sans-serif}
main{max-width:480px;margin:0 auto;background:#fff;padding:20px 16px 28px;min-height:100vh}
h1{font-size:1.35rem;margin:0 0 2px}
h2{font-size:1rem;margin:22px 0 6px;padding-bottom:4px;border-bottom:2px solid #1a1a1a}
p{margin:0}
.addr{color:#4a4a4a}
.meta{display:grid;grid-template-columns:auto 1fr;gap:2px 12px;margin:14px 0 0}
.meta dt{color:#4a4a4a}.meta dd{margin:0;text-align:right;overflow-wrap:anywhere}
table{width:100%;border-collapse:collapse}
th,td{padding:5px 0;vertical-align:top;border-bottom:1px solid #d6d6d6}
th{text-align:left;font-weight:normal;overflow-wrap:anywhere;padding-right:12px}
td{text-align:right;white-space:nowrap}
.detail{display:block;color:#4a4a4a;font-size:.9rem}
tr.total th,tr.total td{font-weight:700;font-size:1.2rem;border-top:2px solid #1a1a1a}
.barcode{margin:26px 0 0;text-align:center}
.barcode svg{display:block;width:100%;height:72px}
.barcode p{letter-spacing:.08em;margin-top:4px}
.note{color:#4a4a4a;font-size:.9rem;margin-top:8px;text-align:center}
.thanks{margin-top:22px;text-align:center}
.err{padding-top:40px}.err section{margin-bottom:28px}
"""
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
#: the Content-Security-Policy every page is served with: no script, no fetch, one style
CSP = (f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; base-uri 'none';"
       " form-action 'none'; frame-ancestors 'none'")


def _doc(lang: str, title: str, body: str, main_class: str = "") -> str:
    cls = f' class="{main_class}"' if main_class else ""
    return (f'<!DOCTYPE html>\n<html lang="{escape(html_lang(lang))}">\n<head>\n'
            '<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            '<meta name="referrer" content="no-referrer">\n'
            '<meta name="color-scheme" content="light">\n'
            f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
            f"<body>\n<main{cls}>\n{body}\n</main>\n</body>\n</html>\n")


def barcode_svg(text: str, label: str) -> str:
    """Code 128 of ``text`` as an inline SVG (bars as rectangles, 10-module quiet zones)."""
    from barcode import Code128  # python-barcode: loaded by the one process that draws it

    modules = Code128(text).build()[0]
    quiet = 10
    rects, x, n = [], 0, len(modules)
    while x < n:
        if modules[x] == "1":
            start = x
            while x < n and modules[x] == "1":
                x += 1
            rects.append(f'<rect x="{start + quiet}" y="0" width="{x - start}" height="1"/>')
        else:
            x += 1
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(label)}"'
            f' viewBox="0 0 {n + 2 * quiet} 1" preserveAspectRatio="none"'
            f' shape-rendering="crispEdges"><rect width="{n + 2 * quiet}" height="1"'
            f' fill="#fff"/><g fill="#000">{"".join(rects)}</g></svg>')


def _sections(receipt: Receipt) -> list[list[tuple[str, str, list[str]]]]:
    """The receipt's rows cut at its rules ("-", "="): (left, right, detail lines) each, an
    indented row with nothing on the right being a detail of the row above."""
    sections: list[list[tuple[str, str, list[str]]]] = [[]]
    for left, right in receipt.lines:
        if left in ("-", "=") and not right:
            sections.append([])
        elif left.startswith("  ") and sections[-1]:
            last = sections[-1][-1]
            if right:
                sections[-1].append((left.strip(), right, []))
            else:
                last[2].append(left.strip())
        else:
            sections[-1].append((left, right, []))
    return [s for s in sections if s]


def _table(rows: list[tuple[str, str, list[str]]], caption: str, total: bool = False) -> str:
    out = [f'<table aria-label="{escape(caption)}">']
    for i, (left, right, details) in enumerate(rows):
        cls = ' class="total"' if total and i == 0 else ""
        extra = "".join(f'<span class="detail">{escape(d)}</span>' for d in details)
        out.append(f'<tr{cls}><th scope="row">{escape(left)}{extra}</th>'
                   f"<td>{escape(right)}</td></tr>")
    out.append("</table>")
    return "\n".join(out)


def receipt_page(receipt: Receipt) -> str:
    """The kept receipt as a page in its own language."""
    _ = translator(receipt.locale)
    header = list(receipt.header)
    store = receipt.store or (header[0] if header else "")
    address = [h for h in header if h != store]
    if receipt.issued:
        when = format_datetime(datetime.fromisoformat(receipt.issued), "medium",
                               locale=receipt.locale)
    else:
        when = receipt.footer[1] if len(receipt.footer) > 1 else ""
    body = [f'<p class="mark">{escape(m)}</p>' for m in receipt.mark[1:]]  # training
    body.append(f"<h1>{escape(store)}</h1>")
    body += [f'<p class="addr">{escape(a)}</p>' for a in address]
    meta = [(_("Receipt number"), receipt.txn), (_("Date"), when), (_("Lane"), receipt.lane)]
    body.append('<dl class="meta">' + "".join(
        f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in meta if v) + "</dl>")
    sections = _sections(receipt)
    if sections:
        body.append(f'<h2 id="items">{escape(_("Items"))}</h2>')
        body.append(_table(sections[0], _("Items")))
    if len(sections) > 1:
        body.append(f'<h2 id="payment">{escape(_("Payment"))}</h2>')
        for i, rows in enumerate(sections[1:]):
            body.append(_table(rows, _("Payment"), total=i == len(sections) - 2))
    label = _("Barcode of receipt number {txn}").format(txn=receipt.txn)
    body.append(f'<div class="barcode">{barcode_svg(receipt.txn, label)}'
                f"<p>{escape(receipt.txn)}</p></div>")
    note = _("For a return or exchange, show this barcode at the service desk.")
    body.append(f'<p class="note">{escape(note)}</p>')
    # the domain's footer is [transaction, time, thanks…]: the first two are shown above
    body += [f'<p class="thanks">{escape(line)}</p>' for line in receipt.footer[2:]]
    title = _("Your receipt")
    return _doc(receipt.locale, f"{title} · {store}", "\n".join(body))


#: reason → (HTTP status, title msgid)
ERRORS = {
    "expired": (410, N_("This receipt link has expired")),
    "tampered": (403, N_("This receipt link is not valid")),
    "malformed": (404, N_("This receipt link is not valid")),
    "unknown": (404, N_("Receipt not found")),
    "error": (500, N_("The receipt cannot be shown right now")),
}
_ORDER = ("en", "zh_Hans", "ko")  # the link's language unreadable: every one, in this order
_HELP = N_("Please ask at the service desk for a copy of your receipt.")


def error_page(reason: str, lang: str = "") -> tuple[int, str]:
    """(status, page) for a link that opens no receipt, in ``lang`` when it is a shipped
    catalog, else in every shipped one (English first)."""
    status, title = ERRORS.get(reason, ERRORS["malformed"])
    shipped = shipped_locales()
    langs = [lang] if lang in shipped else sorted(
        shipped, key=lambda lc: (lc not in _ORDER, _ORDER.index(lc) if lc in _ORDER else 0, lc))
    parts = []
    for lc in langs:
        _ = translator(lc)
        heading = "h1" if lc == langs[0] else "h2"
        parts.append(f'<section lang="{escape(html_lang(lc))}"><{heading}>{escape(_(title))}'
                     f"</{heading}><p>{escape(_(_HELP))}</p></section>")
    return status, _doc(langs[0], translator(langs[0])(title), "\n".join(parts), "err")
