"""Scale driver: a port with protocol backends (Mettler Toledo 8217, Datalogic Magellan) over
pyserial; the simulator that speaks both lives in :mod:`kiosk_drivers.scale.sim`.
"""
