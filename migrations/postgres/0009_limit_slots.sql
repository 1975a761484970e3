-- Rolling-window limits count events per slot, a sixtieth of the window,
-- instead of keeping a row per event: taking from a bucket reads at most 61
-- rows however busy it is (the deployment-wide "codes per hour", say). A
-- slot's row is also what a taker locks on Postgres, so limit_locks goes.
-- Counts in progress start afresh.
DROP TABLE limit_events;
DROP TABLE limit_locks;
CREATE TABLE limit_slots (
    bucket     TEXT    NOT NULL,
    slot_start BIGINT  NOT NULL,  -- unix seconds, a multiple of the slot's width
    events     INTEGER NOT NULL,
    PRIMARY KEY (bucket, slot_start)
);
CREATE INDEX limit_slots_by_start ON limit_slots (slot_start);
