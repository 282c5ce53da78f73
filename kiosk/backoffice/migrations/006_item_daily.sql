-- 006 (issue 18; kiosk/backoffice/item_daily.py): units sold per store, UTC day and item,
-- summed from the synced events by `refresh` (a maintenance step with a watermark per lane:
-- ingest is unchanged). What the demand forecast reads instead of replaying a year of
-- baskets. The same rules as the replay it caches: training txns, unpaid baskets and
-- baskets with a row flagged broken_chain never count; a basket sells on the day of its
-- first auth_approved; a weighed line counts its kg. Kept when retention drops old events.
CREATE TABLE item_daily (
    store_id int     NOT NULL REFERENCES stores (id),
    day      date    NOT NULL,
    item_key text    NOT NULL,
    units    numeric NOT NULL CHECK (units >= 0),
    names    jsonb,                        -- the item's names by locale, as last sold
    PRIMARY KEY (store_id, day, item_key)
);

-- The store-days summed (a day without a sale has a row here and none in item_daily), and
-- the paid baskets of the day left out because a row of theirs is flagged broken_chain.
CREATE TABLE item_daily_days (
    store_id        int         NOT NULL REFERENCES stores (id),
    day             date        NOT NULL,
    flagged_baskets int         NOT NULL CHECK (flagged_baskets >= 0),
    refreshed_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (store_id, day)
);

-- How far each lane is summed: its rows up to seq, its flags up to flag_id. A refresh
-- re-sums whole store-days (the days the new rows' baskets were paid), so a batch sent
-- twice, or a refresh run twice, changes nothing.
CREATE TABLE item_daily_watermark (
    lane_id int    PRIMARY KEY REFERENCES lanes (id),
    seq     bigint NOT NULL,
    flag_id bigint NOT NULL
);
