"""Operating the device: flash, provision, update, version, time sync."""
