"""The dashboard's HTML: server-rendered, no script, one inline style sheet allowed by its
hash (:data:`CSP`), in the manager's language (en, zh_Hans, ko: the kiosk's gettext
catalogs). A page is a list of :class:`Table` (the same rows give the HTML table and its
CSV export) and SVG charts (:mod:`.charts`)."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import io
from dataclasses import dataclass, field
from html import escape
from urllib.parse import urlencode

from babel.dates import format_date, format_interval

from kiosk.i18n import N_, html_lang, translator

STYLE = """
*{box-sizing:border-box}
body{margin:0;background:#f4f5f7;color:#1a1a1a;font:15px/1.45 system-ui,"Noto Sans",
"Noto Sans CJK SC","Noto Sans CJK KR",sans-serif}
header{background:#14365d;color:#fff;padding:10px 20px;display:flex;flex-wrap:wrap;
gap:8px 20px;align-items:center}
header a{color:#fff}header h1{font-size:1.15rem;margin:0}
nav ul{list-style:none;display:flex;flex-wrap:wrap;gap:4px 14px;margin:0;padding:0}
nav a[aria-current]{font-weight:700}
.who{margin-left:auto;display:flex;gap:10px;align-items:center;flex-wrap:wrap}
.who button{font:inherit;padding:3px 10px}
main{padding:16px 20px;max-width:1180px;margin:0 auto}
h2{font-size:1.1rem;margin:22px 0 8px}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(180px,1fr));gap:12px;margin:0}
.kpis div{background:#fff;border:1px solid #d0d4da;border-radius:6px;padding:10px 14px}
.kpis dt{color:#444}.kpis dd{margin:2px 0 0;font-size:1.5rem;font-weight:700}
section{background:#fff;border:1px solid #d0d4da;border-radius:6px;padding:4px 14px 12px;
margin-top:14px;overflow-x:auto}
table{border-collapse:collapse;width:100%}
caption{text-align:left;font-weight:700;padding:8px 0}
th,td{padding:4px 8px;border-bottom:1px solid #e2e4e8;text-align:left;white-space:nowrap}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
th{white-space:normal;vertical-align:bottom}th:lang(ko){word-break:keep-all}
.csv{font-size:.9rem}
.chart{width:100%;height:auto;max-height:300px}
.langs{display:flex;gap:8px}
form.pick{display:flex;flex-wrap:wrap;gap:8px;align-items:end;margin:6px 0}
form.pick label{display:flex;flex-direction:column;font-size:.9rem}
form.pick input,form.pick select,form.pick button{font:inherit;padding:3px 6px}
.login{max-width:380px;margin:60px auto;background:#fff;border:1px solid #d0d4da;
border-radius:6px;padding:20px 24px}
.login label{display:block;margin:12px 0 4px}.login input{width:100%;font:inherit;padding:6px}
.login button{margin-top:16px;font:inherit;padding:6px 18px}
.error{color:#a40000;font-weight:700}
section.wrap th,section.wrap td{white-space:normal}
#forecast th{white-space:normal;word-break:keep-all;vertical-align:bottom}
"""
_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
#: every dashboard page's Content-Security-Policy: no script at all, one style, forms to itself
CSP = (f"default-src 'none'; style-src 'sha256-{_HASH}'; img-src 'self'; base-uri 'none';"
       " form-action 'self'; frame-ancestors 'none'")

PAGES = {"today": N_("Today"), "sales": N_("Sales over time"), "items": N_("Items"),
         "checkout": N_("Checkout and problems"),
         "forecast": N_("Forecast and reorder")}
PAGES["fleet"] = N_("Lane health")  # from Prometheus, not the database: .fleet's own route
#: pages of the lanes as they are now: no date range to pick
LIVE_PAGES = frozenset({"fleet"})
LANGS = {"en": "English", "zh_Hans": "简体中文", "ko": "한국어"}


#: the page furniture's words (marked here: a string inside an f-string is not extracted)
LABELS = (N_("All stores"), N_("Back"), N_("From"), N_("To"), N_("Download CSV"),
          N_("No sales"),
          N_("Pages"), N_("Password"), N_("Show"), N_("Sign in"), N_("Sign out"), N_("Store"),
          N_("Store dashboard"), N_("User name"))


def labels(locale: str) -> dict[str, str]:
    """LABELS in ``locale``, HTML-escaped."""
    tr = translator(locale)
    return {s: escape(tr(s)) for s in LABELS}


@dataclass
class Table:
    """One table of a page: its id (the CSV's name), caption, columns and rows. ``rows`` are
    the raw values (the CSV); ``shown`` the same rows as the page prints them."""

    id: str
    caption: str
    columns: list[str]
    rows: list[list[object]]
    shown: list[list[str]] = field(default_factory=list)
    numeric: set[int] = field(default_factory=set)

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(self.columns)
        writer.writerows(self.rows)
        return out.getvalue()


def document(locale: str, title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="{html_lang(locale)}">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            '<meta name="referrer" content="same-origin">\n'
            f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            f"{body}\n</body>\n</html>\n")


def login_page(locale: str, csrf: str, error: str = "", username: str = "") -> str:
    tr, L = translator(locale), labels(locale)
    err = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    langs = " ".join(f'<a href="/dash/login?lang={code}" lang="{html_lang(code)}">{name}</a>'
                     for code, name in LANGS.items())
    body = (f'<main class="login"><h1>{L["Store dashboard"]}</h1>'
            f'<p class="langs">{langs}</p>{err}'
            f'<form method="post" action="/dash/login?lang={locale}">'
            f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
            f'<label for="username">{L["User name"]}</label>'
            f'<input id="username" name="username" autocomplete="username" required'
            f' value="{escape(username)}">'
            f'<label for="password">{L["Password"]}</label>'
            f'<input id="password" name="password" type="password"'
            f' autocomplete="current-password" required>'
            f'<button type="submit">{L["Sign in"]}</button></form></main>')
    return document(locale, tr("Store dashboard"), body)


def message_page(locale: str, text: str) -> str:
    tr, L = translator(locale), labels(locale)
    return document(locale, tr("Store dashboard"),
                    f'<main class="login"><h1>{L["Store dashboard"]}</h1>'
                    f'<p class="error">{escape(text)}</p>'
                    f'<p><a href="/dash/?lang={locale}">{L["Back"]}</a></p></main>')


def table_html(table: Table, csv_href: str, locale: str) -> str:
    L = labels(locale)
    head = "".join(f'<th scope="col"{" class=n" if i in table.numeric else ""}>{escape(c)}</th>'
                   for i, c in enumerate(table.columns))
    body = "".join("<tr>" + "".join(
        f'<td{" class=n" if i in table.numeric else ""}>{escape(v)}</td>'
        for i, v in enumerate(row)) + "</tr>" for row in table.shown)
    if not table.shown:
        body = f'<tr><td colspan="{len(table.columns)}">{L["No sales"]}</td></tr>'
    return (f'<table id="{table.id}"><caption>{escape(table.caption)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            f'<p class="csv"><a href="{escape(csv_href)}">'
            f'{L["Download CSV"]}: {escape(table.caption)}</a></p>')


@dataclass
class Frame:
    """What every dashboard page shows around its content."""

    locale: str
    page: str             # a key of PAGES
    scope: str | None     # store code, None: the chain
    stores: list[str]     # the stores this user may pick ([] for a manager)
    username: str
    csrf: str
    first: dt.date        # the days shown, [first, last]
    last: dt.date
    query: dict[str, str]

    def base(self) -> str:
        return f"/dash/store/{self.scope}" if self.scope else "/dash/chain"

    def href(self, page: str, suffix: str = "", **extra: str) -> str:
        return f"{self.base()}/{page}{suffix}?" + urlencode({**self.query, **extra})


def page(frame: Frame, title: str, content: list[str]) -> str:
    tr, L = translator(frame.locale), labels(frame.locale)
    where = frame.scope or tr("All stores")
    nav = "".join(
        f'<li><a href="{escape(frame.href(key))}"'
        f'{" aria-current=page" if key == frame.page else ""}>{escape(tr(label))}</a></li>'
        for key, label in PAGES.items())
    langs = "".join(
        f'<a href="{escape(frame.href(frame.page, lang=code))}" lang="{html_lang(code)}"'
        f' hreflang="{html_lang(code)}">{name}</a>' for code, name in LANGS.items())
    pick = ""
    if frame.stores:
        options = [f'<option value=""{" selected" if frame.scope is None else ""}>'
                   f'{L["All stores"]}</option>'] + [
            f'<option value="{escape(c)}"{" selected" if c == frame.scope else ""}>'
            f"{escape(c)}</option>" for c in frame.stores]
        pick = (f'<label>{L["Store"]}'
                f'<select name="store">{"".join(options)}</select></label>')
    dates = "" if frame.page in LIVE_PAGES else (
        f'<label>{L["From"]} <input type="date" name="from"'
        f' value="{frame.first.isoformat()}"></label>'
        f'<label>{L["To"]} <input type="date" name="to"'
        f' value="{frame.last.isoformat()}"></label>')
    picker = (f'<form class="pick" method="get" action="/dash/go">'
              f'<input type="hidden" name="page" value="{frame.page}">'
              f'<input type="hidden" name="lang" value="{frame.locale}">'
              f'<input type="hidden" name="here" value="{escape(frame.scope or "")}">'
              f"{dates}{pick}"
              f'<button type="submit">{L["Show"]}</button></form>')
    header = (f'<header><h1>{L["Store dashboard"]}: {escape(where)}</h1>'
              f'<nav aria-label="{L["Pages"]}"><ul>{nav}</ul></nav>'
              f'<div class="who"><span class="langs">{langs}</span>'
              f"<span>{escape(frame.username)}</span>"
              f'<form method="post" action="/dash/logout">'
              f'<input type="hidden" name="csrf" value="{escape(frame.csrf)}">'
              f'<button type="submit">{L["Sign out"]}</button></form></div></header>')
    day = (format_date(frame.last, "full", locale=frame.locale) if frame.first == frame.last
           else format_interval(frame.first, frame.last, "yMMMEd", locale=frame.locale))
    heading = (escape(title) if frame.page in LIVE_PAGES
               else f"{escape(title)} · {escape(day)} (UTC)")
    body = (f"{header}<main><h2>{heading}</h2>{picker}"
            + "".join(content) + "</main>")
    return document(frame.locale, f"{title} · {where}", body)
