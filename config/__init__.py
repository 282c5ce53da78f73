"""Package data of the kiosk, installed as ``kiosk_config``: the configuration defaults
(``defaults.toml``), the sample catalog (``catalog/``), the gettext message catalogs
(``i18n/<locale>/LC_MESSAGES/*.po``) and the ISO 8583 acquirer dialects (``iso8583/``).

No code lives here. The application reads these files only through
:mod:`kiosk.resources` (``importlib.resources``), so a wheel carries them and nothing
depends on where the source tree is.
"""
