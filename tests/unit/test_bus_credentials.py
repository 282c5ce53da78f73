"""Bus credentials and ACL: provisioning, reading one's password, the ACL table, the device
broker's settings."""

from __future__ import annotations

import ast
import grp
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.bus import acl
from kiosk.bus.broker import DEVICE_ACL_FILE, DEVICE_PASSWD_FILE, broker_security
from kiosk.bus.credentials import (
    CredentialError,
    hash_matches,
    provision,
    read_password,
)
from kiosk.bus.messages import Topics, command
from tests.harness import REPO


def _provision(tmp_path: Path, demo: bool = False) -> list[str]:
    return provision(tmp_path / "creds", tmp_path / "kiosk.passwd", tmp_path / "kiosk.acl",
                     demo=demo)


def test_provision_gives_every_user_a_private_password_and_keeps_it(tmp_path: Path) -> None:
    assert _provision(tmp_path) == list(acl.USERNAMES)
    first = {u: read_password(u, tmp_path / "creds") for u in acl.USERNAMES}
    assert len(set(first.values())) == len(acl.USERNAMES)
    for path in (tmp_path / "creds").iterdir():
        assert path.stat().st_mode & 0o777 == 0o600, path
    for path in (tmp_path / "kiosk.passwd", tmp_path / "kiosk.acl"):
        st = path.stat()  # as root: readable by the broker's group only (it drops to it)
        assert st.st_mode & 0o777 in (0o600, 0o640), path
        if st.st_mode & 0o040:
            assert grp.getgrgid(st.st_gid).gr_name == "mosquitto"
    passwd = (tmp_path / "kiosk.passwd").read_text()

    assert _provision(tmp_path) == []       # idempotent: nothing new, nothing changed
    assert {u: read_password(u, tmp_path / "creds") for u in acl.USERNAMES} == first
    assert (tmp_path / "kiosk.passwd").read_text() == passwd
    hashes = dict(line.split(":", 1) for line in passwd.splitlines())
    assert all(hash_matches(first[u], hashes[u]) for u in acl.USERNAMES)
    assert not hash_matches("guess", hashes["kiosk-core"])


def test_a_lost_password_file_is_remade_alone(tmp_path: Path) -> None:
    _provision(tmp_path)
    kept = read_password("kiosk-core", tmp_path / "creds")
    (tmp_path / "creds" / "kiosk-ui.password").unlink()
    assert _provision(tmp_path) == ["kiosk-ui"]
    assert read_password("kiosk-core", tmp_path / "creds") == kept


def test_readable_missing_or_demo_passwords_are_refused(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    creds = tmp_path / "creds"
    with pytest.raises(CredentialError, match="kiosk-core missing: .*kiosk-core.password"):
        read_password("kiosk-core", creds)
    _provision(tmp_path, demo=True)
    assert read_password("kiosk-core", creds).startswith("demo-")
    with pytest.raises(CredentialError, match="production.*demo"):
        read_password("kiosk-core", creds, production=True)
    os.chmod(creds / "kiosk-ui.password", 0o640)
    with pytest.raises(CredentialError, match=r"readable by others \(mode 0640\): chmod 600"):
        read_password("kiosk-ui", creds)


def test_systemd_credential_comes_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _provision(tmp_path)
    loaded = tmp_path / "systemd-creds"
    loaded.mkdir()
    (loaded / "bus-password").write_text("x" * 40 + "\n")
    os.chmod(loaded / "bus-password", 0o400)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(loaded))
    assert read_password("kiosk-ui", tmp_path / "creds", production=True) == "x" * 40


