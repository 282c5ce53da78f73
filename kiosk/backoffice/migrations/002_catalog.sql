-- Catalog snapshots per store (issue 17, item 3; kiosk/backoffice/catalog.py) and what each
-- lane reports it has in place. Stores and lanes by their codes (stores.code, lanes.name):
-- a store may publish before its lanes are added.
CREATE TABLE catalog_snapshots (
    store_code text        NOT NULL,
    version    integer     NOT NULL CHECK (version > 0),
    sha256     text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    body       text        NOT NULL,   -- as served: {version, sha256, items, promotions}
    items      integer     NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text        NOT NULL,
    PRIMARY KEY (store_code, version)
);

CREATE TABLE lane_catalog (
    lane_name       text        PRIMARY KEY,
    store_code      text        NOT NULL,
    version         integer     NOT NULL,   -- the version the lane has in place
    reported_at     timestamptz NOT NULL DEFAULT now(),
    refused_version integer,                -- the last snapshot it refused, and why
    refused_reason  text
);
