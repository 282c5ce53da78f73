"""The lane's catalog puller (issue 17): fetches the store's catalog snapshot from the back
office, checks it and stages it for kiosk-core, and reports back what the lane applied.

Its own loop, never in kiosk-core (kiosk-sync runs it in a thread beside the journal's
shipping; ``kiosk catalog pull`` runs it alone): the network, the JSON and the validation of
a whole catalog never touch the checkout's loop. One round (:meth:`CatalogPuller.poll`):

1. reports the version in place (read from the catalog, read-only) and the last refusal,
   when either changed since the last report (``POST /v1/lanes/{lane}/catalog-applied``);
2. asks for the snapshot with the ETag of the last one seen (``If-None-Match``: 304 when
   nothing changed);
3. a newer snapshot is checked whole (:func:`kiosk.catalog.check_snapshot`: sha256, every
   item by the CSV import's rules, promotions, against this lane's currency and tax
   classes). A bad one is refused with the reason (logged, reported), the lane keeps its
   version; a good one is staged (:func:`kiosk.catalog.stage`), and kiosk-core puts it in
   place between baskets and journals ``catalog_applied``.

The back office unreachable: the round raises, :meth:`CatalogPuller.run` backs off with
jitter, and the lane sells on the version in place (nothing here stops or slows the sale).
"""

from __future__ import annotations

import logging
import random
import ssl
import threading
from pathlib import Path

import httpx

from kiosk.catalog import SnapshotError, applied_version, check_snapshot, stage
from kiosk.config import KioskConfig

log = logging.getLogger("kiosk.services.catalog_pull")
BACKOFF_MAX_S = 300.0


class CatalogPuller:
    """Pulls this lane's store catalog from the back office at ``url``."""

    def __init__(self, config: KioskConfig, url: str, token: str,
                 ca_file: Path | None = None, timeout_s: float = 10.0) -> None:
        """``token``: the lane's bearer token; ``ca_file``: the back office's CA (default:
        the system's CAs)."""
        self.config = config
        self.catalog_path = config.catalog_path
        self.lane, self.store = config.store.lane_id, config.store.store_id
        verify = ssl.create_default_context(cafile=ca_file) if ca_file else True
        self.client = httpx.Client(base_url=url.rstrip("/"), verify=verify, timeout=timeout_s,
                                   headers={"Authorization": f"Bearer {token}"})
        self._etag: str | None = None       # of the last snapshot seen (staged or refused)
        self._staged = 0                    # the version staged last
        self._refused: dict | None = None   # {"version", "reason"} of the last refusal
        self._reported: dict | None = None  # what the back office was told last

    def close(self) -> None:
        self.client.close()

    def poll(self) -> str:
        """One round; what came of it: unchanged | none | current | staged | refused.
        Raises httpx.HTTPError when the back office cannot be reached or answers an error."""
        applied = applied_version(self.catalog_path)[0]
        if self._staged > applied and not self.config.catalog_staged_path.exists():
            self._etag = None  # kiosk-core dropped what was staged: fetch it again
        self._report(applied)
        headers = {"If-None-Match": self._etag} if self._etag else {}
        answer = self.client.get(f"/v1/stores/{self.store}/catalog", headers=headers)
        if answer.status_code == 304:
            return "unchanged"
        if answer.status_code == 404:
            return "none"  # the store has no snapshot yet: the lane's own catalog holds
        answer.raise_for_status()
        etag = answer.headers.get("etag")
        try:
            body = answer.json()
        except ValueError:
            body = None
        version = body.get("version") if isinstance(body, dict) else None
        if type(version) is int and version <= max(applied, self._staged):
            self._etag = etag
            return "current"
        try:
            snapshot = check_snapshot(body, self.config.currency, self.config.tax.rates)
        except SnapshotError as exc:
            self._etag = etag  # not fetched again until the back office has another
            self._refused = {"version": version if type(version) is int else 0,
                             "reason": str(exc)[:500]}
            log.error("catalog snapshot %s refused, keeping version %d: %s", version, applied,
                      exc)
            self._report(applied)
            return "refused"
        stage(self.config.catalog_staged_path, snapshot)
        self._etag, self._staged = etag, snapshot.version
        log.info("catalog version %d staged (%d items): kiosk-core applies it between"
                 " baskets", snapshot.version, len(snapshot.products))
        return "staged"

    def _report(self, applied: int) -> None:
        report: dict = {"version": applied}
        if self._refused is not None:
            report["refused"] = self._refused
        if report != self._reported:
            self.client.post(f"/v1/lanes/{self.lane}/catalog-applied",
                             json=report).raise_for_status()
            self._reported = report

    def run(self, stop: threading.Event, interval_s: float = 30.0) -> None:
        """Poll every ``interval_s`` until ``stop``; an unreachable back office is retried
        with exponential backoff and jitter. Never raises."""
        failures = 0
        while not stop.is_set():
            try:
                self.poll()
                if failures:
                    log.info("back office reachable again")
                failures, delay = 0, interval_s
            except (httpx.HTTPError, OSError) as exc:
                failures += 1
                if failures == 1:
                    log.warning("back office unreachable, selling on catalog version %d: %s",
                                applied_version(self.catalog_path)[0], exc)
                delay = min(BACKOFF_MAX_S, interval_s * 2 ** min(failures, 8))
                delay *= random.uniform(0.5, 1.0)
            except Exception:  # a bug must not end the loop
                log.exception("catalog pull failed")
                delay = interval_s
            stop.wait(delay)


