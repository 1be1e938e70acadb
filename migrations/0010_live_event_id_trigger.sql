-- The rule of migration 0007 — a live event's id is its transaction's id (xid8) × 1000 + n, n = 1..999
-- its place in the transaction — applied by the table itself, so that every writer follows it: the API's
-- publishEvents (server/src/live/live.repository.ts) and any writer that still inserts without an id
-- (an API process of the previous release during a rolling start, which drew ids from the sequence
-- that 0007 dropped). A row-level BEFORE trigger sees the rows its own statement inserted before, so a
-- batch gets consecutive ids; the CHECK of 0007 refuses the 1000th event of one transaction.
CREATE FUNCTION live_event_id() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  base bigint := pg_current_xact_id()::text::bigint * 1000;
BEGIN
  NEW.xact_id := pg_current_xact_id();
  SELECT coalesce(max(l.id), base) + 1 INTO NEW.id FROM live_events l WHERE l.id > base AND l.id < base + 1000;
  RETURN NEW;
END
$$;

CREATE TRIGGER live_events_id BEFORE INSERT ON live_events FOR EACH ROW EXECUTE FUNCTION live_event_id();
