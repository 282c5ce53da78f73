-- 003: the daily summary retention keeps after dropping raw events (kiosk/backoffice/
-- retention.py): per UTC day, store, lane and event type, a count. No event data, no staff
-- id: what a report over years needs once the raw events are past their store's retention.

CREATE TABLE event_daily (
    day date NOT NULL,
    store_id int NOT NULL REFERENCES stores (id),
    lane_id int NOT NULL REFERENCES lanes (id),
    type text NOT NULL,
    events bigint NOT NULL CHECK (events >= 0),
    PRIMARY KEY (day, store_id, lane_id, type)
);
