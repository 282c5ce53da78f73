"""Start a private mosquitto on loopback when no broker is listening.

Used by ``kiosk run`` (the demo) and by the tests; on the device the system
mosquitto (its own systemd unit, systemd/kiosk-mosquitto.conf) is the broker. The private
broker has the device's security: no anonymous clients, a password and an ACL per bus user
(kiosk/bus/acl.py), provisioned into ``<workdir>/credentials`` (:func:`credentials_dir`).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

from kiosk.bus.credentials import BusLogin, provision, provision_store, read_password
from kiosk.ports import free_port

MOSQUITTO_PATHS = ("/usr/sbin/mosquitto", "/usr/bin/mosquitto")
#: the device broker's files (systemd/kiosk-mosquitto.conf), written by `kiosk bus provision`
DEVICE_PASSWD_FILE = Path("/etc/mosquitto/kiosk.passwd")
DEVICE_ACL_FILE = Path("/etc/mosquitto/kiosk.acl")


class BrokerError(RuntimeError):
    pass


class PortTaken(BrokerError):
    """Another process listens on the broker's port (taken after :func:`free_port` chose it)."""


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or next(
        (p for p in MOSQUITTO_PATHS if Path(p).exists()), None)
    if not found:
        raise BrokerError("mosquitto is not installed (apt-get install mosquitto)")
    return found


def credentials_dir(workdir: Path) -> Path:
    """Where a private broker's users find their passwords (``bus.credentials_dir``)."""
    return workdir / "credentials"


def private_login(workdir: Path, port: int, username: str,
                  host: str = "127.0.0.1") -> BusLogin:
    """``username``'s login on the private broker started in ``workdir``."""
    return BusLogin(host, port, username, read_password(username, credentials_dir(workdir)))


def broker_security(passwd_file: Path, acl_file: Path, one_session_per_user: bool) -> str:
    """The security lines of a kiosk broker (the device's are in systemd/kiosk-mosquitto.conf).

    ``one_session_per_user``: the client id is the username, so only a holder of kiosk-core's
    password can take kiosk-core's session over. The device has one process per user; the
    tests' shared broker runs many lanes and tools at once and turns it off.
    """
    return (
        "allow_anonymous false\n"
        f"password_file {passwd_file}\n"
        f"acl_file {acl_file}\n"
        f"use_username_as_clientid {'true' if one_session_per_user else 'false'}\n"
    )


def start_private_broker(workdir: Path, port: int, host: str = "127.0.0.1",
                         one_session_per_user: bool = True,
                         extra_conf: str = "") -> subprocess.Popen:
    """Run mosquitto bound to loopback only, with passwords and ACLs provisioned into
    ``workdir`` (demo passwords); returns once it accepts connections. ``extra_conf``: lines
    added at the end (a bridge to the store broker, kiosk/bus/bridge.py)."""
    workdir.mkdir(parents=True, exist_ok=True)
    passwd, acl = workdir / "kiosk.passwd", workdir / "kiosk.acl"
    provision(credentials_dir(workdir), passwd, acl, demo=True)
    conf = workdir / "mosquitto.conf"
    conf.touch(mode=0o600)  # a bridge's lines carry its store password
    conf.write_text(
        f"listener {port} {host}\n"
        # as root, mosquitto would drop to the `mosquitto` user, which cannot read our files
        f"user {pwd.getpwuid(os.geteuid()).pw_name}\n"
        + broker_security(passwd, acl, one_session_per_user)
        + "persistence false\n"
        "log_dest stderr\n"
        "log_type error\n"
        "log_type warning\n"
        "max_packet_size 65536\n"
        "set_tcp_nodelay true\n"
        + extra_conf
    )
    return run_mosquitto(conf, workdir, host, port)


