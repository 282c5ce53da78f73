"""The PostgreSQL fixtures of tests/backoffice/pg.py for every test below tests/backoffice/."""

from tests.backoffice.pg import pg_cluster, pg_url  # noqa: F401
