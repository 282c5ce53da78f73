"""A private pcscd with the vpcd virtual reader driver, for simulators, benchmarks and tests.

``PrivatePcscd`` starts ``pcscd -f`` with its own reader.conf directory (vpcd on a free
port pair, readers "Virtual PCD 00 00" and "00 01") and waits until pyscard lists the
reader. pcsc-lite 1.9.9's pcscd always listens on ``/run/pcscd/pcscd.comm`` (it ignores
``PCSCLITE_CSOCK_NAME``; only the client library honours it), and refuses to start while
another pcscd owns that socket. So, as root, pcscd runs in a private mount namespace
(``unshare --mount``) with a directory bound over ``/run/pcscd``, and the clients (this
process and its children) find it through ``PCSCLITE_CSOCK_NAME``, which libpcsclite reads
once per process at the first PC/SC call. Where namespaces are not allowed (some
containers), pcscd falls back to the real ``/run/pcscd``: one instance at a time, and no
system pcscd may run (a clear error says so). No systemd is needed.

vpcd's server binds all interfaces (INADDR_ANY, hard-coded in vsmartcard): so, where pcscd
gets a mount namespace, it also gets a network namespace of its own whose only interface is
loopback (``unshare --net``, ``ip link set lo up``). Nothing outside the namespace can
reach vpcd; the virtual card joins it to connect (kiosk_drivers.cardreader.sim.vpcd, through
``$VPCD_NETNS``, set here for this process and its children). Without namespaces
vpcd listens on every interface of the machine, and a warning says so. Development and CI
only, never on a device image.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from kiosk_drivers.cardreader.sim.vpcd import NETNS_ENV

log = logging.getLogger(__name__)
VPCD_LIB = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
READER0 = "Virtual PCD 00 00"
READER1 = "Virtual PCD 00 01"
SYSTEM_SOCKET_DIR = Path("/run/pcscd")


def free_port_pair() -> int:
    """A port p with p and p+1 free on all interfaces (vpcd binds INADDR_ANY)."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("0.0.0.0", 0))
            port = s.getsockname()[1]
        if port >= 65535:
            continue
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("0.0.0.0", port))
                b.bind(("0.0.0.0", port + 1))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port pair for vpcd")


def _no_shared_mounts() -> bool:
    """No mount of this namespace is in a shared peer group, so a mount made in a new
    namespace cannot propagate back (mountinfo's optional fields carry ``shared:N``)."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return False
    return not any(" shared:" in line.split(" - ")[0] for line in lines)


def _unshare_net() -> bool:
    """pcscd can have a network namespace with only loopback (root, ``ip`` installed)."""
    if not shutil.which("ip"):
        return False
    done = subprocess.run(["unshare", "--net", "ip", "link", "set", "lo", "up"],
                          capture_output=True)
    return done.returncode == 0


def _unshare_propagation(probe_dir: Path) -> str | None:
    """How pcscd can get its own mount namespace with a directory bound over /run/pcscd:
    ``unshare --propagation`` ``private`` (the usual case), ``unchanged`` (a chroot, where
    "/" is no mount point and cannot be made private; only taken when no mount is shared,
    so the bind mount stays inside), or None (not root, or refused by a container)."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return None
    SYSTEM_SOCKET_DIR.mkdir(parents=True, exist_ok=True)
    probe = f'mount --bind "{probe_dir}" {SYSTEM_SOCKET_DIR}'
    modes = ["private"] + (["unchanged"] if _no_shared_mounts() else [])
    for mode in modes:
        done = subprocess.run(["unshare", "--mount", "--propagation", mode, "sh", "-c", probe],
                              capture_output=True)
        if done.returncode == 0:
            return mode
    return None


