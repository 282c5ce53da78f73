"""The back office's catalog routes (issue 17), mounted by the app (kiosk/backoffice/app.py).

* ``GET /v1/stores/{store}/catalog``: the store's latest snapshot as stored (JSON
  ``{version, sha256, items, promotions}``) with its ``ETag``; ``If-None-Match`` with that
  ETag answers 304 and no body. 404 while the store has none; 403 for a lane of another
  store.
* ``POST /v1/lanes/{lane}/catalog-applied`` ``{"version": N}`` (optionally ``"refused":
  {"version": M, "reason": "..."}``, the last snapshot the lane refused): recorded in
  ``lane_catalog``. 400 malformed or a version the store does not have, 403 another lane's,
  413 too big; nothing is recorded then.

Every route needs the lane's ``Authorization: Bearer`` token (kiosk/backoffice/auth.py; 401
without a known one); errors are ``{"error": reason}`` like the app's. Queries run on the
app's connection pool (``app.state.pool``).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kiosk.backoffice import catalog as store_catalog
from kiosk.backoffice.auth import bearer, token_hash

#: a report is a version and a reason of at most a few hundred characters
MAX_REPORT_BYTES = 4096
MAX_REASON_CHARS = 500
LANE_AND_STORE_BY_TOKEN = ("SELECT l.name, s.code FROM lanes l JOIN stores s ON s.id ="
                           " l.store_id WHERE l.token_sha256 = %s")


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


async def _lane(request: Request, conn: Any) -> tuple[str, str]:
    """(lane name, store code) of the request's token."""
    token = bearer(request.headers.get("authorization"))
    if token is None:
        raise _Refused(401, "a lane token is required (Authorization: Bearer ...)")
    cur = await conn.execute(LANE_AND_STORE_BY_TOKEN, (token_hash(token),))
    row = await cur.fetchone()
    if row is None:
        raise _Refused(401, "unknown lane token")
    return row[0], row[1]


async def get_catalog(request: Request) -> Response:
    store = request.path_params["store"]
    try:
        async with request.app.state.pool.connection() as conn:
            _, lane_store = await _lane(request, conn)
            if lane_store != store:
                raise _Refused(403, f"a lane of store {lane_store!r} cannot read store"
                                    f" {store!r}")
            cur = await conn.execute(store_catalog.LATEST_SQL, (store,))
            row = await cur.fetchone()
    except _Refused as exc:
        return JSONResponse({"error": exc.reason}, exc.status)
    if row is None:
        return JSONResponse({"error": f"store {store!r} has no catalog snapshot"}, 404)
    snapshot = store_catalog.StoredSnapshot(*row)
    if snapshot.etag in _etags(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers={"ETag": snapshot.etag})
    return Response(snapshot.body, media_type="application/json",
                    headers={"ETag": snapshot.etag, "Cache-Control": "no-cache"})


async def catalog_applied(request: Request) -> Response:
    lane = request.path_params["lane"]
    try:
        raw = await _body(request)
        async with request.app.state.pool.connection() as conn:
            auth_lane, store = await _lane(request, conn)
            if auth_lane != lane:
                raise _Refused(403, f"this token is lane {auth_lane!r}'s: it cannot report"
                                    f" for {lane!r}")
            version, refused = _report(raw)
            cur = await conn.execute(store_catalog.LATEST_SQL, (store,))
            row = await cur.fetchone()
            newest = row[1] if row else 0
            if version > newest or (refused is not None and refused["version"] > newest):
                raise _Refused(400, f"store {store!r} has no catalog version beyond {newest}")
            await conn.execute(store_catalog.REPORT_SQL,
                               store_catalog.report_params(lane, store, version, refused))
    except _Refused as exc:
        return JSONResponse({"error": exc.reason}, exc.status)
    return JSONResponse({"ok": True})


ROUTES = [
    Route("/v1/stores/{store}/catalog", get_catalog, methods=["GET"]),
    Route("/v1/lanes/{lane}/catalog-applied", catalog_applied, methods=["POST"]),
]


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_REPORT_BYTES:
        raise _Refused(413, f"a report is at most {MAX_REPORT_BYTES} bytes")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_REPORT_BYTES:
            raise _Refused(413, f"a report is at most {MAX_REPORT_BYTES} bytes")
    return raw


def _report(raw: bytes) -> tuple[int, dict | None]:
    """(version, refused) of a report body; _Refused 400 naming what is wrong."""
    try:
        data = json.loads(raw)
    except ValueError:
        raise _Refused(400, "the body is not JSON") from None
    if not isinstance(data, dict) or "version" not in data or not set(data) <= {
            "version", "refused"}:
        raise _Refused(400, 'expected {"version": N} and optionally "refused"')
    version, refused = data["version"], data.get("refused")
    if type(version) is not int or version < 0:
        raise _Refused(400, "version: a non-negative integer")
    if refused is not None and (
            not isinstance(refused, dict) or set(refused) != {"version", "reason"}
            or type(refused["version"]) is not int or refused["version"] < 0
            or not isinstance(refused["reason"], str)
            or len(refused["reason"]) > MAX_REASON_CHARS):
        raise _Refused(400, 'refused: {"version": N, "reason": "..."} (reason at most'
                            f" {MAX_REASON_CHARS} characters)")
    return version, refused
