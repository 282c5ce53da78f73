"""The PostgreSQL fixtures of tests/backoffice/pg.py for every test below tests/backoffice/."""

from tests.backoffice.pg import (  # noqa: F401
    backoffice_template,
    backoffice_url,
    pg_cluster,
    pg_url,
)
