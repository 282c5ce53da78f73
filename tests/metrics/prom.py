"""Test support: the real Prometheus server (Debian ``prometheus``) and kiosk-metrics processes.

:class:`Prometheus` runs the server with the shipped rules (config/prometheus/kiosk-rules.yml)
scraping the given targets; its HTTP API answers what the tests ask (targets up, the ``ALERTS``
series with the evaluation time each alert fired at, alerts active now). :class:`Exporter`
runs ``kiosk metrics --listen 127.0.0.1:0`` and reads the port it got back from its first line.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kiosk.ports import free_port
from tests.harness import REPO, stop_process

RULES = REPO / "config" / "prometheus" / "kiosk-rules.yml"
JOB = "kiosk-lanes"
#: the test server's scrape and rule-evaluation intervals (the shipped example: 15 s each)
SCRAPE_S = 1.0
EVALUATE_S = 0.5


def need(binary: str) -> str:
    found = shutil.which(binary)
    if not found:
        pytest.skip(f"{binary} is not installed (./setup.sh installs it)")
    return found


class Exporter:
    """``kiosk metrics`` for one lane, as its own OS process."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def start(self, port: int = 0) -> Exporter:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kiosk.cli", "metrics",
             "--listen", f"127.0.0.1:{port}"], env=self.env, cwd=REPO,
            stdout=subprocess.PIPE, stderr=self.log.open("ab"), text=True)
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()  # "kiosk metrics: lane L on http://H:P/metrics"
        assert "/metrics" in first, f"exporter did not start: {first!r} {self.log.read_text()}"
        self.port = int(first.rsplit(":", 1)[1].split("/")[0])
        return self

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        stop_process(self.proc, 10)


class Prometheus:
    """The real server on a free loopback port, its TSDB in ``workdir``."""

    def __init__(self, workdir: Path, targets: list[str]) -> None:
        self.workdir = workdir
        config = workdir / "prometheus.yml"
        config.write_text(json.dumps({  # YAML is a superset of JSON
            "global": {"scrape_interval": f"{SCRAPE_S:g}s",
                       "evaluation_interval": f"{EVALUATE_S * 1000:g}ms"},
            "rule_files": [str(RULES)],
            "scrape_configs": [{"job_name": JOB, "scrape_timeout": f"{SCRAPE_S:g}s",
                                "static_configs": [{"targets": targets}]}],
        }))
        binary = need("prometheus")
        for _ in range(5):  # another process may take the free port before the server binds
            self.port = free_port()
            self.proc = subprocess.Popen(
                [binary, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{self.port}"],
                stdout=subprocess.DEVNULL, stderr=(workdir / "prometheus.log").open("ab"))
            if self._ready():
                return
            self.stop()
        raise AssertionError("prometheus did not start: "
                             + (workdir / "prometheus.log").read_text()[-2000:])

    def _ready(self, timeout: float = 30) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready",
                                            timeout=2) as answer:
                    if answer.status == 200:
                        return True
            except OSError:
                pass
            time.sleep(0.1)  # polling the server's readiness endpoint: it has no push signal
        return False

    def api(self, path: str, **params: str) -> Any:
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=10) as answer:
            body = json.load(answer)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        return self.api("query", query=expr)["result"]

    def wait(self, what: str, check: Callable[[], Any], timeout: float = 60) -> Any:
        """Poll the API until ``check()`` is truthy (Prometheus has no push API to wait on)."""
        deadline = time.monotonic() + timeout
        while True:
            got = check()
            if got:
                return got
            if time.monotonic() > deadline:
                raise TimeoutError(f"prometheus: never {what}")
            time.sleep(0.1)

    def fired_at(self, alert: str, match: dict[str, str]) -> float | None:
        """The evaluation time ``alert`` (with labels ``match``) first fired at in the last
        5 minutes, from the ``ALERTS`` series Prometheus writes for its rules."""
        sel = ",".join([f'alertname="{alert}"', 'alertstate="firing"',
                        *(f'{k}="{v}"' for k, v in match.items())])
        series = self.query(f"ALERTS{{{sel}}}[5m]")
        stamps = [float(ts) for s in series for ts, _v in s["values"]]
        return min(stamps) if stamps else None

    def active(self, alert: str, match: dict[str, str]) -> bool:
        return any(a["labels"].get("alertname") == alert
                   and all(a["labels"].get(k) == v for k, v in match.items())
                   for a in self.api("alerts")["alerts"])

    def stop(self) -> None:
        stop_process(self.proc)
