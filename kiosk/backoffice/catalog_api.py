"""The back office's catalog routes (issue 17), mounted by the back office's app.

* ``GET /v1/stores/{store}/catalog``: the store's latest snapshot as stored (JSON
  ``{version, sha256, items, promotions}``) with its ``ETag``; ``If-None-Match`` with that
  ETag answers 304 and no body. 404 while the store has none; 403 for a lane of another
  store.
* ``POST /v1/lanes/{lane}/catalog-applied`` ``{"version": N}`` (optionally ``"refused":
  {"version": M, "reason": "..."}``, the last snapshot the lane refused): recorded in
  ``lane_catalog``. 400 malformed, 403 another lane's, 413 too big; nothing is recorded then.

The app passes ``authenticate(request) -> (lane_id, store_id)`` (its per-lane bearer token
check, raising HTTPException 401) and ``connect()`` (a context manager giving a psycopg
connection, e.g. a pool's ``connection``). Database work runs in the thread pool, never on
the event loop.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager

import psycopg
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kiosk.backoffice import catalog as store_catalog

#: a report is a version and a reason of at most a few hundred characters
MAX_REPORT_BYTES = 4096
MAX_REASON_CHARS = 500

Authenticate = Callable[[Request], tuple[str, str]]
Connect = Callable[[], AbstractContextManager[psycopg.Connection]]


def routes(authenticate: Authenticate, connect: Connect) -> list[Route]:
    """The catalog routes, for the app's route list."""

    async def get_catalog(request: Request) -> Response:
        store = request.path_params["store"]
        _lane, lane_store = await run_in_threadpool(authenticate, request)
        if lane_store != store:
            raise HTTPException(403, f"a lane of store {lane_store} cannot read store {store}")

        def load() -> store_catalog.StoredSnapshot | None:
            with connect() as conn:
                return store_catalog.latest(conn, store)

        snapshot = await run_in_threadpool(load)
        if snapshot is None:
            return JSONResponse({"error": f"store {store} has no catalog snapshot"}, 404)
        if snapshot.etag in _etags(request.headers.get("if-none-match", "")):
            return Response(status_code=304, headers={"ETag": snapshot.etag})
        return Response(snapshot.body, media_type="application/json",
                        headers={"ETag": snapshot.etag, "Cache-Control": "no-cache"})

    async def catalog_applied(request: Request) -> Response:
        lane = request.path_params["lane"]
        auth_lane, store = await run_in_threadpool(authenticate, request)
        if auth_lane != lane:
            raise HTTPException(403, f"lane {auth_lane} cannot report for lane {lane}")
        raw = await _body(request)
        version, refused = _report(raw)

        def record() -> int:
            with connect() as conn:
                last = store_catalog.latest(conn, store)
                newest = last.version if last else 0
                if version > newest or (refused and refused["version"] > newest):
                    return newest
                store_catalog.record_report(conn, lane, store, version, refused)
                return -1

        newest = await run_in_threadpool(record)
        if newest >= 0:
            raise HTTPException(400, f"store {store} has no catalog version beyond {newest}")
        return JSONResponse({"ok": True})

    return [
        Route("/v1/stores/{store}/catalog", get_catalog, methods=["GET"]),
        Route("/v1/lanes/{lane}/catalog-applied", catalog_applied, methods=["POST"]),
    ]


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_REPORT_BYTES:
        raise HTTPException(413, f"a report is at most {MAX_REPORT_BYTES} bytes")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_REPORT_BYTES:
            raise HTTPException(413, f"a report is at most {MAX_REPORT_BYTES} bytes")
    return raw


def _report(raw: bytes) -> tuple[int, dict | None]:
    """(version, refused) of a report body; HTTPException 400 naming what is wrong."""
    try:
        data = json.loads(raw)
    except ValueError:
        raise HTTPException(400, "not JSON") from None
    if not isinstance(data, dict) or not set(data) <= {"version", "refused"} or (
            "version" not in data):
        raise HTTPException(400, 'expected {"version": N} and optionally "refused"')
    version, refused = data["version"], data.get("refused")
    if type(version) is not int or version < 0:
        raise HTTPException(400, "version: a non-negative integer")
    if refused is not None:
        if (not isinstance(refused, dict) or set(refused) != {"version", "reason"}
                or type(refused["version"]) is not int or refused["version"] < 0
                or not isinstance(refused["reason"], str)
                or len(refused["reason"]) > MAX_REASON_CHARS):
            raise HTTPException(400, 'refused: {"version": N, "reason": "..."} (reason at'
                                f" most {MAX_REASON_CHARS} characters)")
    return version, refused
