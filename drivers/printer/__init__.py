"""ESC/POS receipt printer driver: transports, real-time status, raster text.

The printer simulator lives in :mod:`kiosk_drivers.printer.sim`.
"""
