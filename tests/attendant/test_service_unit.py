"""kiosk-attendant as its unit runs it (systemd/store/kiosk-attendant.service): the unit's own
ExecStart (its install paths mapped to the test's), its environment file, its credentials
directory (``%d``) and its Environment=, under the unit's seccomp rules and W^X
(tests/systemd/sandbox.py). The station takes the real store broker over TLS with its
credential password, says READY=1, prints where it listens and serves the page over HTTPS
with the credential TLS key; SIGTERM stops it cleanly."""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.bus.acl import STATION_USER
from kiosk.bus.broker import credentials_dir
from tests.harness import REPO, kiosk_env
from tests.systemd.notify_listener import NotifyListener
from tests.systemd.sandbox import ran_under, sandbox_env, unavailable
from tests.systemd.test_units import INSTALLED_KIOSK, read_unit

pytestmark = pytest.mark.skipif(unavailable() is not None, reason=str(unavailable()))

UNIT = "store/kiosk-attendant.service"


def _credential(creds: Path, name: str, source: Path) -> None:
    """As systemd's LoadCredential= leaves it: a copy only the service's user may read."""
    shutil.copyfile(source, creds / name)
    os.chmod(creds / name, 0o400)


def unit_command(exec_start: str, creds: Path, etc: Path, env_file: dict[str, str]) -> list[str]:
    """The unit's ExecStart as this test runs it: ``$VAR`` from the environment file (systemd
    splits it into words), ``%d`` the credentials directory, /etc/kiosk/ the test's folder,
    the page on 127.0.0.1 and a port the OS chooses."""
    words = []
    for word in exec_start.split():
        if word.startswith("$"):
            words += env_file[word[1:]].split()
        else:
            words.append(word.replace("%d", str(creds)).replace("/etc/kiosk/", f"{etc}/"))
    assert words[0] == INSTALLED_KIOSK
    words[words.index("--host") + 1] = "127.0.0.1"
    words[words.index("--port") + 1] = "0"
    return [sys.executable, "-m", "kiosk.cli", *words[1:]]


def test_the_station_runs_under_its_units_rules(store, station_keys, rig_dir, tmp_path):
    svc = read_unit(UNIT)["Service"]
    tls = store.cafile.parent  # tests/attendant/conftest.py make_tls: ca.crt, store.crt/.key
    etc, creds, state = tmp_path / "etc-kiosk", tmp_path / "credentials", tmp_path / "state"
    (etc / "attendant-tls").mkdir(parents=True)
    creds.mkdir(mode=0o700)
    shutil.copyfile(store.cafile, etc / "store-ca.crt")
    shutil.copyfile(tls / "store.crt", etc / "attendant-tls" / "server.pem")
    sources = {"bus-password": credentials_dir(store.workdir) / f"{STATION_USER}.password",
               "station-key": rig_dir / "station" / "station.key",
               "tls-key": tls / "store.key"}
    assert {c.split(":", 1)[0] for c in svc["LoadCredential"]} == set(sources)
    for name, source in sources.items():
        _credential(creds, name, source)
    env_file = {"ATTENDANT_STORE_HOST": "127.0.0.1", "ATTENDANT_STORE_PORT": str(store.port)}
    (exec_start,) = svc["ExecStart"]
    command = unit_command(exec_start, creds, etc, env_file)
    unit_env = dict(v.replace("/var/lib/kiosk-attendant", str(state)).split("=", 1)
                    for v in svc["Environment"])
    with NotifyListener() as notify:
        env = dict(sandbox_env(kiosk_env(tmp_path / "lane-unused", store.port, "ST1"), UNIT,
                               tmp_path / "sb"),
                   **unit_env, CREDENTIALS_DIRECTORY=str(creds), NOTIFY_SOCKET=notify.address)
        proc = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        try:
            notify.wait_for("READY=1", timeout=60)
            line = proc.stdout.readline()
            assert line.startswith("kiosk-attendant: listening on https://127.0.0.1:"), line
            port = int(line.rsplit(":", 1)[1])
            context = ssl.create_default_context(cafile=str(store.cafile))
            conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=context)
            conn.request("GET", "/")
            page = conn.getresponse()
            assert page.status == 200 and "<html" in page.read().decode("utf-8").lower()
            conn.close()
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=30)
        assert notify.wait_for("STOPPING=1", timeout=10)
    assert proc.returncode == 0, err
    assert ran_under(err, UNIT), err
    assert "did not accept us" not in err, err  # the store broker took the station