def test_a_production_service_without_its_password_stops_with_a_clear_error(
        tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("KIOSK") and k != "CREDENTIALS_DIRECTORY"}
    env.update(KIOSK_CONFIG_DIR=str(tmp_path / "etc"), KIOSK__PATHS__STATE_DIR=str(tmp_path),
               KIOSK__BUS__CREDENTIALS_DIR=str(tmp_path / "creds"))
    done = subprocess.run([sys.executable, "-m", "kiosk.cli", "sim", "scan", "123"], env=env,
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "bus password for kiosk-cli missing" in done.stderr
    assert "Traceback" not in done.stderr


def test_kiosk_bus_provision_command(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK")}
    env.update(KIOSK_CONFIG_DIR=str(tmp_path / "etc"), KIOSK__PATHS__STATE_DIR=str(tmp_path))
    args = [sys.executable, "-m", "kiosk.cli", "bus", "provision", "--credentials-dir",
            str(tmp_path / "creds"), "--passwd", str(tmp_path / "p"), "--acl", str(tmp_path / "a")]
    first = subprocess.run(args, env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert f"{len(acl.USERNAMES)} new password(s)" in first.stdout
    again = subprocess.run(args, env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert "0 new password(s)" in again.stdout
    assert (tmp_path / "a").read_text() == acl.acl_text()


def test_every_topic_has_a_writer_and_only_the_core_writes_state() -> None:
    every = Topics("+")
    names = [v for k, v in vars(every).items() if not k.startswith("_")]
    writes = {t for u in acl.USERS for t in u.writes}
    reads = {t for u in acl.USERS for t in u.reads}
    for topic in names:
        assert topic in writes or topic == every.commands, topic
        assert topic in reads or any(r.endswith("#") and topic.startswith(r[:-1])
                                     for r in reads), topic
    for topic in (every.state, every.result):
        assert [u.username for u in acl.USERS if topic in u.writes] == ["kiosk-core"]
    # kiosk-fault@ closes the lane when a unit failed for good; nobody else speaks for the core
    assert [u.username for u in acl.USERS
            if every.core_status in u.writes] == ["kiosk-core", "kiosk-fault"]
    assert [u.username for u in acl.USERS if every.command_from("ui") in u.writes] == ["kiosk-ui"]
    text = acl.acl_text()
    assert "user kiosk-core\n" in text and "topic write kiosk/v1/+/state\n" in text


def test_each_service_may_send_only_its_own_commands() -> None:
    door = command("device", source="gpio", device="door", ok=False, detail="open")
    scanner_fault = command("device", source="scanner", device="scanner", ok=False)
    assert acl.may_send("gpio", door) and acl.may_send("cli", door)
    assert not acl.may_send("ui", door) and not acl.may_send("voice", door)
    assert not acl.may_send("scanner", door) and acl.may_send("scanner", scanner_fault)
    assert not acl.may_send("gpio", scanner_fault)
    pay = command("pay", source="ui", method="card")
    assert acl.may_send("ui", pay) and acl.may_send("voice", pay)
    assert not acl.may_send("scanner", pay) and not acl.may_send("gpio", pay)
    assert not acl.may_send("core", pay) and not acl.may_send("", pay)
    pin = command("attendant", source="ui", action="cancel_basket")
    assert acl.may_send("ui", pin) and not acl.may_send("voice", pin)


def test_the_device_broker_has_the_tested_security_settings() -> None:
    device = (REPO / "systemd" / "kiosk-mosquitto.conf").read_text().splitlines()
    settings = [ln for ln in device if ln and not ln.startswith("#")]
    for line in broker_security(DEVICE_PASSWD_FILE, DEVICE_ACL_FILE, True).splitlines():
        assert line in settings
    assert "allow_anonymous true" not in settings


def test_no_topic_is_spelled_outside_topics() -> None:
    """The ACL covers the topics of kiosk/bus/messages.py Topics; a topic string built
    anywhere else would be one the ACL does not know (its publisher silently dropped)."""
    owners = {REPO / "kiosk" / "bus" / "messages.py", REPO / "kiosk" / "bus" / "acl.py"}
    spelled = []
    for path in sorted(p for d in ("kiosk", "drivers", "voice")
                       for p in (REPO / d).rglob("*.py")):
        if path in owners:
            continue
        tree = ast.parse(path.read_text(), str(path))
        docstrings = {id(n.value) for n in ast.walk(tree)
                      if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)}
        for node in ast.walk(tree):
            literal = (isinstance(node, ast.Constant) and isinstance(node.value, str)
                       and "kiosk/v1" in node.value and id(node) not in docstrings)
            from_root = (isinstance(node, ast.JoinedStr) and node.values
                         and isinstance(node.values[0], ast.FormattedValue)
                         and isinstance(node.values[0].value, ast.Name)
                         and node.values[0].value.id == "ROOT")
            if literal or from_root:
                spelled.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert spelled == []
