-- Taking a slot of several limits, as one call: the round trips of a
-- transaction (BEGIN, lock, take, COMMIT) were a quarter of those of a
-- password step. Each statement of a volatile function takes a fresh
-- snapshot, so the take counts what the takers this one queued behind on
-- the slot rows added before they committed.
--
-- limit i is buckets[i] (sorted, one lock order for everyone), its current
-- slot slots[i], its oldest counted slot oldest[i] and its maximum most[i];
-- returns the buckets taken from: all of them, or none if one was full.
CREATE FUNCTION take_limit_slots(buckets TEXT[], slots BIGINT[], oldest BIGINT[], most BIGINT[])
RETURNS SETOF TEXT
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    -- Lock the current slot row of each bucket, in one order, so that
    -- concurrent takers of a bucket queue up here.
    INSERT INTO limit_slots (bucket, slot_start, events)
    SELECT t.bucket, t.slot_start, 0 FROM unnest(buckets, slots) AS t (bucket, slot_start)
    ORDER BY t.bucket
    ON CONFLICT (bucket, slot_start) DO UPDATE SET events = limit_slots.events;

    RETURN QUERY
    WITH taken AS (
        INSERT INTO limit_slots AS s (bucket, slot_start, events)
        SELECT t.bucket, t.slot_start, 1 FROM unnest(buckets, slots) AS t (bucket, slot_start)
        WHERE NOT EXISTS (
            SELECT 1 FROM unnest(buckets, oldest, most) AS l (bucket, first_slot, max_events)
            WHERE (SELECT COALESCE(SUM(c.events), 0) FROM limit_slots c
                   WHERE c.bucket = l.bucket AND c.slot_start >= l.first_slot) >= l.max_events)
        ON CONFLICT (bucket, slot_start) DO UPDATE SET events = s.events + 1
        RETURNING s.bucket
    )
    SELECT taken.bucket FROM taken;
END
$$;
