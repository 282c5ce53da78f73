"""The wallet gateway dialects installed, found through the entry-point group
``kiosk.wallet_dialects`` (name → a :class:`~kiosk.payments.wallet.dialect.Dialect` class)::

    [project.entry-points."kiosk.wallet_dialects"]
    generic = "kiosk.payments.wallet.generic:GenericDialect"
    alipay = "kiosk.payments.wallet.alipay:AlipayDialect"
    wechat = "kiosk.payments.wallet.wechat:WechatDialect"

Another package adds a gateway the same way; ``payments.options.qr.dialect`` picks one.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from kiosk_drivers.plugins import load_class

from kiosk.payments.wallet.config import WalletConfigError
from kiosk.payments.wallet.dialect import Dialect

GROUP = "kiosk.wallet_dialects"


def installed() -> list[str]:
    return sorted(ep.name for ep in entry_points(group=GROUP))


def dialect_class(name: str) -> type[Dialect]:
    """The dialect registered as ``name``, or :class:`WalletConfigError` (one line)."""
    cls = load_class(GROUP, name, Dialect, "wallet dialect", WalletConfigError)
    if cls.name != name:
        raise WalletConfigError(f"wallet dialect {cls.__module__}.{cls.__qualname__} says its"
                                f" name is {cls.name!r}, registered as {name!r}")
    return cls
