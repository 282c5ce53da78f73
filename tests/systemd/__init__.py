"""systemd integration: sd_notify client, kiosk-core readiness and watchdog, unit files."""
