"""The station's web server as a systemd service (``kiosk attendant serve``, kiosk-attendant):
uvicorn, which binds the address itself (port 0: the OS chooses), then prints
``kiosk-attendant: listening on <url>`` for a supervisor or a test and says READY=1;
WATCHDOG=1 comes from uvicorn's own event loop tick (a hung loop stops the pings). STOPPING=1
is ``sdnotify.stop_on_signals``' (``kiosk attendant serve``).
"""

from __future__ import annotations

import socket

import uvicorn

from kiosk.ops import sdnotify


class StationServer(uvicorn.Server):
    """:class:`uvicorn.Server` that reports where it listens and speaks sd_notify."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.watchdog = sdnotify.Watchdog()
        self.url: str | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if not self.started:
            return
        host, port = self.servers[0].sockets[0].getsockname()[:2]
        scheme = "https" if self.config.is_ssl else "http"
        self.url = f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}"
        print(f"kiosk-attendant: listening on {self.url}", flush=True)
        sdnotify.ready(f"listening on {self.url}")

    async def on_tick(self, counter: int) -> bool:
        self.watchdog.tick()
        return await super().on_tick(counter)
