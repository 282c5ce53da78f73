"""The project installs like a package: a wheel built from the source holds the code and the
package data (config defaults, sample catalog, message catalogs, ISO 8583 dialects) under
the top-level packages kiosk, kiosk_drivers, kiosk_voice and kiosk_config only; installed
into a fresh venv outside the checkout, `kiosk config check` passes and `kiosk core` on the
simulators sells one item over a private mosquitto.

The fresh venv sees nothing of the checkout: it is created without pip, the wheel is its
only copy of the project, and the third-party libraries come from this venv's
site-packages linked in entry by entry, leaving out the editable install (its finder,
its .pth and its dist-info); the processes run with their cwd in a temporary folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.fixtures.sample_items import MILK
from tests.harness import REPO, Shopper, kiosk_env
from tests.integration.flow import to_receipt

pytestmark = pytest.mark.integration

PACKAGES = {"kiosk": "kiosk", "kiosk_drivers": "drivers", "kiosk_voice": "voice",
            "kiosk_config": "config"}
#: the files of config/ the application reads at run time (pyproject package-data)
RUNTIME_DATA = ("defaults.toml", "catalog/*.csv", "i18n/*/LC_MESSAGES/*.po",
                "iso8583/*.toml")


def _is_editable_install(name: str) -> bool:
    return (name.startswith("__editable__") or name.startswith("kiosk-")
            or name.split(".")[0] in PACKAGES)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built offline from a copy of the sources (no build/ left in the checkout)."""
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in PACKAGES.values():
        shutil.copytree(REPO / folder, src / folder, ignore=skip)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                           "--no-build-isolation", "--no-index", "-w", str(work / "dist"),
                           str(src)], cwd=work, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    (built,) = (work / "dist").glob("kiosk-*.whl")
    return built


@pytest.fixture(scope="module")
def fresh_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv outside the checkout holding the wheel and, linked in, the dependencies."""
    venv = tmp_path_factory.mktemp("venv") / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig."
                                "get_paths()['purelib'])"], capture_output=True, text=True,
                               check=True).stdout.strip())
    ours = Path(sysconfig.get_paths()["purelib"])
    for entry in ours.iterdir():
        if not _is_editable_install(entry.name) and entry.name != "__pycache__":
            (site / entry.name).symlink_to(entry)
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                           "-q", "--no-deps", "--no-index", str(wheel)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return venv


def test_the_wheel_holds_the_packages_and_their_data(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    tops = {n.split("/")[0] for n in names if ".dist-info/" not in n}
    assert tops == set(PACKAGES)  # no generic top-level drivers/ or voice/
    for package, folder in PACKAGES.items():
        for module in (REPO / folder).rglob("*.py"):
            assert f"{package}/{module.relative_to(REPO / folder)}" in names, module
    data = [p for pattern in RUNTIME_DATA for p in (REPO / "config").glob(pattern)]
    assert len(data) >= 10
    for path in data:
        assert f"kiosk_config/{path.relative_to(REPO / 'config')}" in names, path
    migrations = sorted((REPO / "kiosk" / "backoffice" / "migrations").glob("*.sql"))
    assert migrations  # the back office's schema ships with the package (kiosk.resources)
    for path in migrations:
        assert f"kiosk/backoffice/migrations/{path.name}" in names, path
    # the attendant station page's script and style sheet (kiosk.resources.attendant_static)
    assert {"kiosk/attendant/static/station.js", "kiosk/attendant/static/chime.js",
            "kiosk/attendant/static/station.css"} <= names
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[kiosk.acquirer_dialects]" in text and "alt_ascii_dual = " in text


def test_installed_wheel_checks_its_config_and_sells(fresh_venv: Path, broker_port: int,
                                                       tmp_path: Path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    lane = f"W{os.getpid()}"
    env = kiosk_env(tmp_path / "state", broker_port, lane)
    env.pop("PYTHONPATH", None)
    kiosk = str(fresh_venv / "bin" / "kiosk")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(args, cwd=outside, env=env, capture_output=True, text=True,
                              timeout=60)

    where = run(str(fresh_venv / "bin" / "python"), "-c",
                "import kiosk, kiosk_config, kiosk_drivers, kiosk_voice, importlib.util\n"
                "print(kiosk.__file__, kiosk_config.__file__, kiosk_drivers.__file__,"
                " kiosk_voice.__file__)\n"
                "print(importlib.util.find_spec('drivers'), importlib.util.find_spec('voice'))")
    assert where.returncode == 0, where.stderr
    files, generic = where.stdout.splitlines()
    assert all(Path(f).is_relative_to(fresh_venv) for f in files.split()), files
    assert generic == "None None"
    dialect = run(str(fresh_venv / "bin" / "python"), "-c",
                  "from kiosk.payments.iso8583 import load_dialect\n"
                  "print(load_dialect('alt_ascii_dual').path)")
    assert dialect.returncode == 0, dialect.stderr
    assert Path(dialect.stdout.strip()).is_relative_to(fresh_venv)  # entry point of the wheel

    check = run(kiosk, "config", "check")
    assert check.returncode == 0, check.stderr
    assert f"lane {lane}" in check.stdout
    sample = next(fresh_venv.glob("lib/python*/site-packages/kiosk_config/catalog/sample.csv"))
    imported = run(kiosk, "catalog", "import", str(sample))
    assert imported.returncode == 0, imported.stderr

    log = (tmp_path / "core.log").open("ab")
    core = subprocess.Popen([kiosk, "core"], cwd=outside, env=env, stdout=log, stderr=log)
    shopper = Shopper(broker_port, lane)
    try:
        shopper.wait_online()
        assert shopper.send("scan", code=MILK)["ok"]
        assert shopper.send("checkout")["ok"]
        assert shopper.send("pay", method="card")["ok"]
        st = to_receipt(shopper)
        assert st["payment"]["status"] == "approved" and st["totals"]["total"] == 193
        receipt = Path(st["receipt"]["path"]).read_text()
        assert "Milk" in receipt and "$1.93" in receipt
    finally:
        shopper.close()
        core.terminate()
        core.wait(15)
        log.close()
    assert core.returncode == 0, (tmp_path / "core.log").read_text()[-3000:]
