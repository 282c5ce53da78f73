"""The attendant station's web page: every lane live, and an attendant's remote commands.

A Starlette app for a tablet on the store network. An attendant signs in with their staff
PIN (the same staff credentials the lanes use, kiosk/security/staff.py, locked out after
wrong PINs in a row); the station then opens a signing session for them
(kiosk/security/remote.py) whose commands the lanes check. The browser holds only an
HttpOnly, SameSite=Strict cookie naming that session; every command also carries the
page's CSRF token. Sessions end at sign-out or after ``SESSION_S``.

The page is one HTML shell with the strings of the chosen language (gettext catalogs,
en / zh_Hans / ko) and a small script of our own (``static/station.js``, no library) that
polls ``/api/lanes`` each second and draws each lane: state, basket total, alerts with how
long each has waited, and the buttons the lane's state allows. An alert the page had not
shown before is highlighted for a few seconds and, unless the attendant turned sound off,
rings a chime made with the Web Audio API (``static/chime.js``: no media file, so the page's
CSP allows no media at all).
"""

from __future__ import annotations

import html
import json
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from kiosk.attendant.board import LaneBoard
from kiosk.config import StaffConfig
from kiosk.domain.languages import language_of
from kiosk.domain.money import format_money, message_currency
from kiosk.domain.vocabulary import REMOTE_ACTIONS
from kiosk.i18n import N_, html_lang, page_locale, translator
from kiosk.resources import attendant_static
from kiosk.security.remote import SESSION_S, Session, open_session
from kiosk.security.staff import StaffAuthenticator
from kiosk.shopper_texts import DECLINE_MESSAGES
from kiosk.staff_texts import fault_text

COOKIE = "station_session"

#: every string the page shows, by the key the script uses
TEXTS = {
    "title": N_("Attendant station"),
    "sign_in": N_("Sign in"),
    "sign_out": N_("Sign out"),
    "pin": N_("Staff PIN"),
    "wrong_pin": N_("Wrong PIN."),
    "locked": N_("Too many wrong PINs. Try again later."),
    "signed_in_as": N_("Signed in as"),
    "lane": N_("Lane"),
    "offline": N_("Offline"),
    "total": N_("Total: {amount}"),
    "waiting": N_("waiting"),
    # how long an alert has waited, under a minute (then m:ss)
    "seconds": N_("{seconds} s"),
    "no_alerts": N_("No alerts"),
    "closed": N_("Out of service"),
    "training": N_("Training"),
    "refused": N_("The lane refused the command: {reason}"),
    "no_lanes": N_("No lanes yet."),
    # why a lane refused a command (kiosk/domain/checkout.py decide_remote, the signature
    # check in kiosk/security/remote.py, the board's wait): words, not the code
    "reason_not_allowed_now": N_("Not possible in the lane's current state."),
    "reason_nothing_to_approve": N_("There is no age check to approve."),
    "reason_unknown_line": N_("That item is no longer in the basket."),
    "reason_age_check_open": N_("Approve or void the age-restricted item first."),
    "reason_lane_already_closed": N_("The lane is already out of service."),
    "reason_lane_not_closed": N_("The lane is already in service."),
    "reason_no_answer": N_("The lane did not answer. Check that it is on."),
    "reason_session_expired": N_("Your session has ended. Sign in again."),
    "reason_stale": N_("The command arrived too late. Check the clocks of the station and "
                       "the lane."),
    # lane states
    "state_attract": N_("Idle"),
    "state_shopping": N_("Shopping"),
    "state_attendant_needed": N_("Needs an attendant"),
    "state_payment": N_("Paying"),
    "state_authorizing": N_("Authorizing"),
    "state_approved": N_("Approved"),
    "state_declined": N_("Declined"),
    "state_receipt": N_("Receipt"),
    "state_reversing": N_("Reversing"),
    "state_payment_unavailable": N_("Payment unavailable"),
    "state_out_of_service": N_("Out of service"),
    "state_unknown": N_("Unknown"),
    # alerts
    "alert_help": N_("Help requested"),
    "alert_age_restricted": N_("Age check"),
    "alert_unknown_barcode": N_("Unknown item"),
    "alert_unexpected_item": N_("Unexpected item in the bagging area"),
    "alert_missing_item": N_("Item not placed in the bagging area"),
    "alert_removed_item": N_("Item removed from the bagging area"),
    "alert_item_expired": N_("Expired item"),
    "alert_item_recalled": N_("Recalled item"),
    "alert_device_fault": N_("Device fault"),
    "alert_payment_trouble": N_("Payment trouble"),
    # actions
    "action_approve_age": N_("Approve age"),
    "action_void_line": N_("Void line"),
    "action_clear": N_("Clear alert"),
    "action_cancel_basket": N_("Cancel basket"),
    "action_close_lane": N_("Take out of service"),
    "action_open_lane": N_("Put back in service"),
    # the chime for a new alert (static/chime.js): the toggle shows whether it sounds
    "sound_on": N_("Sound on"),
    "sound_off": N_("Sound off"),
    # sound is on but the browser lets the page play it only after a tap on the page
    "sound_blocked": N_("Tap for sound"),
}


