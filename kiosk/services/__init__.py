"""One module per systemd service: wires a driver or the voice engine to the bus."""
