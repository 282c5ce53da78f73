"""The store back office (issue 17): server, lane sync, catalog, backup."""
