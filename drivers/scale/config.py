"""Configuration of one scale (a ``[scale.<name>]`` table: ``produce``, ``bagging``).

Strict (unknown keys are errors), frozen, validated when the configuration loads.
``protocol`` names the wire protocol (a plug-in of the entry-point group
``kiosk.scale_protocols``: ``mettler8217``, ``magellan``) and ``port`` the serial device (a pty
link for the simulator). Framing defaults to the protocol's (8217: 9600 7E1); ``parity`` and
``bytesize`` override it for a scale configured otherwise. ``min_g`` .. ``capacity_g`` is the
range a weight may price an item in (the scale's legal minimum load and its capacity).
"""

from __future__ import annotations

from typing import Literal

from kiosk_drivers.plugins import check_installed
from kiosk_drivers.scale.registry import GROUP
from kiosk_drivers.serialport import Parity, check_baudrate
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

STANDARD_BAUDS = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)


class ScaleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    protocol: str = Field(default="mettler8217", min_length=1,
                          description="mettler8217 or magellan (or an installed"
                                      " kiosk.scale_protocols plug-in)")
    port: str = Field(default="/dev/ttyUSB1", min_length=1)
    baudrate: int = 9600
    parity: Parity | None = None                           # None: the protocol's
    bytesize: Literal[7, 8] | None = None                  # None: the protocol's
    answer_timeout_s: float = Field(default=0.5, gt=0, le=10,
                                    description="a scale silent this long is 'no_response'")
    poll_s: float = Field(default=0.1, gt=0, le=5, description="time between weight requests")
    min_g: int = Field(default=1, ge=0, le=100_000,
                       description="the smallest weight that may price an item (the scale's"
                                   " minimum load)")
    capacity_g: int = Field(default=15_000, ge=1, le=100_000)

    @field_validator("baudrate")
    @classmethod
    def _standard_baud(cls, value: int) -> int:
        return check_baudrate(value, STANDARD_BAUDS)

    @field_validator("protocol")
    @classmethod
    def _installed(cls, value: str) -> str:
        return check_installed(GROUP, value, "scale protocol")

    @model_validator(mode="after")
    def _range(self) -> ScaleConfig:
        if self.min_g >= self.capacity_g:
            raise ValueError(f"min_g ({self.min_g}) must be below capacity_g"
                             f" ({self.capacity_g})")
        return self
