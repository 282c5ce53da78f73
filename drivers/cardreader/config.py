"""Configuration of the PC/SC card reader (the ``[cardreader]`` table)."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ReaderConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: regular expression a reader name must match to be used ("" = any contact reader)
    reader_pattern: str = ""
    #: how often the card event monitor lists readers (reader attach/detach latency)
    reader_poll_s: float = Field(default=1.0, gt=0, le=10)
    #: after a failed transmit, how long to wait for pcscd to report the card gone
    #: before calling it a reader error rather than a removal (pcscd polls ~400 ms)
    removal_grace_s: float = Field(default=1.0, ge=0, le=10)

    @field_validator("reader_pattern")
    @classmethod
    def _valid_regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        return value
