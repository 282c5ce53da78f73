"""The dashboard's routes (mounted on the back office's app, kiosk/backoffice/app.py):

* ``GET /dash/login``, ``POST /dash/login`` (form: csrf, username, password), ``POST
  /dash/logout`` (form: csrf). The sign-in form's CSRF is a double-submit cookie; a signed-in
  POST carries its session's token. 303 to the user's home on success; a wrong password
  401, too many 429 (:mod:`.accounts`).
* ``GET /dash/`` → the user's home (a manager's store, a chain admin's chain view).
* ``GET /dash/store/{store}/{page}``, ``GET /dash/chain/{page}`` (page: today, sales, items,
  checkout; ``?from=YYYY-MM-DD&to=YYYY-MM-DD&lang=``, at most :data:`reports.MAX_DAYS` days;
  without ``from`` the page's default range (:data:`DEFAULT_DAYS`) ending at ``to``, or at
  ``day``, the older one-day parameter, or today); ``.../{page}.csv?table=ID``: one table as
  CSV over the same range. A malformed, reversed or too long range: 400. Not signed in:
  303 to the log-in page; a store (or the chain view) the role may not see: 403.

Cookies: ``kb_session`` (HttpOnly, SameSite=Strict, Secure over HTTPS), ``kb_csrf`` (the
sign-in form's). Every answer is ``no-store`` with the pages' CSP.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode

from babel.dates import format_date, format_datetime
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from kiosk.backoffice.web import accounts, charts, forecast_page, reports
from kiosk.backoffice.web.pages import (
    CSP,
    PAGES,
    Frame,
    Table,
    login_page,
    message_page,
    page,
    table_html,
)
from kiosk.domain.feedback import RATING_LABELS, REASON_LABELS
from kiosk.domain.money import Currency, format_money
from kiosk.i18n import N_, page_locale, translator

COOKIE, LOGIN_CSRF = "kb_session", "kb_csrf"
MAX_FORM = 8192
HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-store",
           "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
ITEMS_SHOWN = 10
#: a payment method's id (``auth_requested.method``) as the lane's button names it: the
#: msgids of kiosk.payments' ``label``s (card_method.py, wallet/method.py), not imported
#: here (the back office does not load the lane's payment stack)
METHOD_LABELS = {"card": N_("Card"), "qr": N_("Mobile QR")}


def _locale(request: Request) -> str:
    return page_locale(request.query_params.get("lang") or "",
                       request.headers.get("accept-language", ""))


def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers=HEADERS)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


async def _form(request: Request) -> dict[str, str]:
    """An urlencoded form (small; the first value of each field)."""
    body = await request.body()
    if len(body) > MAX_FORM:
        return {}
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


def _same_origin(request: Request) -> bool:
    """A POST whose Origin (when the browser sends one) is this server. The pages' referrer
    policy is ``same-origin``, not ``no-referrer``: under the latter a browser sends
    ``Origin: null`` with a form POST, and the check could not tell it from a forgery."""
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.url.netloc}"


async def login_form(request: Request) -> Response:
    locale = _locale(request)
    token = request.cookies.get(LOGIN_CSRF) or secrets.token_urlsafe(32)
    response = _html(login_page(locale, token))
    response.set_cookie(LOGIN_CSRF, token, httponly=True, samesite="strict",
                        secure=_secure(request), path="/dash")
    return response


async def login(request: Request) -> Response:
    locale = _locale(request)
    tr = translator(locale)
    form = await _form(request)
    token = request.cookies.get(LOGIN_CSRF, "")
    if (not token or not secrets.compare_digest(form.get("csrf", ""), token)
            or not _same_origin(request)):
        return _html(message_page(locale, tr("This form has expired: open the page again.")),
                     403)
    username, password = form.get("username", "").strip(), form.get("password", "")
    client = request.client.host if request.client else "-"
    async with request.app.state.pool.connection() as conn:
        try:
            made = await accounts.sign_in(conn, username, password, client)
        except accounts.RateLimited:
            return _html(login_page(locale, token, tr("Too many failed attempts: wait a few"
                                                      " minutes and try again."), username), 429)
    if made is None:
        return _html(login_page(locale, token, tr("Wrong user name or password."), username),
                     401)
    cookie, session = made
    response = RedirectResponse(f"/dash/?lang={locale}", status_code=303, headers=HEADERS)
    response.set_cookie(COOKIE, cookie, httponly=True, samesite="strict",
                        secure=_secure(request), path="/dash", max_age=accounts.ABSOLUTE_S)
    return response


async def logout(request: Request) -> Response:
    locale = _locale(request)
    form = await _form(request)
    cookie = request.cookies.get(COOKIE)
    async with request.app.state.pool.connection() as conn:
        session = await accounts.session_of(conn, cookie)
        if session is None or not secrets.compare_digest(form.get("csrf", ""), session.csrf):
            return _html(message_page(locale, translator(locale)("Not allowed.")), 403)
        await accounts.sign_out(conn, cookie or "")
    response = RedirectResponse(f"/dash/login?lang={locale}", status_code=303, headers=HEADERS)
    response.delete_cookie(COOKIE, path="/dash")
    return response


async def _session(request: Request, conn: Any) -> accounts.Session | None:
    return await accounts.session_of(conn, request.cookies.get(COOKIE))


def _to_login(request: Request) -> Response:
    return RedirectResponse(f"/dash/login?lang={_locale(request)}", status_code=303,
                            headers=HEADERS)


async def home(request: Request) -> Response:
    async with request.app.state.pool.connection() as conn:
        session = await _session(request, conn)
    if session is None:
        return _to_login(request)
    base = f"/dash/store/{session.user.store}" if session.user.store else "/dash/chain"
    return RedirectResponse(f"{base}/today?lang={_locale(request)}", status_code=303,
                            headers=HEADERS)


async def go(request: Request) -> Response:
    """The page/day/store picker's GET form, as a redirect to the page it names."""
    q = request.query_params
    store = q.get("store", q.get("here", ""))
    name = q.get("page", "today") if q.get("page") in PAGES else "today"
    base = f"/dash/store/{store}" if store else "/dash/chain"
    query = {"lang": _locale(request)}
    for key in ("from", "to", "day"):
        if q.get(key):
            query[key] = q[key]
    return RedirectResponse(f"{base}/{name}?{urlencode(query)}", status_code=303,
                            headers=HEADERS)


