-- Session invalidation. Each API process keeps the users of live sessions in memory
-- (server/src/auth/session-cache.ts) instead of reading them on every request; these triggers say,
-- on the channel wangge_sessions, when what such an entry holds may have changed, so that sign-out,
-- disabling and role/area/department changes take effect at once in every process:
--   's:<session id>'  a session was deleted, or moved back in time (expiry, idle clock), or reassigned
--   'u:<user id>'     an account changed what its sessions show (role, area, department, disabled,
--                     password, name), was deleted, or gained or lost its responder record
--   '*'               many sessions at once (drop everything)
-- A NOTIFY is sent at COMMIT, never for a rolled-back change; the session's own touch (last_seen_at
-- moving forward, once a minute) and responder position/status updates notify nothing.

CREATE FUNCTION notify_sessions_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (SELECT count(*) FROM gone) > 100 THEN
    PERFORM pg_notify('wangge_sessions', '*');
  ELSE
    PERFORM pg_notify('wangge_sessions', 's:' || g.id) FROM gone g;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER sessions_deleted_notify AFTER DELETE ON sessions
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION notify_sessions_deleted();

CREATE FUNCTION notify_session_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('wangge_sessions', 's:' || OLD.id);
  RETURN NULL;
END $$;

CREATE TRIGGER sessions_changed_notify AFTER UPDATE ON sessions
  FOR EACH ROW
  WHEN (NEW.last_seen_at < OLD.last_seen_at OR NEW.expires_at IS DISTINCT FROM OLD.expires_at
        OR NEW.user_id IS DISTINCT FROM OLD.user_id OR NEW.id IS DISTINCT FROM OLD.id)
  EXECUTE FUNCTION notify_session_changed();

CREATE FUNCTION notify_session_user_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'users' THEN
    IF TG_OP = 'DELETE' THEN
      PERFORM pg_notify('wangge_sessions', 'u:' || OLD.id);
    ELSE
      PERFORM pg_notify('wangge_sessions', 'u:' || NEW.id);
    END IF;
    RETURN NULL;
  END IF;
  -- responders: the account(s) whose responder record came, went or moved
  IF TG_OP <> 'INSERT' THEN
    IF OLD.user_id IS NOT NULL THEN
      PERFORM pg_notify('wangge_sessions', 'u:' || OLD.user_id);
    END IF;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    IF NEW.user_id IS NOT NULL THEN
      PERFORM pg_notify('wangge_sessions', 'u:' || NEW.user_id);
    END IF;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER users_changed_notify AFTER UPDATE ON users
  FOR EACH ROW
  WHEN (NEW.disabled IS DISTINCT FROM OLD.disabled OR NEW.role IS DISTINCT FROM OLD.role
        OR NEW.area_code IS DISTINCT FROM OLD.area_code OR NEW.department_code IS DISTINCT FROM OLD.department_code
        OR NEW.password_hash IS DISTINCT FROM OLD.password_hash OR NEW.username IS DISTINCT FROM OLD.username
        OR NEW.display_name IS DISTINCT FROM OLD.display_name OR NEW.id IS DISTINCT FROM OLD.id)
  EXECUTE FUNCTION notify_session_user_changed();

CREATE TRIGGER users_deleted_notify AFTER DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION notify_session_user_changed();

CREATE TRIGGER responders_user_added_notify AFTER INSERT ON responders
  FOR EACH ROW WHEN (NEW.user_id IS NOT NULL) EXECUTE FUNCTION notify_session_user_changed();

CREATE TRIGGER responders_user_removed_notify AFTER DELETE ON responders
  FOR EACH ROW WHEN (OLD.user_id IS NOT NULL) EXECUTE FUNCTION notify_session_user_changed();

CREATE TRIGGER responders_user_moved_notify AFTER UPDATE OF user_id ON responders
  FOR EACH ROW WHEN (NEW.user_id IS DISTINCT FROM OLD.user_id) EXECUTE FUNCTION notify_session_user_changed();
