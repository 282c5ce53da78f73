"""``kiosk backoffice serve``: the ingest API (Starlette on uvicorn) in front of PostgreSQL.

Routes (the wire API, docs/backoffice.md); every one needs ``Authorization: Bearer <lane
token>`` and answers JSON, errors as ``{"error": reason, ...}``:

* ``POST /v1/lanes/{lane}/events`` ``{"events": [...], "after"?: N}`` → ``{"acked_seq", "flags"}``
  (kiosk.backoffice.ingest); 400 malformed, 401 no or unknown token, 403 another lane's
  token, 409 out of order, 413 too big: each changes nothing.
* ``GET /v1/lanes/{lane}/acked`` → ``{"acked_seq": N}``
* ``GET /v1/lanes/{lane}/events?after=SEQ&limit=N`` → ``{"events": [...]}`` (a lane rebuilt
  from the back office).
* ``GET /v1/stores/{store}/catalog``, ``POST /v1/lanes/{lane}/catalog-applied``: catalog
  snapshots (kiosk.backoffice.catalog_api).

An asyncio connection pool (psycopg_pool) is opened at start; the day partitions are
created at start and every hour (the maintenance job). TLS comes from uvicorn
(``--cert``/``--key``); plain HTTP only on a loopback address.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from kiosk.backoffice import catalog_api, ingest
from kiosk.backoffice.auth import LANE_BY_TOKEN, Lane, bearer, token_hash
from kiosk.backoffice.db import partition_window
from kiosk.backoffice.web import fleet
from kiosk.backoffice.web import routes as web
from kiosk.domain.addresses import is_loopback
from kiosk.domain.money import currency_for

log = logging.getLogger("kiosk.backoffice")

#: how often the maintenance job makes the next day partitions
MAINTENANCE_S = 3600.0
#: how long a known token is trusted without asking the database again
TOKEN_CACHE_S = 60.0
#: the most rows one GET of events returns
MAX_LIMIT = 5000


class Refused(Exception):
    def __init__(self, status: int, reason: str, **detail: Any) -> None:
        super().__init__(reason)
        self.status, self.reason, self.detail = status, reason, detail


def _error(status: int, reason: str, **detail: Any) -> JSONResponse:
    return JSONResponse({"error": reason, **detail}, status_code=status)


async def _lane(request: Request, conn: Any) -> Lane:
    """The lane the token names, which must be the lane of the path. A known token is
    remembered for TOKEN_CACHE_S (one query less per batch); an unknown one never is."""
    token = bearer(request.headers.get("authorization"))
    if token is None:
        raise Refused(401, "a lane token is required (Authorization: Bearer ...)")
    digest = token_hash(token)
    cache: dict[str, tuple[float, Lane]] = request.app.state.tokens
    hit = cache.get(digest)
    if hit is not None and time.monotonic() - hit[0] < TOKEN_CACHE_S:
        lane = hit[1]
    else:
        cur = await conn.execute(LANE_BY_TOKEN, (digest,))
        row = await cur.fetchone()
        if row is None:
            raise Refused(401, "unknown lane token")
        lane = Lane(*row)
        cache[digest] = (time.monotonic(), lane)
    if lane.name != request.path_params["lane"]:
        raise Refused(403, f"this token is lane {lane.name!r}'s: it cannot act for"
                           f" {request.path_params['lane']!r}")
    return lane


async def _body(request: Request) -> Any:
    """The JSON body, read up to MAX_BODY bytes (413 beyond)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > ingest.MAX_BODY:
        raise Refused(413, f"request body over {ingest.MAX_BODY} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > ingest.MAX_BODY:
            raise Refused(413, f"request body over {ingest.MAX_BODY} bytes")
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except ValueError as exc:
        raise Refused(400, f"the body is not JSON: {exc}") from None


async def post_events(request: Request) -> JSONResponse:
    pool: AsyncConnectionPool = request.app.state.pool
    body = await _body(request)
    async with pool.connection() as conn:
        lane = await _lane(request, conn)
        try:
            rows, after = ingest.parse_batch(body, request.app.state.max_events)
            acked, flags = await ingest.ingest(conn, lane.id, lane.store_id, rows, after)
        except ingest.BatchError as exc:
            raise Refused(exc.status, exc.reason, **exc.detail) from None
    if flags:
        log.warning("lane %s: flagged %s", lane.name,
                    "; ".join(f"{f.kind} at seq {f.seq}" for f in flags))
    return JSONResponse({"acked_seq": acked, "flags": [f.as_dict() for f in flags]})


async def get_acked(request: Request) -> JSONResponse:
    async with request.app.state.pool.connection() as conn:
        lane = await _lane(request, conn)
        cur = await conn.execute("SELECT last_seq FROM lane_chain WHERE lane_id = %s",
                                 (lane.id,))
        row = await cur.fetchone()
    return JSONResponse({"acked_seq": row[0] if row else 0})


def _query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise Refused(400, f"{name} must be an integer from {low} to {high}")
    return int(text)


async def get_events(request: Request) -> JSONResponse:
    after = _query_int(request, "after", 0, 0, 2**63 - 1)
    limit = _query_int(request, "limit", 1000, 1, MAX_LIMIT)
    async with request.app.state.pool.connection() as conn:
        lane = await _lane(request, conn)
        events = await ingest.events_after(conn, lane.id, after, limit)
    return JSONResponse({"events": events})


async def _refused(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Refused)
    return _error(exc.status, exc.reason, **exc.detail)


async def _maintain(pool: AsyncConnectionPool, state: Any) -> None:
    """The maintenance job, now and every MAINTENANCE_S: the next day partitions, and the
    sales summary brought up to date (kiosk/backoffice/item_daily.py: the forecast page only
    reads it). ``state.maintenance_rounds`` counts the rounds done."""
    while True:
        try:
            async with pool.connection() as conn:
                first, last = partition_window()
                cur = await conn.execute("SELECT ensure_event_partitions(%s, %s)",
                                         (first, last))
                made = (await cur.fetchone())[0]
            if made:
                log.info("made %d day partition(s) of events up to %s", made, last)
        except Exception:  # the next round tries again; ingest goes on meanwhile
            log.exception("partition maintenance failed")
        try:
            await asyncio.to_thread(_refresh_sales, pool.conninfo, state.currency)
        except Exception:
            log.exception("sales summary refresh failed")
        state.maintenance_rounds += 1
        await asyncio.sleep(MAINTENANCE_S)


def _refresh_sales(conninfo: str, currency: Any) -> None:
    """item_daily's refresh; ``currency``: the store currency the Items page's promotions
    are priced in (``serve --currency``)."""
    import psycopg

    from kiosk.backoffice.item_daily import refresh

    with psycopg.connect(conninfo) as conn:
        done = refresh(conn, currency)
    if done.rows:
        log.info("sales summary: %d new event rows, %d store-days summed", done.rows,
                 sum(len(days) for days in done.days.values()))


def create_app(db_url: str, pool_min: int = 2, pool_max: int = 10,
               max_events: int = ingest.MAX_EVENTS, currency: str = "USD",
               prometheus_url: str | None = None) -> Starlette:
    """The ingest API on the database at ``db_url`` (migrated: ``kiosk backoffice migrate``)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pool = AsyncConnectionPool(db_url, min_size=pool_min, max_size=pool_max, open=False)
        await pool.open(wait=True, timeout=30)
        app.state.pool = pool
        maintenance = asyncio.create_task(_maintain(pool, app.state))
        try:
            yield
        finally:
            maintenance.cancel()
            await pool.close()

    app = Starlette(routes=[
        Route("/v1/lanes/{lane}/events", post_events, methods=["POST"]),
        Route("/v1/lanes/{lane}/events", get_events, methods=["GET"]),
        Route("/v1/lanes/{lane}/acked", get_acked, methods=["GET"]),
        *catalog_api.ROUTES,  # catalog snapshots down, versions applied up (issue 17)
        *fleet.ROUTES,  # the lane-health page, before the dashboard's /{page} routes
        *web.ROUTES,  # the manager's dashboard (issue 18), kiosk/backoffice/web/
    ], exception_handlers={Refused: _refused}, lifespan=lifespan)
    app.state.max_events = max_events
    app.state.maintenance_rounds = 0
    app.state.tokens = {}
    app.state.currency = currency_for(currency)  # the pages' amounts, the promotions'
    app.state.prometheus_url = prometheus_url  # the fleet page's source (None: not set)
    return app


def listen_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (0: the OS chooses) for uvicorn. Its proto
    is IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say TCP, and without
    it every keep-alive response waits ~40 ms for the client's delayed ACK (Nagle). NODELAY is
    also set here, so the accepted sockets inherit it."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                         socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(512)
    return sock


def serve(db_url: str, host: str, port: int, cert: Path | None, key: Path | None,
          pool_max: int = 10, currency: str = "USD", prometheus_url: str | None = None) -> int:
    """Run the API until stopped. Binds first (``port`` 0: the OS chooses), then prints
    ``kiosk-backoffice: listening on <url>`` so a supervisor or a test knows the port."""
    import uvicorn

    if (cert is None) != (key is None):
        raise SystemExit("kiosk backoffice serve: give both --cert and --key, or neither")
    if cert is None and not is_loopback(host):
        raise SystemExit(f"kiosk backoffice serve: {host} is not a loopback address: TLS"
                         " (--cert, --key) is required for any other")
    sock = listen_socket(host, port)
    scheme = "https" if cert else "http"
    bound = sock.getsockname()[1]
    app = create_app(db_url, pool_max=pool_max, currency=currency,
                     prometheus_url=prometheus_url)
    config = uvicorn.Config(app, log_level="warning",
                            ssl_certfile=str(cert) if cert else None,
                            ssl_keyfile=str(key) if key else None, access_log=False)
    server = uvicorn.Server(config)
    print(f"kiosk-backoffice: listening on {scheme}://{host}:{bound}", flush=True)
    sys.stdout.flush()
    server.run(sockets=[sock])
    return 0