#: the days a page covers when the query names no ``from`` (the others: 7, ending at ``to``)
DEFAULT_DAYS = {"today": 1}
#: a date the pages accept (comparisons reach weeks back: a far date would overflow date
#: arithmetic, a 500)
EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2999, 12, 31)


class BadRange(ValueError):
    """A query's date range the pages refuse (400); ``str()`` is the msgid to show."""


def _date(text: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise BadRange(N_("Dates must be written like 2026-12-07.")) from None
    if not EARLIEST <= day <= LATEST or len(text) != 10:
        raise BadRange(N_("Dates must be written like 2026-12-07."))
    return day


def date_range(request: Request, page: str) -> tuple[dt.date, dt.date]:
    """The [first, last] days a page or CSV covers: ``from`` and ``to`` (or ``day``, the
    older one-day parameter); without ``from``, the page's default length ending at ``to``
    (today when neither is given). BadRange when malformed, reversed or too long."""
    q = request.query_params
    end = q.get("to") or q.get("day")
    last = _date(end) if end else dt.datetime.now(dt.UTC).date()
    start = q.get("from")
    first = (_date(start) if start
             else max(EARLIEST, last - dt.timedelta(days=DEFAULT_DAYS.get(page, 7) - 1)))
    if first > last:
        raise BadRange(N_("The first day must not be after the last."))
    if (last - first).days + 1 > reports.MAX_DAYS:
        raise BadRange(N_("A range may cover at most {days} days."))
    return first, last


async def viewer(request: Request, conn: Any, store: str | None, locale: str
                 ) -> tuple[accounts.Session, list[int] | None, list[str]] | Response:
    """Who looks at ``store`` (None: the chain): their session, the store ids in scope and
    the stores they may pick; or the answer instead (sign-in, 403 not theirs, 404 none)."""
    tr = translator(locale)
    session = await _session(request, conn)
    if session is None:
        return _to_login(request)
    if not session.user.may_see(store):
        return _html(message_page(locale, tr("Not allowed.")), 403)
    ids = await reports.store_ids(conn, store)
    if ids == []:
        return _html(message_page(locale, tr("No such store.")), 404)
    stores = await reports.store_codes(conn) if session.user.role == "chain_admin" else []
    return session, ids, stores


async def dashboard(request: Request) -> Response:
    locale = _locale(request)
    tr = translator(locale)
    store = request.path_params.get("store")
    name, _, ext = request.path_params["page"].partition(".")
    if name not in PAGES or ext not in ("", "csv"):
        return _html(message_page(locale, tr("No such page.")), 404)
    try:
        first, last = date_range(request, name)
    except BadRange as exc:
        return _html(message_page(locale, tr(str(exc)).format(days=reports.MAX_DAYS)), 400)
    async with request.app.state.pool.connection() as conn:
        seen = await viewer(request, conn, store, locale)
        if isinstance(seen, Response):
            return seen
        session, ids, stores = seen
        if name == "forecast":  # its own connection, in a worker thread; as of the last day
            tables, charts_ = await forecast_page.build(
                request.app.state.pool.conninfo, store, last, locale,
                request.query_params.get("item"))
        else:
            tables, charts_ = await BUILDERS[name](conn, ids, first, last, locale,
                                                   request.app.state.currency)
    if ext == "csv":
        wanted = request.query_params.get("table")
        table = next((t for t in tables if t.id == wanted), None)
        if table is None:
            return _html(message_page(locale, tr("No such table.")), 404)
        filename = (f"{store or 'chain'}-{name}-{table.id}-{first.isoformat()}"
                    f"_{last.isoformat()}.csv")
        return Response(table.csv(), media_type="text/csv; charset=utf-8", headers={
            **HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'})
    query = {"lang": locale, "to": last.isoformat()}
    if request.query_params.get("from"):  # a range chosen follows the manager to each page
        query["from"] = first.isoformat()
    frame = Frame(locale, name, store, stores, session.user.username, session.csrf, first,
                  last, query)
    content = []
    for item in charts_ + tables:
        if isinstance(item, Table):
            href = frame.href(name, ".csv", table=item.id)
            content.append(f"<section>{table_html(item, href, locale)}</section>")
        else:
            content.append(item)
    return _html(page(frame, tr(PAGES[name]), content))


def _money(currency: Currency, locale: str):  # type: ignore[no-untyped-def]
    return lambda minor: format_money(int(minor), currency, locale)


def _number(value: int, locale: str) -> str:
    from babel.numbers import format_decimal

    return format_decimal(value, locale=locale)


async def _today(conn: Any, ids: list[int] | None, first: dt.date, last: dt.date,
                 locale: str, currency: Currency) -> tuple[list[Table], list[str]]:
    tr, money = translator(locale), _money(currency, locale)
    g = await reports.glance(conn, ids, first, last)
    kpis = [(tr("Sales"), _number(g.sales, locale), "sales"),
            (tr("Takings"), money(g.amount), "amount"),
            (tr("Average basket"), money(g.average), "average")]
    glance = Table("glance", tr("Today at a glance") if first == last else tr("At a glance"),
                   [tr("Figure"), tr("Value")],
                   [["sales", g.sales], ["amount_minor", g.amount], ["average_minor", g.average]])
    dl = ('<dl class="kpis">' + "".join(
        f'<div><dt>{k}</dt><dd data-key="{key}">{v}</dd></div>' for k, v, key in kpis) + "</dl>")
    mix = await reports.payment_mix(conn, ids, first, last)
    mix_t = Table("payment_mix", tr("Payment mix"),
                  [tr("Method"), tr("Card brand"), tr("Sales"), tr("Amount")],
                  [list(r) for r in mix], numeric={2, 3})
    mix_t.shown = [[tr(METHOD_LABELS.get(m, m)), b, _number(n, locale), money(a)]
                   for m, b, n, a in mix]
    hours = await reports.by_hour(conn, ids, first, last)
    hour_t = _hour_table(hours, locale, currency)
    now, then = _periods(tr, first, last)
    chart = charts.bars(tr("Takings by hour"), [f"{h:02d}" for h, *_ in hours],
                        [(now, [a / 10**currency.exponent for _, _, a, _, _ in hours]),
                         (then, [a / 10**currency.exponent for *_, a in hours])])
    lanes = await reports.lanes(conn, ids)
    lane_t = Table("lanes", tr("Lanes"), [tr("Store"), tr("Lane"), tr("Events held"),
                                          tr("Last event"), tr("Last sync")],
                   [[s, ln, n, ts or "", str(sync)] for s, ln, n, ts, sync in lanes],
                   numeric={2})
    lane_t.shown = [[s, ln, _number(n, locale),
                     format_datetime(dt.datetime.fromtimestamp(ts, dt.UTC), "short",
                                     tzinfo=dt.UTC, locale=locale) if ts else "",
                     format_datetime(sync, "short", tzinfo=dt.UTC, locale=locale)]
                    for s, ln, n, ts, sync in lanes]
    glance.shown = [[k, v] for k, v, _ in kpis]
    return [glance, mix_t, hour_t, lane_t], [dl, f"<section>{chart}</section>"]


def _periods(tr, first: dt.date, last: dt.date) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """The chart legend's names of a range and the one it is compared with."""
    if first == last:
        return tr("This day"), tr("Same day last week")
    if (last - first).days == 6:
        return tr("These 7 days"), tr("The week before")
    return tr("This period"), tr("Same weekdays before")


def _hour_table(hours: list[tuple[int, int, int, int, int]], locale: str,
                currency: Currency) -> Table:
    tr, money = translator(locale), _money(currency, locale)
    table = Table("by_hour", tr("Sales by hour"),
                  [tr("Hour"), tr("Sales"), tr("Takings"), tr("Sales before"),
                   tr("Takings before")], [list(r) for r in hours], numeric={1, 2, 3, 4})
    table.shown = [[f"{h:02d}:00", _number(n, locale), money(a), _number(n0, locale), money(a0)]
                   for h, n, a, n0, a0 in hours]
    return table


async def _sales(conn: Any, ids: list[int] | None, first: dt.date, last: dt.date,
                 locale: str, currency: Currency) -> tuple[list[Table], list[str]]:
    tr, money = translator(locale), _money(currency, locale)
    days = await reports.by_day(conn, ids, first, last)
    day_t = Table("by_day", tr("Sales by day"),
                  [tr("Day"), tr("Sales"), tr("Takings"), tr("Sales before"),
                   tr("Takings before")],
                  [[d.isoformat(), n, a, n0, a0] for d, n, a, n0, a0 in days],
                  numeric={1, 2, 3, 4})
    day_t.shown = [[format_date(d, "EEE d MMM" if locale == "en" else "medium", locale=locale),
                    _number(n, locale), money(a), _number(n0, locale), money(a0)]
                   for d, n, a, n0, a0 in days]
    labels = [format_date(d, "E" if len(days) <= 7 else "d/M" if locale == "en" else "M/d",
                          locale=locale) for d, *_ in days]
    unit = 10**currency.exponent
    now, then = _periods(tr, first, last)
    chart = charts.bars(tr("Takings by day"), labels,
                        [(now, [a / unit for _, _, a, _, _ in days]),
                         (then, [a / unit for *_, a in days])])
    hour_t = _hour_table(await reports.by_hour(conn, ids, first, last), locale, currency)
    return [day_t, hour_t], [f"<section>{chart}</section>"]


async def _items(conn: Any, ids: list[int] | None, first: dt.date, last: dt.date,
                 locale: str, currency: Currency) -> tuple[list[Table], list[str]]:
    tr, money = translator(locale), _money(currency, locale)
    sold = await reports.items(conn, ids, first, last)
    cols = [tr("Item"), tr("Code"), tr("Quantity"), tr("Takings")]

    def table(id_: str, caption: str, rows: list[tuple[str, dict, int, int]]) -> Table:
        t = Table(id_, caption, cols, [[n.get(locale) or n.get("en") or k, k, q, a]
                                       for k, n, q, a in rows], numeric={2, 3})
        t.shown = [[r[0], r[1], _number(r[2], locale), money(r[3])] for r in t.rows]
        return t

    top = sold[:ITEMS_SHOWN]
    bottom = list(reversed(sold[-ITEMS_SHOWN:]))
    effects = await reports.promotions(conn, ids, first, last, currency)
    promo_t = Table("promotions", tr("Promotions"),
                    [tr("Promotion"), tr("Code"), tr("Baskets"), tr("Units sold"),
                     tr("Given away"), tr("Baskets before"), tr("Units sold before"),
                     tr("Given away before")],
                    [[e.names.get(locale) or e.names.get("en") or e.id, e.id, e.baskets,
                      e.units, e.given, e.baskets_before, e.units_before, e.given_before]
                     for e in effects], numeric={2, 3, 4, 5, 6, 7})
    promo_t.shown = [[r[0], r[1], _number(r[2], locale), _number(r[3], locale), money(r[4]),
                      _number(r[5], locale), _number(r[6], locale), money(r[7])]
                     for r in promo_t.rows]
    return [table("top_items", tr("Best sellers"), top),
            table("bottom_items", tr("Slowest sellers"), bottom),
            promo_t, table("all_items", tr("Every item sold"), sold)], []


#: the journal's codes of the checkout page, as the manager reads them
CODES = {
    "declined": N_("Declined"), "failed": N_("No answer from the bank"),
    "reversal": N_("Reversal"), "ok": N_("Done"),
    "help": N_("Help asked"), "age_check": N_("Age check"),
    "unknown_item": N_("Unknown barcode"), "void": N_("Line voided by staff"),
    "unexpected_item": N_("Unexpected item in the bagging area"),
    "missing_item": N_("Item not bagged"), "removed_item": N_("Item taken from the bag"),
    "cancel": N_("Cancelled by the shopper"), "staff": N_("Cancelled by staff"),
    "idle": N_("Left idle"), "basket": N_("While scanning"), "payment": N_("While paying"),
    "card_declined": N_("Card declined"),
}


def _code(tr, code: str) -> str:  # type: ignore[no-untyped-def]
    return tr(CODES[code]) if code in CODES else code


async def _checkout(conn: Any, ids: list[int] | None, first: dt.date, last: dt.date,
                    locale: str, currency: Currency) -> tuple[list[Table], list[str]]:
    tr = translator(locale)
    n, median, p90 = await reports.checkout_times(conn, ids, first, last)
    times = Table("checkout_time", tr("Time from first scan to payment"),
                  [tr("Figure"), tr("Value")],
                  [["baskets", n], ["median_s", round(median or 0, 1)],
                   ["p90_s", round(p90 or 0, 1)]])
    secs = tr("{seconds} s")
    times.shown = [[tr("Baskets paid"), _number(n, locale)],
                   [tr("Median"), secs.format(seconds=f"{median or 0:.0f}")],
                   [tr("9 in 10 within"), secs.format(seconds=f"{p90 or 0:.0f}")]]
    probs = await reports.problems(conn, ids, first, last)
    prob_t = Table("declines", tr("Declines and reversals"),
                   [tr("Kind"), tr("Reason"), tr("Count")], [list(r) for r in probs],
                   numeric={2})
    prob_t.shown = [[_code(tr, k), _code(tr, r), _number(c, locale)] for k, r, c in probs]
    inter = await reports.interventions(conn, ids, first, last)
    inter_t = Table("interventions", tr("Attendant interventions"),
                    [tr("Cause"), tr("Count"), tr("Median time to serve")],
                    [[c, k, "" if w is None else round(w, 1)] for c, k, w in inter],
                    numeric={1, 2})
    inter_t.shown = [[_code(tr, c), _number(k, locale),
                      "" if w is None else secs.format(seconds=f"{w:.0f}")]
                     for c, k, w in inter]
    gone = await reports.abandoned(conn, ids, first, last)
    gone_t = Table("abandoned", tr("Abandoned baskets"),
                   [tr("Reason"), tr("Step"), tr("Count")], [list(r) for r in gone],
                   numeric={2})
    gone_t.shown = [[_code(tr, r), _code(tr, st), _number(c, locale)] for r, st, c in gone]
    return [times, prob_t, inter_t, gone_t, await _channel_table(conn, ids, first, last, tr,
                                                                 locale),
            *await _rating_tables(conn, ids, first, last, tr, locale)], []


async def _channel_table(conn: Any, ids: list[int] | None, first: dt.date, last: dt.date,
                         tr: Any, locale: str) -> Table:
    """Voice and accessible-mode use: how the finished baskets were driven (issue 18)."""
    figures = await reports.channels(conn, ids, first, last)
    keys = ("baskets", "voice", "keys", "touch_only", "not_recorded")
    table = Table("channels", tr("How shoppers checked out"), [tr("Figure"), tr("Baskets")],
                  [[k, n] for k, n in zip(keys, figures, strict=True)], numeric={1})
    labels = (tr("Baskets finished"), tr("Used voice"),
              tr("Used the tactile keys (accessible mode)"), tr("Touch only"),
              tr("Not recorded"))
    table.shown = [[label, _number(n, locale)] for label, n in zip(labels, figures, strict=True)]
    return table


async def _rating_tables(conn: Any, ids: list[int] | None, first: dt.date, last: dt.date,
                         tr: Any, locale: str) -> list[Table]:
    """Shopper feedback beside the abandonment figures: ratings, and what went wrong."""
    given, why = await reports.ratings(conn, ids, first, last)
    rated = Table("ratings", tr("Shopper ratings after the receipt"),
                  [tr("Rating"), tr("Count"), tr("Median, first scan to receipt")],
                  [[g, n, "" if s is None else round(s, 1)] for g, n, s in given],
                  numeric={1, 2})
    secs = tr("{seconds} s")
    rated.shown = [[tr(RATING_LABELS[g]) if g in RATING_LABELS else str(g), _number(n, locale),
                    "" if s is None else secs.format(seconds=f"{s:.0f}")] for g, n, s in given]
    reasons = Table("rating_reasons", tr("What went wrong"),
                    [tr("Reason"), tr("Count")], [list(r) for r in why], numeric={1})
    reasons.shown = [[tr(REASON_LABELS[w]) if w in REASON_LABELS else w, _number(n, locale)]
                     for w, n in why]
    return [rated, reasons]


BUILDERS = {"today": _today, "sales": _sales, "items": _items, "checkout": _checkout}

ROUTES = [
    Route("/dash/login", login_form, methods=["GET"]),
    Route("/dash/login", login, methods=["POST"]),
    Route("/dash/logout", logout, methods=["POST"]),
    Route("/dash/", home, methods=["GET"]),
    Route("/dash/go", go, methods=["GET"]),
    Route("/dash/chain/{page}", dashboard, methods=["GET"]),
    Route("/dash/store/{store}/{page}", dashboard, methods=["GET"]),
]