def start_store_broker(workdir: Path, lanes: list[str], tls: tuple[Path, Path, Path],
                       port: int = 0, host: str = "127.0.0.1",
                       one_session_per_user: bool = True) -> tuple[int, subprocess.Popen]:
    """The store broker the attendant station reads (kiosk/bus/bridge.py): TLS only (``tls``:
    CA, certificate, key files), one password per lane and the station's, provisioned into
    ``<workdir>/credentials`` (demo ones), the store ACL. Returns (port, process).
    ``one_session_per_user``: see :func:`broker_security` (tests that play an attacker with
    the station's own credential beside the station turn it off)."""
    workdir.mkdir(parents=True, exist_ok=True)
    passwd, acl = workdir / "store.passwd", workdir / "store.acl"
    provision_store(credentials_dir(workdir), lanes, passwd, acl, demo=True)
    cafile, certfile, keyfile = tls
    for attempt in range(5):
        chosen = port or free_port()
        conf = workdir / "mosquitto.conf"
        conf.write_text(
            f"listener {chosen} {host}\n"
            f"cafile {cafile}\ncertfile {certfile}\nkeyfile {keyfile}\n"
            "tls_version tlsv1.2\n"
            f"user {pwd.getpwuid(os.geteuid()).pw_name}\n"
            + broker_security(passwd, acl, one_session_per_user)
            + "persistence false\nlog_dest stderr\nlog_type error\nlog_type warning\n"
            "max_packet_size 1100000\nset_tcp_nodelay true\n"
        )
        try:
            return chosen, run_mosquitto(conf, workdir, host, chosen)
        except PortTaken:
            if port or attempt == 4:
                raise
    raise AssertionError("unreachable")


def run_mosquitto(conf: Path, workdir: Path, host: str, port: int) -> subprocess.Popen:
    """Start mosquitto with ``conf`` (its log in ``workdir``); returns once this mosquitto
    listens on ``port``."""
    log_path = workdir / "mosquitto.log"
    log = log_path.open("ab")
    proc = subprocess.Popen([mosquitto_binary(), "-c", str(conf)], stdout=log, stderr=log,
                            stdin=subprocess.DEVNULL)
    log.close()
    deadline = time.monotonic() + 10
    # listening on the port is not enough: another process may hold it (then this
    # mosquitto exits on "Address already in use"); it must be this mosquitto's socket
    while not (port_open(host, port) and _listens(proc.pid, port)):
        if proc.poll() is not None:
            if "Address already in use" in log_path.read_text(errors="replace"):
                raise PortTaken(f"port {port} is taken, see {log_path}")
            raise BrokerError(f"mosquitto exited with {proc.returncode}, see {workdir}")
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait(5)
            if port_open(host, port):
                raise PortTaken(f"another process listens on port {port}")
            raise BrokerError("mosquitto did not start listening within 10 s")
        time.sleep(0.05)
    return proc


def start_private_broker_on_free_port(workdir: Path, host: str = "127.0.0.1",
                                      one_session_per_user: bool = True,
                                      attempts: int = 5,
                                      extra_conf: str = "") -> tuple[int, subprocess.Popen]:
    """:func:`start_private_broker` on a free port: (port, process). A port is only free
    until someone binds it, and tests and benches start brokers side by side: when another
    process took the chosen port first, a new one is chosen."""
    for _ in range(attempts - 1):
        port = free_port()
        try:
            return port, start_private_broker(workdir, port, host, one_session_per_user,
                                              extra_conf)
        except PortTaken:
            continue
    port = free_port()
    return port, start_private_broker(workdir, port, host, one_session_per_user, extra_conf)


def _listens(pid: int, port: int) -> bool:
    """Process ``pid`` has a TCP socket listening on ``port`` (Linux /proc; where there is
    no /proc, the port answering is taken as enough)."""
    fd_dir = Path(f"/proc/{pid}/fd")
    if not fd_dir.parent.exists():
        return not Path("/proc/self").exists()
    try:
        sockets = {os.readlink(fd_dir / fd) for fd in os.listdir(fd_dir)}
    except OSError:  # the process is gone
        return False
    for table in ("tcp", "tcp6"):
        try:
            rows = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            listening = fields[3] == "0A"  # TCP_LISTEN
            if listening and int(fields[1].rsplit(":", 1)[1], 16) == port \
                    and f"socket:[{fields[9]}]" in sockets:
                return True
    return False
