"""Barcode scanner port. Backends publish scan commands on the bus.

Backends: ``stdin`` (the simulator: one code per line typed or piped in, stdin_sim),
``camera`` (OpenCV capture of a V4L2 camera, video file or URL; zxing-cpp with zbar as
fallback and cross-check; motion gate, ROI, confirmation and de-duplication) and
``wedge`` (a USB HID keyboard-wedge scanner through evdev, grabbed). The camera and
wedge backends run in ``kiosk scanner`` (kiosk.services.scanner).
"""
