"""The scale port: one serial scale, asked for its weight, answering a :class:`Reading`.

A protocol backend (a plug-in of ``kiosk.scale_protocols``, see
:mod:`kiosk_drivers.scale.registry`) says what to send (:attr:`SerialScale.WEIGHT`,
:attr:`SerialScale.ZERO`), how its frames end and how to read one (:meth:`parse`); this
class does the rest over pyserial: open the port with the protocol's framing, drop stale
input, ask, read one frame within ``answer_timeout_s``. It never blocks for longer and never
raises for what the scale says: a silent scale is ``no_response``, an unreadable answer
``bad_frame``; only a port that cannot be opened raises :class:`ScaleError`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, ClassVar

from kiosk_drivers.plugins import load_class
from kiosk_drivers.scale.reading import Reading
from kiosk_drivers.scale.registry import GROUP
from kiosk_drivers.serialport import Parity, SerialPortError, close_serial, open_serial

if TYPE_CHECKING:
    import serial
    from kiosk_drivers.scale.config import ScaleConfig

log = logging.getLogger(__name__)


class ScaleError(Exception):
    """The scale's port cannot be used (missing, busy, gone)."""


class SerialScale:
    """One scale on a serial port. Use as a context manager, then :meth:`read`."""

    #: the name it is registered under in ``kiosk.scale_protocols``
    name: ClassVar[str] = ""
    #: the request for the weight, and for zeroing the scale
    WEIGHT: ClassVar[bytes] = b""
    ZERO: ClassVar[bytes] = b""
    #: the byte a frame from the scale ends with
    END: ClassVar[bytes] = b"\r"
    #: the protocol's framing when the config does not say
    PARITY: ClassVar[Parity] = "even"
    BYTESIZE: ClassVar[int] = 7

    def __init__(self, config: ScaleConfig) -> None:
        self.config = config
        self.ser: serial.Serial | None = None

    def __enter__(self) -> SerialScale:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        if self.ser is not None:
            return  # open already (open_scale, then a with block)
        cfg = self.config
        try:
            self.ser = open_serial(
                cfg.port, baudrate=cfg.baudrate, bytesize=cfg.bytesize or self.BYTESIZE,
                parity=cfg.parity or self.PARITY, timeout=cfg.answer_timeout_s,
                write_timeout=cfg.answer_timeout_s)
        except SerialPortError as exc:
            raise ScaleError(f"{cfg.port}: {exc}") from None

    def close(self) -> None:
        close_serial(self.ser)
        self.ser = None

    def parse(self, frame: bytes) -> Reading:
        """The reading one frame (without its end byte) holds; ``bad_frame`` if none."""
        raise NotImplementedError

    def ask(self, request: bytes) -> bytes | None:
        """Send ``request``, return the answer frame without its end byte (None: silence)."""
        import serial

        if self.ser is None:
            raise ScaleError("scale port not open")
        try:
            self.ser.reset_input_buffer()
            self.ser.write(request)
            answer = self.ser.read_until(self.END)
        except (serial.SerialException, OSError) as exc:
            raise ScaleError(f"{self.config.port}: {exc}") from None
        if not answer.endswith(self.END):
            return None  # nothing, or a frame cut off by the timeout: the scale did not answer
        return answer[:-len(self.END)]

    def read(self) -> Reading:
        """Ask for the weight once."""
        frame = self.ask(self.WEIGHT)
        if frame is None:
            return Reading("no_response")
        try:
            return self.parse(frame)
        except ValueError as exc:
            log.warning("scale %s: unreadable answer %r: %s", self.name, frame[:32], exc)
            return Reading("bad_frame")

    def zero(self) -> Reading:
        """Zero the scale (it answers with its status, or nothing)."""
        frame = self.ask(self.ZERO)
        if frame is None:
            return Reading("no_response")
        try:
            return self.parse(frame)
        except ValueError:
            return Reading("bad_frame")


def open_scale(config: ScaleConfig) -> SerialScale:
    """The scale ``config`` describes, its port open."""
    cls = load_class(GROUP, config.protocol, SerialScale, "scale protocol")
    scale = cls(config)
    scale.open()
    return scale
