"""Provisioning end to end: ``kiosk flash --provision`` puts the lane's file in the card's
FAT boot partition (mtools), ``kiosk provision`` applies it to a root tree with the right
modes and removes it; a bad file is rejected naming the key, and nothing is applied."""

from __future__ import annotations

import os
import shutil
import stat
import tomllib
from pathlib import Path

import pytest

from kiosk.config import load_config
from kiosk.ops.provision import toml_dumps
from kiosk.security.staff import DEMO_BADGE, DEMO_PIN, hash_secret
from tests.flash.conftest import BOOT_OFFSET, SourceImage, run_kiosk, sh
from tests.harness import kiosk_cli

PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUTEST\n-----END CERTIFICATE-----\n"
PSK = "correct horse battery staple"
GOOD = f'''# kiosk-provision.toml for lane L07
[store]
store_id = "S014"
lane_id = "L07"
name = "Harbour Street Market (Busan)"
default_locale = "ko"

[system]
time_zone = "Asia/Seoul"
ntp = ["ntp1.example.kr", "192.0.2.10"]

[wifi]
ssid = "Shop Floor"
psk = "{PSK}"
country = "KR"

[keys]
acquirer-ca = """{PEM}"""

[config.sim.payment]
latency_ms = 100
'''


def tree(root: Path) -> dict[str, tuple[int, bytes | str]]:
    """Every path under root → (mode, content or link target)."""
    out = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        body = os.readlink(path) if path.is_symlink() else (
            path.read_bytes() if path.is_file() else b"")
        out[str(path.relative_to(root))] = (stat.S_IMODE(st.st_mode), body)
    return out


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A target root with kiosk-core's user (and another service's), an existing hosts
    file and a site layer."""
    r = tmp_path / "root"
    (r / "etc" / "kiosk").mkdir(parents=True)
    (r / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/bash\n"
                                      "kiosk-ui:x:991:991::/var/lib/kiosk-ui:/usr/sbin/nologin\n"
                                      "kiosk-core:x:990:990::/var/lib/kiosk:/usr/sbin/nologin\n")
    (r / "etc" / "hosts").write_text("127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n")
    (r / "etc" / "kiosk" / "20-hardware.toml").write_text('[devices]\nprinter = "sim"\n')
    return r


def boot_files(card: Path) -> list[str]:
    return sh("mdir", "-b", "-i", f"{card}@@{BOOT_OFFSET}", "::/").stdout.split()


def test_flash_then_first_boot_applies_the_lane(tmp_path: Path, image: SourceImage,
                                                card: Path, root: Path):
    prov = tmp_path / "L07.toml"
    prov.write_text(GOOD)
    done = run_kiosk("flash", str(image.path), str(card), "--yes", "--provision", str(prov))
    assert done.returncode == 0, done.stderr
    assert "provisioning file written to boot partition 1 (KIOSK-BOOT)" in done.stderr
    assert "::/kiosk-provision.toml" in boot_files(card)
    assert PSK not in done.stderr  # the summary names the network, never its passphrase

    # first boot, without mounting: the boot partition is read through mtools
    done = run_kiosk("provision", "--boot", str(card), "--root", str(root))
    assert done.returncode == 0, done.stderr
    assert "provision: applied store S014 lane L07" in done.stderr
    assert PSK not in done.stderr
    assert "::/kiosk-provision.toml" not in boot_files(card)
    assert "::/config.txt" in boot_files(card)  # the rest of the boot partition is intact
    assert PSK.encode() not in card.read_bytes()  # overwritten in place, not just unlinked

    etc = root / "etc"
    files = tree(root)
    assert files["etc/kiosk/keys"][0] == 0o700
    assert files["etc/kiosk/keys/acquirer-ca.pem"] == (0o600, PEM.encode())
    assert (etc / "kiosk" / "keys" / "acquirer-ca.pem").stat().st_uid == 990
    wifi = files["etc/NetworkManager/system-connections/kiosk-wifi.nmconnection"]
    assert wifi[0] == 0o600 and f"psk={PSK}".encode() in wifi[1]
    assert b"ssid=Shop Floor\n" in wifi[1] and b"key-mgmt=wpa-psk" in wifi[1]
    assert files["etc/hostname"] == (0o644, b"kiosk-s014-l07\n")
    assert b"127.0.1.1\tkiosk-s014-l07\n" in files["etc/hosts"][1]
    assert b"127.0.1.1\tdebian" not in files["etc/hosts"][1]
    assert files["etc/localtime"][1] == "/usr/share/zoneinfo/Asia/Seoul"
    assert files["etc/systemd/timesyncd.conf.d/kiosk.conf"] == (
        0o644, b"# written by kiosk provision\n[Time]\nNTP=ntp1.example.kr 192.0.2.10\n")
    assert files["etc/modprobe.d/kiosk-wifi-country.conf"][1].endswith(b"regdom=KR\n")
    assert files["etc/kiosk/10-site.toml"][0] == 0o644
    assert not [p for p in files if "kiosk-new" in p]  # no staging leftovers

    # the kiosk's own loader takes the new layer over the existing ones
    config = load_config(site_dir=etc / "kiosk", environ={})
    assert (config.store.store_id, config.store.lane_id) == ("S014", "L07")
    assert config.store.default_locale == "ko"
    assert config.sim.payment.latency_ms == 100
    assert '"S014"' in (root / "var/lib/kiosk/provisioned.json").read_text()

    # an update replaces the root (and /etc with it); the data partition keeps a root-only
    # copy of the applied file, and the new root's first boot applies it again
    kept = root / "var/lib/kiosk-provision/applied.toml"
    assert tree(root)["var/lib/kiosk-provision/applied.toml"] == (0o600, GOOD.encode())
    assert tree(root)["var/lib/kiosk-provision"][0] == 0o700
    for name in ("kiosk", "NetworkManager", "systemd", "hostname", "hosts", "localtime"):
        path = etc / name
        path.unlink() if path.is_file() or path.is_symlink() else shutil.rmtree(path)
    done = run_kiosk("provision", "--boot", str(card), "--root", str(root))
    assert done.returncode == 0, done.stderr
    assert "re-applied the kept provisioning on a new root" in done.stderr
    assert tree(root)["etc/kiosk/keys/acquirer-ca.pem"] == (0o600, PEM.encode())
    assert kept.exists()
    done = run_kiosk("provision", "--boot", str(card), "--root", str(root))
    assert "nothing to do" in done.stderr  # already there: applied once per root


@pytest.mark.parametrize("change, key", [
    (('psk = "' + PSK + '"', 'psk = "short"'), "wifi.psk"),
    (('time_zone = "Asia/Seoul"', 'time_zone = "Asia/Busan"'), "system.time_zone"),
    (('lane_id = "L07"', 'lane_id = "L 07"'), "store.lane_id"),
    (('ntp = ["ntp1.example.kr", "192.0.2.10"]', 'ntp = []'), "system.ntp"),
    (("latency_ms = 100", "latency_ms = -5"), "sim.payment.latency_ms"),
    (('default_locale = "ko"', 'default_locale = "fr"'),
     "store.default_locale: no catalog for locale 'fr'"),
    (("[wifi]", "[wlan]"), "wlan"),
    (('store_id = "S014"', 'store_id = "S014'), "not valid TOML"),
])
def test_a_bad_file_is_rejected_naming_the_key_and_nothing_is_applied(
        tmp_path: Path, root: Path, change: tuple[str, str], key: str):
    boot = tmp_path / "boot"
    boot.mkdir()
    bad = GOOD.replace(*change)
    assert bad != GOOD
    (boot / "kiosk-provision.toml").write_text(bad)
    before = tree(root)
    done = run_kiosk("provision", "--boot", str(boot), "--root", str(root))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "rejected, nothing applied" in done.stderr and key in done.stderr, done.stderr
    assert PSK not in done.stderr and "short" not in done.stderr
    after = tree(root)
    marker = after.pop("var/lib/kiosk/provision-rejected")
    assert key in marker[1].decode()
    after = {p: v for p, v in after.items() if p not in ("var", "var/lib", "var/lib/kiosk")}
    assert after == before
    assert not (boot / "kiosk-provision.toml").exists()
    assert (boot / "kiosk-provision.toml.rejected").read_text() == bad

    # the same check is available to technicians before flashing
    (tmp_path / "L07.toml").write_text(bad)
    done = run_kiosk("provision", "--validate", str(tmp_path / "L07.toml"))
    assert done.returncode == 1 and key in done.stderr
    done = run_kiosk("flash", str(tmp_path / "none.img"), str(tmp_path / "card"), "--provision",
                     str(tmp_path / "L07.toml"), "--yes")
    assert done.returncode == 2 and "nothing written" in done.stderr and key in done.stderr


def test_a_good_file_in_a_mounted_boot_dir_is_overwritten_then_removed(tmp_path: Path,
                                                                      root: Path):
    boot = tmp_path / "boot"
    boot.mkdir()
    source = boot / "kiosk-provision.toml"
    wired = GOOD[:GOOD.index("[wifi]")] + GOOD[GOOD.index("[keys]"):]
    source.write_text(wired)
    witness = tmp_path / "witness"
    os.link(source, witness)  # a second name for the same blocks shows what consume left
    (root / "etc/NetworkManager/system-connections").mkdir(parents=True)
    old_wifi = root / "etc/NetworkManager/system-connections/kiosk-wifi.nmconnection"
    old_wifi.write_text("[wifi]\nssid=old\n")
    (root / "var/lib/kiosk").mkdir(parents=True)
    (root / "var/lib/kiosk/provision-rejected").write_text("earlier bad file\n")
    done = run_kiosk("provision", "--boot", str(boot), "--root", str(root))
    assert done.returncode == 0, done.stderr
    assert "no Wi-Fi (wired)" in done.stderr
    assert not source.exists() and not old_wifi.exists()
    assert not (root / "var/lib/kiosk/provision-rejected").exists()
    assert witness.read_bytes() == b"\0" * len(wired.encode())  # overwritten, then unlinked
    again = run_kiosk("provision", "--boot", str(boot), "--root", str(root))
    assert again.returncode == 0 and "nothing to do" in again.stderr


def test_validate_reports_a_good_file(tmp_path: Path):
    (tmp_path / "L07.toml").write_text(GOOD)
    done = run_kiosk("provision", "--validate", str(tmp_path / "L07.toml"))
    assert done.returncode == 0, done.stderr
    assert "OK: store S014 lane L07" in done.stdout and "Wi-Fi 'Shop Floor'" in done.stdout


def test_site_layer_toml_round_trips():
    data = {"store": {"lane_id": "L07", "receipt_header": ["Line \"1\"", "라인 2"]},
            "tax": {"mode": "inclusive", "rates": {"standard": "10", "zero": "0"}},
            "promotions": [{"id": "A", "name": {"en": "x"}, "n": 2, "gtins": ["1"]},
                           {"id": "B", "name": {"ko": "y"}, "n": 3, "gtins": []}],
            "flags": {"on": True, "ratio": 0.5, "weird key": 1}}
    assert tomllib.loads(toml_dumps(data)) == data


# --- staff: a device never keeps the demo PIN ----------------------------------------------

PIN_HASH = hash_secret("591737")
BADGE_HASH = hash_secret("STAFF:K2-0042")
STAFF = f'''
[[staff]]
id = "K1"
name = "Kim Minji"
pin_hash = "{PIN_HASH}"

[[staff]]
id = "K2"
name = "Lee Jun"
badge_hash = "{BADGE_HASH}"
'''


@pytest.fixture
def device_root(root: Path) -> Path:
    """A root with the full image's device profile: production, no simulators."""
    (root / "etc" / "kiosk" / "20-hardware.toml").write_text(
        '[security]\nproduction = true\n[devices]\nscanner = "camera"\nprinter = "escpos"\n'
        'payment = "card"\n[payments]\nmethods = ["card"]\n')
    return root


