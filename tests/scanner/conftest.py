"""Scanner test data, generated once per session in a temporary directory.

The session video shows every sample code once (each class), then the same product held
for three seconds (shaken, unreadable, for 0.4 s of them), taken away and shown again
(still, on a stand), and a product shown again too soon after leaving (inside the
hold-off); garbage frames (black, white, noise, random bars, digits, checkerboard) and a
hand passing sit between presentations. Frames
are 640x480 MJPG at 30 fps, read back through the scanner's capture path.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from kiosk_drivers.scanner.sim.synth import (
    GARBAGE_KINDS,
    SPECS,
    Placement,
    Presentation,
    Truth,
    write_session,
)

from tests.harness import build_once

SIZE = (640, 480)


def packaged_variable_measure():
    import tomllib

    from kiosk.config import DEFAULTS_FILE
    from kiosk.domain.gtin import VariableMeasureConfig

    with DEFAULTS_FILE.open("rb") as fh:
        return VariableMeasureConfig.model_validate(tomllib.load(fh)["variable_measure"])
HOLD_LONG = 90  # frames: three seconds in view


@pytest.fixture(scope="session")
def vm_config():
    """The packaged variable-measure layouts (only that section of config/defaults.toml)."""
    return packaged_variable_measure()


@pytest.fixture(scope="session")
def classify(vm_config):
    """The kiosk's classifier with the default ``[scanner.classify]`` rules (the engine's)."""
    from kiosk_drivers.scanner.config import ScannerConfig

    from kiosk.services.scanner import classifier_for

    return classifier_for(ScannerConfig(), vm_config)


def session_presentations() -> list[Presentation]:
    pres = []
    for i, name in enumerate(SPECS):
        angle = (-1) ** i * (4 + 3 * (i % 3))
        pres.append(Presentation(name, hold=12, gap=27, hand_in_gap=i % 4 == 1,
                                 placement=Placement(0.5 + 0.03 * (i % 3 - 1), 0.5, 0.42,
                                                     angle, 0.1 * (i % 2))))
    pres += [
        # held three seconds, shaken (unreadable) for 0.4 s in the middle: one read
        Presentation("ean13_ramyun", hold=HOLD_LONG, gap=30, shake=(40, 12)),
        Presentation("ean13_ramyun", hold=15, gap=30, still=True),  # shown again: counts
        Presentation("ean13_tofu", hold=12, gap=6),
        Presentation("ean13_tofu", hold=12, gap=30),  # back within the hold-off: no count
    ]
    return pres


@pytest.fixture(scope="session")
def session_video(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Truth]:
    """The session video and its truth (made once per run, shared by the xdist workers)."""
    def build(folder: Path) -> None:
        write_session(folder / "session.avi", session_presentations(), SIZE, seed=3,
                      garbage_after={2: list(GARBAGE_KINDS)})

    path = build_once(tmp_path_factory, "scanner-session-video", build) / "session.avi"
    return path, Truth.load(path.with_suffix(".json"))


@pytest.fixture(scope="session")
def session_run(session_video, classify):
    """The session video through the capture thread (lockstep) and a default engine."""
    from kiosk_drivers.scanner.capture import run_source
    from kiosk_drivers.scanner.config import ScannerConfig
    from kiosk_drivers.scanner.engine import ScanEngine

    path, truth = session_video
    engine = ScanEngine(ScannerConfig(), classify)
    reads = run_source(str(path), engine)
    return reads, engine, truth


@pytest.fixture(scope="session")
def garbage_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from kiosk_drivers.scanner.sim.synth import background, garbage, write_video

    w, h = SIZE

    def frames():
        bg = background(w, h, 9).astype("uint8")
        for i in range(60):
            kind = GARBAGE_KINDS[i // 10 % len(GARBAGE_KINDS)]
            yield (garbage(w, h, kind, i) if i % 2 == 0 else bg), []

    def build(folder: Path) -> None:
        write_video(folder / "garbage.avi", frames(), SIZE)

    return build_once(tmp_path_factory, "scanner-garbage-video", build) / "garbage.avi"
