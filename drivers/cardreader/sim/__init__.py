"""A virtual card reader: pcscd with vpcd, and the virtual card plugged into it."""
