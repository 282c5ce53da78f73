"""The durable checkout journal: the SQLite event store kiosk-core appends to and recovers from."""
