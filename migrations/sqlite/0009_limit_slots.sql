-- Rolling-window limits count events per slot, a sixtieth of the window,
-- instead of keeping a row per event: taking from a bucket reads at most 61
-- rows however busy it is (the deployment-wide "codes per hour", say). A
-- slot's row is also what a taker locks on Postgres, so limit_locks goes.
CREATE TABLE limit_slots (
    bucket     TEXT    NOT NULL,
    slot_start BIGINT  NOT NULL,  -- unix seconds, a multiple of the slot's width
    events     INTEGER NOT NULL,
    PRIMARY KEY (bucket, slot_start)
);
CREATE INDEX limit_slots_by_start ON limit_slots (slot_start);

-- Counts in progress carry over, so an upgrade hands no one a fresh budget:
-- each event goes to the slot of its bucket's window, which the key names
-- (':15m' a quarter hour, ':day' and 'code-failure:' a day, the rest an
-- hour; a slot is a sixtieth of it).
INSERT INTO limit_slots (bucket, slot_start, events)
SELECT bucket, slot_start, COUNT(*)
FROM (
    SELECT bucket, at - at % (CASE
        WHEN bucket LIKE '%:15m' THEN 15
        WHEN bucket LIKE '%:day' OR bucket LIKE 'code-failure:%' THEN 1440
        ELSE 60
    END) AS slot_start
    FROM limit_events
) AS events
GROUP BY bucket, slot_start;
DROP TABLE limit_events;
DROP TABLE limit_locks;