def provision(tmp_path: Path, root: Path, text: str):
    boot = tmp_path / "boot"
    boot.mkdir(exist_ok=True)
    (boot / "kiosk-provision.toml").write_text(text)
    return run_kiosk("provision", "--boot", str(boot), "--root", str(root))


def test_a_device_rejects_a_file_that_keeps_the_demo_staff(tmp_path: Path, device_root: Path):
    before = tree(device_root)
    done = provision(tmp_path, device_root, GOOD)
    assert done.returncode == 1, done.stderr
    assert "rejected, nothing applied" in done.stderr
    assert "demo credentials" in done.stderr and "S100 PIN" in done.stderr
    assert not (device_root / "etc/kiosk/10-site.toml").exists()
    assert {p for p in tree(device_root) if not p.startswith("var")} == set(before)


def test_provisioning_sets_the_staff_as_hashes_kiosk_core_alone_reads(tmp_path: Path,
                                                                      device_root: Path):
    done = provision(tmp_path, device_root, GOOD + STAFF)
    assert done.returncode == 0, done.stderr
    assert "2 staff" in done.stderr
    files = tree(device_root)
    assert files["etc/kiosk/private"][0] == 0o700
    mode, body = files["etc/kiosk/private/staff.toml"]
    assert mode == 0o600 and PIN_HASH.encode() in body and BADGE_HASH.encode() in body
    assert b"scrypt" not in files["etc/kiosk/10-site.toml"][1]  # 0644: no hashes there
    config = load_config(site_dir=device_root / "etc" / "kiosk", environ={})
    assert [(m.id, m.pin_hash, m.badge_hash) for m in config.staff.members] == [
        ("K1", PIN_HASH, None), ("K2", None, BADGE_HASH)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK")}
    check = kiosk_cli(dict(env, KIOSK_CONFIG_DIR=str(device_root / "etc" / "kiosk")),
                      "config", "check")
    assert check.returncode == 0, check.stderr

    # re-provisioned without [[staff]]: the old staff file goes, so the demo would be back
    # on a device: refused, and the lane keeps its staff
    done = provision(tmp_path, device_root, GOOD)
    assert done.returncode == 1 and "demo credentials" in done.stderr
    assert (device_root / "etc/kiosk/private/staff.toml").read_text() == body.decode()


@pytest.mark.parametrize("line, key", [
    ('pin = "591737"', "staff.0.pin"),
    ('pin_hash = "591737"', "staff.0.pin_hash"),
])
def test_a_pin_in_clear_is_refused_and_never_echoed(tmp_path: Path, line: str, key: str):
    (tmp_path / "L07.toml").write_text(GOOD + '\n[[staff]]\nid = "K1"\nname = "Kim"\n'
                                       + line + "\n")
    done = run_kiosk("provision", "--validate", str(tmp_path / "L07.toml"))
    assert done.returncode == 1 and key in done.stderr, done.stderr
    assert "591737" not in done.stderr + done.stdout


def test_hash_pin_refuses_the_demo_credentials():
    for secret in (DEMO_PIN, DEMO_BADGE):
        done = run_kiosk("staff", "hash-pin", stdin=secret + "\n")
        assert done.returncode == 2 and "demo credential" in done.stderr
    done = run_kiosk("staff", "hash-pin", stdin="591737\n")
    assert done.returncode == 0 and done.stdout.startswith("scrypt$16384$8$1$")
