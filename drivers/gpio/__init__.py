"""GPIO: tower light, buzzer, help button, tactile keypad and cabinet door switch.

One service (:mod:`kiosk.services.gpio`, ``kiosk gpio``) owns every line; other
services ask it for light and sound over the bus (state, core status, scan
feedback) and it reports buttons and the door as bus commands and events. Built
on gpiozero's device classes over a pluggable pin factory: ``lgpio`` on the Pi,
gpiozero's ``MockFactory`` (with ``MockPWMPin`` for the tonal buzzer) in tests.
gpiozero is imported only when devices are made, so this package imports
anywhere.
"""
