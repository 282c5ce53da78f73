"""Scanner simulators: synthetic barcode scenes and a stdin scanner."""
