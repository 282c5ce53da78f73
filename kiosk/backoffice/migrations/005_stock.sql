-- 005 (issue 18, demand forecast and reorder; kiosk/backoffice/forecast_data.py): each
-- store's stock counts per item, from the catalog feed (an `on_hand` column of the catalog
-- CSV, `kiosk backoffice catalog import`) or a count. Stock on hand now = the latest count
-- less the units sold since (the events after counted_at). lead_time_days: the item's
-- supplier lead time when the feed gives one (else the forecast command's --lead-time).
CREATE TABLE stock_counts (
    store_code     text        NOT NULL,
    item_key       text        NOT NULL,
    on_hand        numeric     NOT NULL CHECK (on_hand >= 0),
    counted_at     timestamptz NOT NULL,
    lead_time_days integer     CHECK (lead_time_days >= 0),
    source         text        NOT NULL,
    PRIMARY KEY (store_code, item_key, counted_at)
);
