"""UI test fixtures: one Xvfb per session, UI processes per test, screenshot folders.

Each UI runs as its own process (Kivy allows one App per process) with the
test-control channel on; ``tests/ui/driver.py`` talks to it. The screenshot
folders are listed at the end of the run (tests/conftest.py, from the test reports, so
they are listed when the tests ran in xdist workers too).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.harness import build_once, kiosk_env
from tests.ui.driver import SHOTS_ROOT, UIProcess, Xvfb


@pytest.fixture(scope="session")
def xvfb():
    display = Xvfb()
    yield display
    display.stop()


def font_choice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The UI's font choice for the default locales (and the faces it extracted), made once
    per run by the UI's own code: a kiosk chooses once and keeps the choice in its state
    folder, so each test's UI starts as a kiosk does after its first start (the choice and
    the extraction, ~2 s and 65 MB of each start otherwise, are tested in test_fonts.py)."""
    def build(folder: Path) -> None:
        from kiosk.config import load_config
        from kiosk.ui import resolve_fonts

        resolve_fonts(load_config(environ=kiosk_env(folder / "state", 1, "FONTS")),
                      folder / "fonts")

    return build_once(tmp_path_factory, "ui-fonts", build) / "fonts" / "choice.json"


@pytest.fixture
def ui_factory(lane_env, xvfb, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory):
    """Start ``kiosk ui`` processes on this test's lane; all are stopped at teardown. Each
    UI finds the run's font choice in its state folder; a UI configured otherwise (other
    locales or currency) sees the choice's key differ and chooses its own."""
    started: list[UIProcess] = []
    choice = font_choice(tmp_path_factory)

    def start(*args: str, **env_overrides: str) -> UIProcess:
        env = dict(lane_env, **env_overrides)
        fonts = Path(env["KIOSK__PATHS__STATE_DIR"]) / "ui" / "fonts"
        if not fonts.exists():
            fonts.mkdir(parents=True)
            shutil.copyfile(choice, fonts / "choice.json")
        ui = UIProcess(env, xvfb.display, tmp_path, args=args).start()
        started.append(ui)
        return ui

    yield start
    for ui in started:
        ui.stop()


def _shots_folder(test_name: str) -> Path:
    return SHOTS_ROOT / test_name.replace("[", "-").replace("]", "").replace("/", "-")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Two tests sharing a screenshot folder would wipe each other's PNGs, and in parallel
    workers while the other still writes: refuse the run."""
    owners: dict[Path, str] = {}
    for item in items:
        if "shots" in getattr(item, "fixturenames", ()):
            owner = owners.setdefault(_shots_folder(item.name), item.nodeid)
            if owner != item.nodeid:
                raise pytest.UsageError(f"{item.nodeid} and {owner} would share the screenshot"
                                        f" folder {_shots_folder(item.name)}: rename one")


@pytest.fixture
def shots(request):
    """A fresh folder for this test's screenshots (kept after the run, under var/)."""
    folder = _shots_folder(request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    request.node.user_properties.append(("screenshots", str(folder)))
    print(f"screenshots: {folder}")
    return folder


@pytest.fixture
def ui_fonts(lane_env) -> dict[str, str]:
    """Kivy font name → font file, as the UI chose them (read after a UI has started)."""
    def load() -> dict[str, str]:
        memo = Path(lane_env["KIOSK__PATHS__STATE_DIR"]) / "ui" / "fonts" / "choice.json"
        faces = json.loads(memo.read_text())["faces"]
        return {f"kiosk-{lang}": face["regular"] for lang, face in faces.items()} | {
            f"kiosk-{lang}#bold": face["bold"] for lang, face in faces.items()}
    return load
