"""The ESC/POS printer simulator on a pty: interpreter, paper, pty pair."""
