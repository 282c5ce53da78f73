-- 001: stores, lanes and their tokens, each lane's chain state, flags, and the events table
-- partitioned by day. Applied once by `kiosk backoffice migrate` (kiosk/backoffice/db.py).

CREATE TABLE stores (
    id serial PRIMARY KEY,
    code text NOT NULL UNIQUE CHECK (code <> ''),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- A lane's name is unique in the chain (the wire API's /v1/lanes/{lane}); only the SHA-256
-- of its bearer token is kept (a 256-bit random token: a fast hash is enough, no KDF).
CREATE TABLE lanes (
    id serial PRIMARY KEY,
    store_id int NOT NULL REFERENCES stores (id),
    name text NOT NULL UNIQUE CHECK (name <> ''),
    token_sha256 text NOT NULL UNIQUE CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Where each lane's hash chain stands: every seq up to last_seq is settled (held in events,
-- or its absence flagged as a gap); last_hash is the hash of that row, the link the next row
-- must chain from. acked_seq on the wire = last_seq. The ingest locks this row (FOR UPDATE),
-- so one lane's batches are applied one at a time, in order.
CREATE TABLE lane_chain (
    lane_id int PRIMARY KEY REFERENCES lanes (id),
    last_seq bigint NOT NULL DEFAULT 0,
    last_hash text NOT NULL DEFAULT repeat('0', 64),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Every lane's journal rows, as the lane wrote them (data is the journal's canonical JSON
-- text, so the chain can be re-checked and a lane rebuilt byte for byte). day is the UTC day
-- of the event's own ts: the partition key. The primary key (lane_id, seq, day) is the
-- UNIQUE (lane_id, seq) of the issue: PostgreSQL requires a partitioned table's unique keys to
-- hold the partition key, and day is a pure function of the row's hashed ts, so a resent row
-- always lands on the same key (ON CONFLICT DO NOTHING inserts nothing twice); a different row
-- under a held seq never gets that far: the ingest compares it with the held one (a conflict
-- flag) under the lane_chain lock. store_id: reports, and the distribution key if a chain
-- moves to Citus (docs/backoffice.md).
CREATE TABLE events (
    store_id int NOT NULL,
    lane_id int NOT NULL,
    seq bigint NOT NULL CHECK (seq > 0),
    day date NOT NULL,
    ts double precision NOT NULL,
    type text NOT NULL,
    txn text,
    data text NOT NULL,
    hash text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (lane_id, seq, day)
) PARTITION BY RANGE (day);

-- Rows of a day without its partition yet (a lane's clock far off): kept, moved into the day's
-- partition when ensure_event_partitions creates it.
CREATE TABLE events_default PARTITION OF events DEFAULT;

-- The day partitions: events_YYYYMMDD for each day from first_day to last_day (kept if there).
-- The back office runs it at migrate and start, then hourly (kiosk/backoffice/app.py) for
-- yesterday .. a week ahead; retention (kiosk/backoffice/retention.py) drops old ones.
CREATE FUNCTION ensure_event_partitions(first_day date, last_day date) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    d date;
    part text;
    made int := 0;
BEGIN
    FOR d IN SELECT generate_series(first_day, last_day, interval '1 day')::date LOOP
        part := 'events_' || to_char(d, 'YYYYMMDD');
        CONTINUE WHEN to_regclass(part) IS NOT NULL;
        EXECUTE format('CREATE TABLE %I (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                       part);
        EXECUTE format('WITH moved AS (DELETE FROM events_default WHERE day = %L RETURNING *)'
                       ' INSERT INTO %I SELECT * FROM moved', d, part);
        EXECUTE format('ALTER TABLE events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                       part, d, d + 1);
        made := made + 1;
    END LOOP;
    RETURN made;
END
$$;

-- What the chain re-check found: 'gap' (seqs missing from the lane's journal), 'broken_chain'
-- (a row whose hash does not match its content and the previous row: an edited or corrupted
-- journal), 'conflict' (a different row sent again under a seq already held: a forked or
-- restored journal). Gap and broken rows are stored and flagged (the evidence is kept, the
-- lane keeps syncing); a conflicting row is not stored (the held one stays).
CREATE TABLE flags (
    id bigserial PRIMARY KEY,
    lane_id int NOT NULL REFERENCES lanes (id),
    seq bigint NOT NULL,
    kind text NOT NULL CHECK (kind IN ('gap', 'broken_chain', 'conflict')),
    detail text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX flags_lane_seq ON flags (lane_id, seq);
