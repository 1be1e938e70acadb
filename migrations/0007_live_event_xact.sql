-- Live events without a lock held through COMMIT (server/src/live/live.repository.ts publishEvents).
--
-- Until now every writing transaction took one advisory lock before drawing its event ids and held it
-- through COMMIT, so ids were in commit order — and writers queued behind each other's commits.
-- Now an event's id is derived from its writer's transaction id: id = xact_id * 1000 + n (n = 1..999,
-- the event's place in its transaction). Ids are therefore in transaction-id order, and a reader whose
-- snapshot has xmin X knows that every transaction below X has ended: the rows with xact_id < X are
-- final (all committed ones are visible to it, none can still appear), and they are exactly the ids
-- below X * 1000 — a prefix of the id order. The live hub and the replay deliver that prefix only.
ALTER TABLE live_events ADD COLUMN xact_id xid8 NOT NULL DEFAULT pg_current_xact_id();
ALTER TABLE live_events ALTER COLUMN id DROP IDENTITY;
-- At most 999 events per transaction (the writer refuses more before this check would).
ALTER TABLE live_events ADD CONSTRAINT live_events_id_in_xact CHECK (id < (xact_id::text::bigint + 1) * 1000);

-- Existing rows keep their small sequence ids and take this transaction's id: they are final for
-- every later reader and sort before every new id, unless an id already reaches this range.
DO $$
BEGIN
  IF (SELECT max(id) FROM live_events) >= pg_current_xact_id()::text::bigint * 1000 THEN
    RAISE EXCEPTION 'live_events ids reach the transaction-id range; delete old live events and migrate again';
  END IF;
END
$$;

-- Ids are sparse now, so "the oldest retained id - 1" no longer tells an expired Last-Event-ID from a
-- current one: pruning records the newest id it deleted (a Last-Event-ID below it is expired).
CREATE TABLE live_event_retention (
  one            boolean PRIMARY KEY DEFAULT true CHECK (one),
  pruned_through bigint NOT NULL
);
INSERT INTO live_event_retention (pruned_through) SELECT coalesce(min(id) - 1, 0) FROM live_events;
GRANT SELECT, UPDATE ON live_event_retention TO wangge_app;
