-- 008 (kiosk/backoffice/line_daily.py): the Items page's figures per store and UTC day (the
-- day of the basket's payment, as the page counts it): the items sold (quantity, line
-- takings, names as last sold) and what each basket promotion of the catalog version in
-- place gave away. Kept by item_daily's refresh with its store-days and watermark (the same
-- days, one transaction); a report reads them for the store-days item_daily_days holds and
-- nothing synced since touches, and the events for the rest (kiosk/backoffice/web/reports.py).
CREATE TABLE line_daily (
    store_id int    NOT NULL REFERENCES stores (id),
    day      date   NOT NULL,
    item_key text   NOT NULL,
    qty      bigint NOT NULL,
    amount   bigint NOT NULL,
    names    jsonb,
    PRIMARY KEY (store_id, day, item_key)
);

-- Per store, day, catalog version the lanes had in place and promotion of it: the baskets it
-- discounted, the units of its items sold, what it gave away (minor units of `currency`,
-- the refresh's: a page in another currency prices those days from the events).
-- promotion_id '': the baskets priced under a version the back office held no snapshot of
-- (no promotion known): once that version is published, the page reads those days from the
-- events until they are summed again.
CREATE TABLE promotion_daily (
    store_id     int    NOT NULL REFERENCES stores (id),
    day          date   NOT NULL,
    version      int    NOT NULL,
    promotion_id text   NOT NULL,
    currency     text   NOT NULL,
    baskets      bigint NOT NULL,
    units        bigint NOT NULL,
    given        bigint NOT NULL,
    PRIMARY KEY (store_id, day, version, promotion_id)
);

-- The catalog versions the lanes applied, found without reading every event: a basket's
-- promotions are those of its lane's last catalog_applied before the sale, however long ago
CREATE INDEX events_catalog_applied ON events (lane_id, ts) WHERE type = 'catalog_applied';

-- The store-days summed before these tables existed hold nothing here: sum them all again
-- (the next refresh re-sums every day the events hold; the reports read the events meanwhile)
DELETE FROM item_daily_days;
DELETE FROM item_daily_watermark;
