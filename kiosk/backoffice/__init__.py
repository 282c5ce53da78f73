"""The store's back office: ingest of every lane's journal into PostgreSQL, catalog snapshots
down to the lanes, backups and retention (``kiosk backoffice ...``). Never imported by a
lane's production services; it imports the journal, config and domain below it."""
