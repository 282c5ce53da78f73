"""Self-checkout kiosk firmware: checkout core, payments, journal, bus, CLI."""

__version__ = "0.1.0"