@dataclass
class WebSession:
    token: str
    csrf: str
    signing: Session


class Station:
    """The station's sessions and sign-in (one instance per app)."""

    def __init__(self, board: LaneBoard, staff: StaffConfig, station_key: Ed25519PrivateKey,
                 lockout_path: Path | None = None, session_s: float = SESSION_S) -> None:
        self.board, self.key, self.session_s = board, station_key, session_s
        self.staff = StaffAuthenticator(staff, lockout_path)
        self._lock = threading.Lock()
        self._sessions: dict[str, WebSession] = {}

    def sign_in(self, pin: str) -> tuple[WebSession | None, str]:
        """A new session for the staff member whose PIN this is (scrypt: a worker thread)."""
        with self._lock:
            if self.staff.locked("pin", time.time()):
                return None, "locked"
        found = self.staff.match("pin", pin)
        with self._lock:
            member, reason = self.staff.record("pin", found, time.time())
            if member is None:
                return None, "locked" if self.staff.locked("pin", time.time()) else "wrong_pin"
            web = WebSession(secrets.token_urlsafe(32), secrets.token_urlsafe(32),
                             open_session(self.key, member.id, member.name, self.session_s))
            self._sessions[web.token] = web
            return web, ""

    def session(self, request: Request) -> WebSession | None:
        token = request.cookies.get(COOKIE, "")
        with self._lock:
            web = self._sessions.get(token)
            if web is not None and time.time() > web.signing.expires:
                del self._sessions[token]
                return None
            return web

    def sign_out(self, request: Request) -> None:
        with self._lock:
            self._sessions.pop(request.cookies.get(COOKIE, ""), None)


def _locale(request: Request) -> str:
    return page_locale(request.query_params.get("lang") or "",
                       request.headers.get("accept-language", ""))


def _same_origin(request: Request) -> bool:
    """A state-changing request must come from this page (Origin, as browsers send it)."""
    origin = request.headers.get("origin")
    return origin is not None and origin == f"{request.url.scheme}://{request.url.netloc}"


def _page(request: Request) -> HTMLResponse:
    station: Station = request.app.state.station
    locale = _locale(request)
    tr = translator(locale)
    web = station.session(request)
    texts = {key: tr(msgid) for key, msgid in TEXTS.items()}
    data = {"texts": texts, "locale": locale, "language": language_of(locale),
            "csrf": web.csrf if web else "", "staff": web.signing.staff_name if web else ""}
    body = (f'<!doctype html><html lang="{html_lang(locale)}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{html.escape(texts["title"])}</title>'
            '<link rel="stylesheet" href="/static/station.css"></head><body>'
            f'<header><h1>{html.escape(texts["title"])}</h1><div id="who"></div></header>'
            '<main id="main"></main>'
            '<script type="application/json" id="data">'
            + json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
            + '</script><script src="/static/chime.js"></script>'
            '<script src="/static/station.js"></script></body></html>')
    return HTMLResponse(body, headers=_HEADERS)


