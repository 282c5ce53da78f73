"""Receipts on paper: the ESC/POS layout, the printer port and its backends, kept receipts."""
