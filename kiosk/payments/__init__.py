"""Payment ports: card authorization and mobile QR pay, each behind one interface."""
