"""Attendant-station fixtures: a real store broker (mosquitto over TLS, per-lane users and
ACL), two real lanes (each its own mosquitto bridged to it, its own kiosk-core process), the
real station (board + Starlette page under uvicorn, in a thread) and headless Chromium.

The TLS certificates are made here (cryptography) for 127.0.0.1: the lanes' bridges and the
station check the store broker's certificate against the test CA.
"""

from __future__ import annotations

import datetime
import ipaddress
import subprocess
import threading
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.attendant.board import LaneBoard
from kiosk.bus.acl import STATION_USER, lane_user
from kiosk.bus.bridge import StoreLink, bridge_text
from kiosk.bus.broker import credentials_dir, start_store_broker
from kiosk.bus.credentials import BusLogin, read_password
from kiosk.config import StaffConfig
from kiosk.resources import defaults_file
from kiosk.security.remote import public_text, station_key
from tests.chromium import CHROMIUM, DRIVER, start_chromium
from tests.harness import SAMPLE_CSV, CoreProcess, Shopper, kiosk_cli, kiosk_env, start_broker

LANES = ("A1", "A2")


def make_tls(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it: (ca, cert, key) files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test store CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "store broker")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    paths = folder / "ca.crt", folder / "store.crt", folder / "store.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].touch(mode=0o600)
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


@dataclass
class Store:
    port: int
    workdir: Path
    cafile: Path
    proc: subprocess.Popen

    def login(self, username: str) -> BusLogin:
        return BusLogin("127.0.0.1", self.port, username,
                        read_password(username, credentials_dir(self.workdir)),
                        cafile=str(self.cafile))


@dataclass
class LaneRig:
    lane: str
    port: int
    env: dict
    core: CoreProcess
    shopper: Shopper
    broker: subprocess.Popen    # the lane's own mosquitto (with the bridge)


@pytest.fixture(scope="module")
def rig_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One store, two lanes and one station per test module (they take ~10 s to start)."""
    return tmp_path_factory.mktemp("attendant")


def lane_ids(request: pytest.FixtureRequest) -> tuple[str, ...]:
    """The lanes of a test module: its ``LANES``, else two."""
    return getattr(request.module, "LANES", LANES)


@pytest.fixture(scope="module")
def store(rig_dir: Path, request: pytest.FixtureRequest):
    tmp_path = rig_dir
    tls = make_tls(tmp_path / "tls")
    port, proc = start_store_broker(tmp_path / "store", list(lane_ids(request)), tls,
                                    one_session_per_user=False)
    yield Store(port, tmp_path / "store", tls[0], proc)
    if proc.poll() is None:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def station_keys(rig_dir: Path):
    tmp_path = rig_dir
    key = station_key(tmp_path / "station" / "station.key", create=True)
    pub = tmp_path / "station" / "station.pub"
    pub.write_text(public_text(key) + "\n")
    return key, pub


@pytest.fixture(scope="module")
def lanes(rig_dir: Path, store: Store, station_keys, request: pytest.FixtureRequest):
    """The lanes, each with its own broker bridged to the store broker and its own core."""
    tmp_path = rig_dir
    rigs: dict[str, LaneRig] = {}
    procs = []
    for lane in lane_ids(request):
        link = StoreLink("127.0.0.1", store.port, store.cafile,
                         read_password(lane_user(lane), credentials_dir(store.workdir)))
        port, broker = start_broker(tmp_path / f"bus-{lane}", extra_conf=bridge_text(lane, link))
        procs.append(broker)
        env = kiosk_env(tmp_path / f"lane-{lane}", port, lane,
                        KIOSK__ATTENDANT__STATION_KEY=str(station_keys[1]))
        done = kiosk_cli(env, "catalog", "import", str(SAMPLE_CSV))
        assert done.returncode == 0, done.stderr
        core = CoreProcess(env, tmp_path / f"core-{lane}.log").start()
        rigs[lane] = LaneRig(lane, port, env, core, Shopper(port, lane), broker)
    for rig in rigs.values():
        rig.shopper.wait_online()
    yield rigs
    for rig in rigs.values():
        rig.shopper.close()
        rig.core.stop()
    for broker in procs:
        if broker.poll() is None:
            broker.terminate()
            broker.wait(10)


@dataclass
class Served:
    base: str
    board: LaneBoard
    key: Ed25519PrivateKey


@pytest.fixture(scope="module")
def station(rig_dir: Path, store: Store, station_keys):
    import uvicorn

    from kiosk.attendant.web import Station, make_app
    from kiosk.backoffice.app import listen_socket

    board = LaneBoard(store.login(STATION_USER), f"station-{id(rig_dir)}")
    assert board.start(wait_s=10), "the station could not reach the store broker"
    # the packaged demo staff (PIN 2468), as the lanes have them
    staff = StaffConfig.model_validate(tomllib.loads(defaults_file().read_text())["staff"])
    app = make_app(Station(board, staff, station_keys[0], rig_dir / "lockout.json"))
    sock = listen_socket("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield Served(f"http://127.0.0.1:{sock.getsockname()[1]}", board, station_keys[0])
    server.should_exit = True
    thread.join(10)
    board.stop()


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and DRIVER):
        pytest.skip("Debian chromium + chromium-driver not installed")
    pytest.importorskip("selenium.webdriver")
    driver = start_chromium("--window-size=1024,768")
    yield driver
    driver.quit()