_HEADERS = {"Content-Security-Policy": "default-src 'self'; style-src 'self';"
            " script-src 'self'; media-src 'none'; frame-ancestors 'none'",
            "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer"}


async def _sign_in(request: Request) -> Response:
    if not _same_origin(request):
        return JSONResponse({"ok": False, "reason": "origin"}, 403)
    try:
        pin = str((await request.json()).get("pin", ""))[:16]
    except ValueError:
        return JSONResponse({"ok": False, "reason": "bad_request"}, 400)
    station: Station = request.app.state.station
    web, reason = await run_in_threadpool(station.sign_in, pin)
    if web is None:
        return JSONResponse({"ok": False, "reason": reason}, 401)
    response = JSONResponse({"ok": True})
    response.set_cookie(COOKIE, web.token, max_age=int(station.session_s), httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")
    return response


async def _sign_out(request: Request) -> Response:
    if not _same_origin(request):
        return JSONResponse({"ok": False, "reason": "origin"}, 403)
    request.app.state.station.sign_out(request)
    response = JSONResponse({"ok": True})
    response.delete_cookie(COOKIE)
    return response


def _in_words(lane: dict, locale: str) -> dict:
    """The lane with its amounts and alert details also as text in the page's language:
    money as its lane shows it ("US$4.64", not "4.64 USD"), a payment's trouble as the
    shopper was told it (not the acquirer's code), a device fault as the device's name and
    what is wrong ("Receipt printer: Out of paper", not "paper_out")."""
    tr = translator(locale)
    cur = message_currency(lane["currency"])
    lines = [dict(ln, amount_text=format_money(ln["amount"], cur, locale))
             for ln in lane["lines"]]
    alerts = []
    for alert in lane["alerts"]:
        detail = str(alert.get("detail") or "")
        if alert.get("message") in DECLINE_MESSAGES:
            detail = tr(DECLINE_MESSAGES[alert["message"]])
        elif alert["type"] == "payment_trouble" and f"state_{detail}" in TEXTS:
            detail = tr(TEXTS[f"state_{detail}"])
        elif alert["type"] == "device_fault":
            detail = fault_text(str(alert.get("device") or ""), detail, tr)
        alerts.append(dict(alert, detail_text=detail))
    return dict(lane, total_text=format_money(lane["total"], cur, locale), lines=lines,
                alerts=alerts)


def _lanes(request: Request) -> Response:
    station: Station = request.app.state.station
    if station.session(request) is None:
        return JSONResponse({"ok": False, "reason": "signed_out"}, 401)
    locale = _locale(request)
    return JSONResponse({"now": time.time(),
                         "lanes": [_in_words(lane, locale)
                                   for lane in station.board.lanes()]},
                        headers={"Cache-Control": "no-store"})


async def _command(request: Request) -> Response:
    station: Station = request.app.state.station
    web = station.session(request)
    if web is None:
        return JSONResponse({"ok": False, "reason": "signed_out"}, 401)
    if not _same_origin(request) or not secrets.compare_digest(
            request.headers.get("x-csrf-token", ""), web.csrf):
        return JSONResponse({"ok": False, "reason": "csrf"}, 403)
    try:
        body = await request.json()
        lane, action = str(body["lane"]), str(body["action"])
        line_id = body.get("line_id")
        if action not in REMOTE_ACTIONS or not (line_id is None or isinstance(line_id, int)):
            raise ValueError(action)
    except (ValueError, KeyError, TypeError, AttributeError):
        return JSONResponse({"ok": False, "reason": "bad_request"}, 400)
    result = await run_in_threadpool(station.board.send, web.signing, lane, action, line_id)
    return JSONResponse({"ok": result["ok"], "reason": result.get("reason", "")})


def make_app(station: Station) -> Starlette:
    app = Starlette(routes=[
        Route("/", _page),
        Route("/api/signin", _sign_in, methods=["POST"]),
        Route("/api/signout", _sign_out, methods=["POST"]),
        Route("/api/lanes", _lanes),
        Route("/api/command", _command, methods=["POST"]),
        Mount("/static", StaticFiles(directory=attendant_static()), name="static"),
    ])
    app.state.station = station
    return app
