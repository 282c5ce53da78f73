"""What every device simulator on a serial line shares: the socat pty pair (:mod:`.pty`) and
the simulated device's end of it, served by a thread (:mod:`.device`)."""
