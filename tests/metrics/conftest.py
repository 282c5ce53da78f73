"""tests/metrics' fixtures: the back office's PostgreSQL ones (tests/backoffice/pg.py), for the
real back office the lane's kiosk-sync ships to in the sync-lag rule's test."""

from tests.backoffice.pg import (  # noqa: F401
    backoffice_template,
    backoffice_url,
    pg_cluster,
)
