"""Barcode scanner port. Backends publish scan commands on the bus.

Backend here: ``stdin`` (the simulator: one code per line typed or piped in).
The OpenCV camera and evdev keyboard-wedge backends come behind the same role.
"""
