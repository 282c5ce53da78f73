"""kiosk.domain.addresses.is_loopback, the rule every plain-text link is allowed by, and
the restore's use of it on a back office URL."""

from __future__ import annotations

import pytest

from kiosk.domain.addresses import is_loopback
from kiosk.ops.backup import BackupError
from kiosk.ops.backup_remote import tls_context


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST", "127.0.0.1", "127.8.9.10", "::1",
                                  "[::1]", "0:0:0:0:0:0:0:1"])
def test_loopback_hosts(host):
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["", "0.0.0.0", "::", "10.0.0.7", "192.168.1.20",
                                  "::ffff:10.0.0.1", "localhost.example.com", "pos.local",
                                  "128.0.0.1", "[::1", "127.0.0.1.nip.io"])
def test_everything_else_is_not(host):
    assert not is_loopback(host)


def test_the_restore_speaks_plain_http_only_to_loopback():
    for url in ("http://127.0.0.1:8443", "http://[::1]:8443/", "http://localhost:9/x"):
        assert tls_context(url, None) is None
    for url in ("http://10.0.0.7:8443", "http://backoffice.store.example", "http://[::1:80",
                "http://127.0.0.1.nip.io/"):
        with pytest.raises(BackupError, match="https only"):
            tls_context(url, None)
    assert tls_context("https://backoffice.store.example", None) is not None
