"""Device drivers: one package per device family, each a small port with backends."""
