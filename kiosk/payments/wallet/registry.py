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

from kiosk.payments.wallet.config import WalletConfigError
from kiosk.payments.wallet.dialect import Dialect

GROUP = "kiosk.wallet_dialects"


def installed() -> list[str]:
    return sorted(ep.name for ep in entry_points(group=GROUP))


def dialect_class(name: str) -> type[Dialect]:
    """The dialect registered as ``name``, or :class:`WalletConfigError` (one line)."""
    found = {ep.name: ep for ep in entry_points(group=GROUP)}
    ep = found.get(name)
    if ep is None:
        raise WalletConfigError(f"payments.options.qr: unknown wallet dialect {name!r}"
                                f" (installed: {', '.join(sorted(found)) or 'none'})")
    try:
        cls = ep.load()
    except Exception as exc:  # a broken plug-in is refused with one line
        raise WalletConfigError(f"wallet dialect {name!r} ({ep.value}) cannot be loaded:"
                                f" {type(exc).__name__}: {exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, Dialect)) or cls.name != name:
        raise WalletConfigError(f"wallet dialect {name!r} ({ep.value}) is not a Dialect"
                                f" named {name!r}")
    return cls
