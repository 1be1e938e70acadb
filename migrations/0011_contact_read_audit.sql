-- 0011: repeated reads of a reporter's contact are one audit row with a count and the last time.
--
-- The incident drawer reloads its detail every few seconds, and each reload of a detail with the
-- reporter's contact appended an 'incident.read_contact' row (six a minute for one open drawer). Now
-- the reads of one incident's contact by one user, from one address, within 15 minutes of the first
-- are one row: `count` reads, the first at `at`, the last at `last_at`. Every read is still counted.
--
-- audit_log stays append-only for everything else. The one change a row may take: an
-- 'incident.read_contact' row's `count` grows by exactly one and its `last_at` moves forward to a
-- time not in the future and less than 15 minutes after the row's `at`; every other column stays as
-- it was (compared as a whole row, so a column added later is covered too). A count never shrinks,
-- so no read can be hidden; DELETE and TRUNCATE stay refused for every row, and the ordinary role
-- (wangge_app) is granted UPDATE on these two columns only.

ALTER TABLE audit_log
  ADD COLUMN count integer NOT NULL DEFAULT 1,
  ADD COLUMN last_at timestamptz,
  -- Only contact reads are counted; a single entry has no last time of its own (it is `at`).
  ADD CONSTRAINT audit_log_counted CHECK (
    (count = 1 AND last_at IS NULL) OR (action = 'incident.read_contact' AND count > 1 AND last_at >= at)
  );

COMMENT ON COLUMN audit_log.count IS 'how many times it happened: > 1 only for repeated incident.read_contact within 15 minutes';
COMMENT ON COLUMN audit_log.last_at IS 'the last of the counted times (NULL: once, at `at`)';

CREATE FUNCTION audit_log_counted_read_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.action = 'incident.read_contact'
     AND NEW.count = OLD.count + 1
     AND NEW.last_at >= coalesce(OLD.last_at, OLD.at)
     AND NEW.last_at < OLD.at + interval '15 minutes'
     AND NEW.last_at <= clock_timestamp()
     AND to_jsonb(NEW) - '{count,last_at}'::text[] = to_jsonb(OLD) - '{count,last_at}'::text[]
  THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_log is append-only (UPDATE refused: only a contact read''s count and last time grow, within 15 minutes of its first read)'
    USING ERRCODE = '42501';
END $$;

-- The trigger of 0002 refused UPDATE and DELETE alike; DELETE keeps 0002's function, UPDATE gets the
-- narrow exception above. (TRUNCATE keeps its statement trigger of 0002.)
DROP TRIGGER audit_log_no_update_delete ON audit_log;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_counted_reads_only BEFORE UPDATE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_counted_read_only();

GRANT UPDATE (count, last_at) ON audit_log TO wangge_app;

-- Records one read of an incident's reporter contact: adds it to the caller's row for the same
-- incident from the same address begun less than 15 minutes ago, else appends a new row; returns the
-- row's id. One user's reads of one incident wait for each other (a transaction-scoped advisory lock,
-- in a key space of its own: the two-key form), and each statement of a volatile function sees what
-- committed before it started, so two concurrent first reads make one row with count 2, never two
-- rows, and no concurrent read is lost (the UPDATE adds to the row's current count). Without a user
-- (no actor) every read is its own row.
CREATE FUNCTION audit_contact_read(
  p_incident_id text, p_actor_id uuid, p_actor_username text, p_actor_role text, p_ip text, p_request_id text
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  row_id bigint;
BEGIN
  IF p_actor_id IS NOT NULL THEN
    PERFORM pg_advisory_xact_lock(7265011, hashtext(p_actor_id::text || '/' || p_incident_id));
    UPDATE audit_log
       SET count = count + 1, last_at = greatest(coalesce(last_at, at), now())
     WHERE id = (
       SELECT a.id FROM audit_log a
        WHERE a.entity = 'incident' AND a.entity_id = p_incident_id AND a.action = 'incident.read_contact'
          AND a.actor_id = p_actor_id AND a.ip IS NOT DISTINCT FROM p_ip
          AND a.at > now() - interval '15 minutes'
        ORDER BY a.id DESC
        LIMIT 1)
    RETURNING id INTO row_id;
    IF row_id IS NOT NULL THEN
      RETURN row_id;
    END IF;
  END IF;
  INSERT INTO audit_log (actor_id, actor_username, actor_role, action, entity, entity_id, ip, request_id)
  VALUES (p_actor_id, p_actor_username, p_actor_role, 'incident.read_contact', 'incident', p_incident_id, p_ip, p_request_id)
  RETURNING id INTO row_id;
  RETURN row_id;
END $$;
