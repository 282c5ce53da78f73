"""Driver tests: printer over a real pty pair, GPIO on gpiozero's mock pin factory."""
