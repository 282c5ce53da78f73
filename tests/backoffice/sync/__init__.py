"""kiosk-sync against a back office: resume, backoff, kills, cuts, catch-up."""
