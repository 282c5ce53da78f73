"""Headless Chromium for the web-page tests (Debian's ``chromium`` and ``chromium-driver``,
driven by selenium): one way to start it, shared by the e-receipt page, the dashboard and
the attendant station tests."""

from __future__ import annotations

import shutil
from typing import Any

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")


def start_chromium(*extra_args: str) -> Any:
    """A headless Chromium reached at 127.0.0.1 (selenium says "localhost", which a minimal
    Debian without /etc/hosts, a fresh chroot or a container, cannot resolve), the DevTools
    link over a pipe, a 20 s page-load limit; ``extra_args``: more command-line switches."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common import utils

    class LoopbackService(Service):
        @property
        def service_url(self) -> str:
            return f"http://127.0.0.1:{self.port}"

        def is_connectable(self) -> bool:
            return utils.is_url_connectable(self.port, host="127.0.0.1")

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-extensions", "--hide-scrollbars", "--force-color-profile=srgb",
                "--lang=en-US", "--remote-debugging-pipe", *extra_args):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=LoopbackService(DRIVER), options=opts)
    driver.set_page_load_timeout(20)
    return driver
