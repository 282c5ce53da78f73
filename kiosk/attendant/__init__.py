"""The attendant station (issue 19.4): one attendant watches and serves every lane of a store.

Runs on a store server or the attendant's tablet host, never on a lane; a layer beside
``services``, ``ui`` and ``backoffice``. ``board``: every lane's state from the store broker
(each lane's broker bridges to it, kiosk/bus/bridge.py) and the signed commands out;
``web``: the tablet page; ``commands``: ``kiosk attendant ...``. The signing and the lane's
check live in kiosk/security/remote.py, the lane's handling in kiosk/services/core.py.
"""
