"""The scale driver against the simulator over a real socat pty, in both protocols: a settled
weight in exact grams, motion, over capacity, under zero, not ready, a silent scale, zeroing;
the frames of each protocol read byte for byte; the simulator's control channel."""

from __future__ import annotations

import json
import socket

import pytest
from kiosk_drivers.scale.config import ScaleConfig
from kiosk_drivers.scale.magellan import MagellanScale
from kiosk_drivers.scale.mettler import Toledo8217
from kiosk_drivers.scale.port import ScaleError, open_scale
from kiosk_drivers.scale.reading import Reading, grams
from kiosk_drivers.scale.sim.control import ControlServer

PROTOCOLS = ("mettler8217", "magellan")


def _scale(scale_pty, protocol: str, **fields):
    return open_scale(ScaleConfig(protocol=protocol, port=str(scale_pty.host),
                                  answer_timeout_s=0.5, **fields))


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_every_status_over_the_pty(protocol, scale_pty, scale_sim):
    with _scale(scale_pty, protocol) as scale:
        assert scale.read() == Reading("stable", 0)
        scale_sim.set_weight(1234)
        assert scale.read() == Reading("stable", 1234)
        scale_sim.set_weight(7)
        assert scale.read() == Reading("stable", 7)
        scale_sim.set_weight(14_999)
        assert scale.read() == Reading("stable", 14_999)
        scale_sim.set_motion(True)
        assert scale.read() == Reading("motion")
        scale_sim.set_motion(False)
        scale_sim.set_weight(15_001)  # beyond the simulated scale's capacity
        assert scale.read() == Reading("over_capacity")
        scale_sim.set_weight(500)
        scale_sim.set_fault("under_zero")
        assert scale.read() == Reading("under_zero")
        scale_sim.set_fault("not_ready")
        assert scale.read() == Reading("not_ready")
        scale_sim.set_fault(None)
        scale_sim.set_silent(True)
        assert scale.read() == Reading("no_response")
        scale_sim.set_silent(False)
        assert scale.read() == Reading("stable", 500)
    assert scale_sim.protocols == {protocol}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_settling_reads_as_motion_then_the_weight(protocol, scale_pty, scale_sim):
    with _scale(scale_pty, protocol) as scale:
        scale_sim.set_weight(800, settle_s=60)
        assert scale.read() == Reading("motion")
        scale_sim.set_weight(800, settle_s=0)
        assert scale.read() == Reading("stable", 800)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_zero_takes_the_load_as_zero(protocol, scale_pty, scale_sim):
    with _scale(scale_pty, protocol) as scale:
        scale_sim.set_weight(120)  # a tray left on the platter
        assert scale.zero() == Reading("stable", 0)
        scale_sim.add(300)
        assert scale.read() == Reading("stable", 300)


def test_a_scale_under_zero_after_taking_off_the_zeroed_load(scale_pty, scale_sim):
    with _scale(scale_pty, "mettler8217") as scale:
        scale_sim.set_weight(200)
        scale.zero()
        scale_sim.set_weight(0)
        assert scale.read() == Reading("under_zero")


def test_an_absent_port_is_a_clear_error(tmp_path):
    with pytest.raises(ScaleError, match="nothing-here"):
        open_scale(ScaleConfig(port=str(tmp_path / "nothing-here")))


# -- the frames, byte for byte ---------------------------------------------------------------

@pytest.mark.parametrize("frame,reading", [
    (b"\x0201.234", Reading("stable", 1234)),
    (b"\x02  0.455", Reading("stable", 455)),
    (b"\x0212.000N", Reading("stable", 12000)),
    (b"\x02?a", Reading("motion")),          # 0x61: always-bits + motion
    (b"\x02?b", Reading("over_capacity")),   # 0x62
    (b"\x02?d", Reading("under_zero")),      # 0x64
    (b"\x02?c", Reading("over_capacity")),   # over capacity wins over motion
    (b"\x02?p", Reading("stable", 0)),       # 0x70: centre of zero
    (b"\x02?h", Reading("not_ready")),       # 0x68: outside the zero capture range
    (b"\xff\x0201.000", Reading("stable", 1000)),  # noise before STX
])
def test_toledo_frames(frame, reading):
    assert Toledo8217(ScaleConfig()).parse(frame) == reading


@pytest.mark.parametrize("frame", [b"01.234", b"\x021234", b"\x0201.2345", b"\x02?", b"\x02?ab",
                                   b"\x02?\x01", b"\x02-1.000", b"\x021.2.3"])
def test_toledo_bad_frames(frame):
    with pytest.raises(ValueError):
        Toledo8217(ScaleConfig()).parse(frame)


@pytest.mark.parametrize("frame,reading", [
    (b"S1101234", Reading("stable", 1234)), (b"S110455", Reading("stable", 455)),
    (b"S140", Reading("not_ready")), (b"S141", Reading("motion")),
    (b"S142", Reading("over_capacity")), (b"S143", Reading("stable", 0)),
    (b"S14400250", Reading("stable", 250)), (b"S145", Reading("under_zero")),
])
def test_magellan_frames(frame, reading):
    assert MagellanScale(ScaleConfig(protocol="magellan")).parse(frame) == reading


@pytest.mark.parametrize("frame", [b"S11", b"S11abcde", b"S146", b"S144", b"S1412", b"S12",
                                   b"S111234567"])
def test_magellan_bad_frames(frame):
    with pytest.raises(ValueError):
        MagellanScale(ScaleConfig(protocol="magellan")).parse(frame)


def test_a_bad_frame_is_a_reading_not_an_exception(scale_pty, scale_sim, monkeypatch):
    with _scale(scale_pty, "mettler8217") as scale:
        monkeypatch.setattr(scale, "WEIGHT", b"S14\r")  # ask in the other protocol
        assert scale.read() == Reading("bad_frame")


def test_grams_are_exact():
    assert grams("01.234") == 1234 and grams("0.001") == 1 and grams("1234", kg=False) == 1234
    for bad in ("1.0005", "", "1e3", "-1.000", "1,000", "0.0001"):
        with pytest.raises(ValueError):
            grams(bad)


def test_the_control_channel(scale_pty, scale_sim, tmp_path):
    server = ControlServer(scale_sim, tmp_path / "scale.ctl")
    try:
        with socket.socket(socket.AF_UNIX) as sock, _scale(scale_pty, "magellan") as scale:
            sock.connect(str(tmp_path / "scale.ctl"))
            stream = sock.makefile("rwb")

            def say(line: str) -> dict:
                stream.write(line.encode() + b"\n")
                stream.flush()
                return json.loads(stream.readline())

            assert say("weight 640")["answer"] == "stable"
            assert scale.read() == Reading("stable", 640)
            assert say("over on")["answer"] == "over_capacity"
            assert scale.read() == Reading("over_capacity")
            say("over off")
            assert say("silent on")["silent"] is True
            assert scale.read() == Reading("no_response")
            say("silent off")
            assert say("add -40 0")["load_g"] == 600
            assert scale.read() == Reading("stable", 600)
            assert say("fly away")["ok"] is False
            assert say("weight lots")["ok"] is False
    finally:
        server.close()
