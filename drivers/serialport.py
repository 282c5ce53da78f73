"""The serial port as the drivers open it (the printer's serial transport, the scale): the one
place pyserial's port is opened, with its framing names and the config checks they share.

Every port is opened with one stop bit, ``exclusive=True`` (a second process gets a clear
"busy" instead of interleaved bytes), a read and a write timeout, and the flow control the
caller asks for. pyserial is imported when a port is opened, never at module top.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import serial

#: parity as the configs name it → pyserial's constant
Parity = Literal["none", "even", "odd"]
PARITIES: dict[str, str] = {"none": "N", "even": "E", "odd": "O"}


class SerialPortError(Exception):
    """The port cannot be opened (missing, busy, not a serial device); the message is
    pyserial's. ``busy``: another process holds the port's exclusive lock."""

    def __init__(self, port: str, detail: str) -> None:
        super().__init__(detail)
        self.port = port
        self.busy = "lock" in detail.lower()


def open_serial(port: str, *, baudrate: int, bytesize: int = 8, parity: Parity = "none",
                timeout: float, write_timeout: float, rtscts: bool = False,
                xonxoff: bool = False, dsrdtr: bool = False) -> serial.Serial:
    """The open port; :class:`SerialPortError` when it cannot be opened."""
    import serial  # hardware library: loaded when a port is opened

    try:
        return serial.Serial(
            port, baudrate=baudrate, bytesize=bytesize, parity=PARITIES[parity],
            stopbits=serial.STOPBITS_ONE, rtscts=rtscts, xonxoff=xonxoff, dsrdtr=dsrdtr,
            timeout=timeout, write_timeout=write_timeout, exclusive=True)
    except (serial.SerialException, OSError) as exc:
        raise SerialPortError(port, str(exc)) from None


def close_serial(ser: serial.Serial | None) -> None:
    """Close ``ser`` if open; a port that is already gone is closed enough."""
    if ser is not None:
        try:
            ser.close()
        except OSError:
            pass


def check_baudrate(value: int, allowed: tuple[int, ...]) -> int:
    """A config validator: ``value`` if it is one of the ``allowed`` rates, else ValueError."""
    if value not in allowed:
        raise ValueError(f"baudrate must be one of {', '.join(map(str, allowed))}")
    return value
