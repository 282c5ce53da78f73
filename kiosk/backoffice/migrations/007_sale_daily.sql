-- 007 (kiosk/backoffice/sale_daily.py): the dashboard's sales per store, UTC day and hour,
-- payment method and card brand (what the Today and Sales pages sum), kept by item_daily's
-- refresh with its store-days and watermark (the same days, one transaction). A report
-- reads it for the store-days item_daily_days holds and nothing synced since touches, and
-- the events for the rest (kiosk/backoffice/web/reports.py).
CREATE TABLE sale_daily (
    store_id int    NOT NULL REFERENCES stores (id),
    day      date   NOT NULL,
    hour     int    NOT NULL CHECK (hour BETWEEN 0 AND 23),
    method   text,
    brand    text   NOT NULL,              -- '' without a card brand
    sales    bigint NOT NULL CHECK (sales > 0),
    amount   bigint NOT NULL
);
CREATE INDEX sale_daily_store_day ON sale_daily (store_id, day);

-- The store-days summed before this table existed hold no sales here: sum them all again
-- (the next refresh re-sums every day the events hold; the reports read the events meanwhile)
DELETE FROM item_daily_days;
DELETE FROM item_daily_watermark;
