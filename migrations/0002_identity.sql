-- 0002: accounts, sessions, login throttling, the append-only audit log, and the ordinary role
-- the API connects as. Frozen once landed.

-- An account is bound to an area by code: district/street/community (6/9/12 digits), a grid
-- (15 digits), or the whole installation ('*', admins only).
CREATE TABLE users (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  username            text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9_.-]{2,39}$'),
  display_name        text CHECK (length(display_name) <= 100),
  password_hash       text NOT NULL,
  role                text NOT NULL CHECK (role IN ('admin', 'commander', 'planner', 'grid_worker', 'department', 'viewer')),
  area_code           text NOT NULL CHECK (area_code = '*' OR area_code ~ '^[0-9]{6}([0-9]{3}){0,3}$'),
  disabled            boolean NOT NULL DEFAULT false,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  password_changed_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT users_star_is_admin CHECK (area_code <> '*' OR role = 'admin')
);

ALTER TABLE responders
  ADD CONSTRAINT responders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL;

-- Sessions: the cookie carries a random token; only its SHA-256 is stored.
CREATE TABLE sessions (
  id           text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{64}$'),
  user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  ip           text,
  user_agent   text CHECK (length(user_agent) <= 500)
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- Failed-login counters per account and per client address, in the database so that the limit
-- holds across several API processes.
CREATE TABLE login_throttle (
  key               text PRIMARY KEY CHECK (length(key) <= 300),
  failures          integer NOT NULL DEFAULT 0,
  window_started_at timestamptz NOT NULL DEFAULT now()
);

-- Append-only audit of every write and of every read of a sensitive record.
CREATE TABLE audit_log (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at             timestamptz NOT NULL DEFAULT now(),
  actor_id       uuid,
  actor_username text,
  actor_role     text,
  action         text NOT NULL CHECK (action ~ '^[a-z_.]{1,60}$'),
  entity         text NOT NULL CHECK (entity ~ '^[a-z_]{1,60}$'),
  entity_id      text,
  before         jsonb,
  after          jsonb,
  ip             text,
  request_id     text
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);
CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, at DESC);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP USING ERRCODE = '42501';
END $$;
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- The ordinary role of the API (not a superuser): it may read and write the data, append to the
-- audit log, and nothing more. Deployments create a LOGIN role that is a member of it.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'wangge_app') THEN
    CREATE ROLE wangge_app NOLOGIN;
  END IF;
END $$;
GRANT USAGE ON SCHEMA public TO wangge_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO wangge_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO wangge_app;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM wangge_app;
REVOKE INSERT, UPDATE, DELETE ON schema_migrations, schema_migrations_lock FROM wangge_app;
