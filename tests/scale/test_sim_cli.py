"""``kiosk sim scale``: the simulator as integrators run it, told a weight on stdin and read
by the driver in both protocols."""

from __future__ import annotations

import json
import subprocess
import sys

from kiosk_drivers.scale.config import ScaleConfig
from kiosk_drivers.scale.port import open_scale
from kiosk_drivers.scale.reading import Reading

from tests.harness import REPO, kiosk_env


def test_kiosk_sim_scale_speaks_both_protocols(tmp_path, scale_pty, broker_port):
    env = kiosk_env(tmp_path / "state", broker_port, "SIMSCALE")
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "sim", "scale", "--port",
                             str(scale_pty.device)], env=env, cwd=REPO, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    try:
        assert "Mettler Toledo 8217 and Magellan" in proc.stdout.readline()
        proc.stdin.write("weight 777\n")
        proc.stdin.flush()
        assert json.loads(proc.stdout.readline())["weight_g"] == 777
        for protocol in ("mettler8217", "magellan"):
            with open_scale(ScaleConfig(protocol=protocol, port=str(scale_pty.host))) as scale:
                assert scale.read() == Reading("stable", 777)
        proc.stdin.write("over on\n")
        proc.stdin.flush()
        assert json.loads(proc.stdout.readline())["answer"] == "over_capacity"
    finally:
        proc.terminate()
        proc.wait(10)
