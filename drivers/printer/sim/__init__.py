"""The ESC/POS printer simulator on a pty: interpreter, paper (the pty pair and the device
end's thread are :mod:`kiosk_drivers.sim`'s)."""