def _system_pcscd_running() -> bool:
    try:
        pid = int((SYSTEM_SOCKET_DIR / "pcscd.pid").read_text().split()[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return False
    return True


class PrivatePcscd:
    """pcscd with vpcd on ``port`` (reader 0) and ``port + 1`` (reader 1)."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.workdir = workdir
        self.port = port or free_port_pair()
        self.conf_dir = workdir / "reader.conf.d"
        self.sock_dir = workdir / "run"
        self.log_path = workdir / "pcscd.log"
        self.proc: subprocess.Popen | None = None
        self.isolated = False
        self.netns: str | None = None  # /proc/PID/ns/net of pcscd when it has its own

    @property
    def socket_path(self) -> Path:
        return (self.sock_dir if self.isolated else SYSTEM_SOCKET_DIR) / "pcscd.comm"

    @property
    def env(self) -> dict[str, str]:
        """Environment for child processes that must talk to this pcscd."""
        env = dict(os.environ, PCSCLITE_CSOCK_NAME=str(self.socket_path))
        if self.netns:
            env[NETNS_ENV] = self.netns
        return env

    def start(self, timeout_s: float = 20.0) -> PrivatePcscd:
        if not shutil.which("pcscd") or not VPCD_LIB.exists():
            raise RuntimeError("pcscd and vsmartcard-vpcd are not installed (./setup.sh)")
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        self.sock_dir.mkdir(parents=True, exist_ok=True)
        # Same as Debian's /etc/reader.conf.d/vpcd, on our own port (0x8C7B = 35963 there).
        (self.conf_dir / "vpcd").write_text(
            'FRIENDLYNAME "Virtual PCD"\n'
            f"DEVICENAME   /dev/null:0x{self.port:04X}\n"
            f"LIBPATH      {VPCD_LIB}\n"
            f"CHANNELID    0x{self.port:04X}\n")
        pcscd = [shutil.which("pcscd") or "pcscd", "-f", "-c", str(self.conf_dir)]
        if os.environ.get("KIOSK_PCSCD_DEBUG"):
            pcscd += ["-d", "-a"]
        propagation = (None if os.environ.get("KIOSK_PCSCD_SHARED_RUN")
                       else _unshare_propagation(self.sock_dir))
        self.isolated = propagation is not None
        net = self.isolated and _unshare_net()
        if propagation is not None:
            script = f'mount --bind "{self.sock_dir}" {SYSTEM_SOCKET_DIR} && exec "$@"'
            if net:
                script = "ip link set lo up && " + script
            argv = ["unshare", "--mount", *(["--net"] if net else []), "--propagation",
                    propagation, "sh", "-c", script, "pcscd", *pcscd]
        else:
            if _system_pcscd_running():
                raise RuntimeError(
                    "another pcscd runs (/run/pcscd/pcscd.pid) and this machine cannot give "
                    "the test pcscd its own mount namespace: stop the other pcscd")
            argv = pcscd
        os.environ["PCSCLITE_CSOCK_NAME"] = str(self.socket_path)
        out = self.log_path.open("wb")
        self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        out.close()
        if net:  # unshare and sh exec pcscd: this pid is pcscd, in its namespace
            self.netns = f"/proc/{self.proc.pid}/ns/net"
            os.environ[NETNS_ENV] = self.netns
        else:
            os.environ.pop(NETNS_ENV, None)
            log.warning("vpcd listens on every interface (ports %d-%d): no network namespace"
                        " for pcscd here", self.port, self.port + 1)
        try:
            self.wait_reader(READER0, timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def __enter__(self) -> PrivatePcscd:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def readers(self) -> list[str]:
        from smartcard.Exceptions import SmartcardException
        from smartcard.pcsc.PCSCExceptions import BaseSCardException
        from smartcard.System import readers

        try:
            return [str(r) for r in readers()]
        except (SmartcardException, BaseSCardException):  # pcscd not up yet
            return []

    def wait_reader(self, name: str, timeout_s: float = 20.0) -> None:
        end = time.monotonic() + timeout_s
        while name not in self.readers():
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"pcscd exited ({self.proc.returncode}): {self.log_tail()}")
            if time.monotonic() >= end:
                raise RuntimeError(f"pcscd did not list {name!r} in {timeout_s} s: "
                                   f"{self.log_tail()}")
            time.sleep(0.05)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

