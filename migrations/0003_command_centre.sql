-- 0003: the command centre — incident lifecycle (timeline, photos, time limits, escalation),
-- departments, idempotent submissions, responders' position tracks, and the live event log.

-- Departments that receive dispatched incidents ("the community orders, departments execute").
CREATE TABLE departments (
  code    text PRIMARY KEY CHECK (code ~ '^[a-z_]{1,40}$'),
  name_zh text NOT NULL,
  name_en text NOT NULL,
  sort    integer NOT NULL DEFAULT 0
);
INSERT INTO departments (code, name_zh, name_en, sort) VALUES
  ('urban_management',  '城管执法中队', 'Urban management',  1),
  ('market_regulation', '市场监管所',   'Market regulation', 2),
  ('public_security',   '公安派出所',   'Police station',    3),
  ('housing',           '房管办',       'Housing office',    4),
  ('fire_rescue',       '消防救援站',   'Fire and rescue',   5),
  ('greening',          '绿化市容所',   'Greening and city appearance', 6),
  ('civil_affairs',     '民政科',       'Civil affairs',     7);

ALTER TABLE users ADD COLUMN department_code text REFERENCES departments (code) ON DELETE SET NULL;

-- The department a category usually goes to (a suggestion for the dispatcher).
ALTER TABLE incident_categories ADD COLUMN department_code text REFERENCES departments (code) ON DELETE SET NULL;
UPDATE incident_categories SET department_code = d.dep FROM (VALUES
  ('dispute', NULL), ('safety_hazard', 'housing'), ('sanitation', 'greening'), ('public_facility', 'urban_management'),
  ('appeal', 'civil_affairs'), ('fire', 'fire_rescue'), ('traffic', 'public_security'), ('emergency', 'public_security')
) AS d (code, dep) WHERE incident_categories.code = d.code;

-- Time allowed in each step, per category. A step without a row has no limit.
CREATE TABLE incident_time_limits (
  category      text NOT NULL REFERENCES incident_categories (code) ON DELETE CASCADE,
  status        text NOT NULL CHECK (status IN ('reported', 'accepted', 'dispatched', 'in_progress', 'resolved', 'verified', 'rejected', 'reopened')),
  limit_minutes integer NOT NULL CHECK (limit_minutes BETWEEN 1 AND 525600),
  PRIMARY KEY (category, status)
);
-- Base limits (minutes) scaled per category: emergencies and fires are fastest, appeals slowest.
INSERT INTO incident_time_limits (category, status, limit_minutes)
SELECT c.code, s.status, greatest(1, round(s.base * c.factor))::int
FROM (VALUES ('dispute', 1.0), ('safety_hazard', 0.5), ('sanitation', 1.0), ('public_facility', 1.5),
             ('appeal', 2.0), ('fire', 0.1), ('traffic', 0.25), ('emergency', 0.1)) AS c (code, factor)
CROSS JOIN (VALUES ('reported', 30), ('accepted', 60), ('dispatched', 60), ('in_progress', 1440),
                   ('resolved', 720), ('verified', 1440), ('rejected', 60), ('reopened', 60)) AS s (status, base);

-- Incidents: lifecycle state, assignment, escalation.
ALTER TABLE incidents DROP CONSTRAINT incidents_status_check;
ALTER TABLE incidents ADD CONSTRAINT incidents_status_check CHECK (status IN
  ('reported', 'accepted', 'dispatched', 'in_progress', 'resolved', 'verified', 'closed', 'rejected', 'reopened'));
ALTER TABLE incidents
  ADD COLUMN reported_by           uuid REFERENCES users (id) ON DELETE SET NULL,
  ADD COLUMN status_since          timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN assignee_responder_id uuid REFERENCES responders (id) ON DELETE SET NULL,
  ADD COLUMN assignee_department   text REFERENCES departments (code) ON DELETE SET NULL,
  ADD COLUMN assigned_at           timestamptz,
  -- Grids other than its own within 30 m of the point (near_border is true when there are any).
  ADD COLUMN near_grid_ids         uuid[] NOT NULL DEFAULT '{}',
  -- 督办: 0 = handled at the grid/community, 1 = escalated to the street, 2 = to the district.
  ADD COLUMN escalation_level      smallint NOT NULL DEFAULT 0 CHECK (escalation_level BETWEEN 0 AND 2),
  ADD COLUMN escalated_at          timestamptz,
  ADD COLUMN version               integer NOT NULL DEFAULT 1;
CREATE INDEX incidents_status_since_idx ON incidents (status, status_since);
CREATE INDEX incidents_assignee_idx ON incidents (assignee_responder_id) WHERE assignee_responder_id IS NOT NULL;
CREATE INDEX incidents_department_idx ON incidents (assignee_department) WHERE assignee_department IS NOT NULL;
CREATE INDEX incidents_category_reported_idx ON incidents (category, reported_at DESC);

-- The timeline: one row per transition, with actor, time and note.
CREATE TABLE incident_transitions (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  incident_id     uuid NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
  district_id     uuid REFERENCES areas (id) ON DELETE RESTRICT,
  action          text NOT NULL CHECK (action ~ '^[a-z_]{1,40}$'),
  from_status     text,
  to_status       text NOT NULL,
  actor_id        uuid REFERENCES users (id) ON DELETE SET NULL,
  actor_name      text,          -- kept when the account goes; 'system' for escalations
  note            text CHECK (length(note) <= 2000),
  responder_id    uuid REFERENCES responders (id) ON DELETE SET NULL,
  department_code text REFERENCES departments (code) ON DELETE SET NULL,
  escalation_level smallint,
  at              timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX incident_transitions_incident_idx ON incident_transitions (incident_id, id);

-- Photos of an incident: at the report, or as proof of a step (transition_id).
CREATE TABLE incident_photos (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  incident_id   uuid NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
  district_id   uuid REFERENCES areas (id) ON DELETE RESTRICT,
  transition_id bigint REFERENCES incident_transitions (id) ON DELETE SET NULL,
  content_type  text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp')),
  byte_size     integer NOT NULL CHECK (byte_size BETWEEN 1 AND 20971520),
  sha256        text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  data          bytea,           -- NULL when kept in the configured photos folder (named by sha256)
  uploaded_by   uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX incident_photos_incident_idx ON incident_photos (incident_id, created_at);

-- Idempotent submissions: a client's key (per user) maps to the first answer, kept 24 h.
CREATE TABLE idempotency_keys (
  user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
  route        text NOT NULL,
  request_hash text NOT NULL,
  status_code  integer NOT NULL,
  response     jsonb NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- Responders: status time, and every accepted position (the track; patrols build on it).
ALTER TABLE responders
  ADD COLUMN status_at            timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN position_accuracy_m  real CHECK (position_accuracy_m IS NULL OR position_accuracy_m BETWEEN 0 AND 100000);
CREATE INDEX responders_user_idx ON responders (user_id) WHERE user_id IS NOT NULL;

CREATE TABLE responder_positions (
  responder_id uuid NOT NULL REFERENCES responders (id) ON DELETE CASCADE,
  recorded_at  timestamptz NOT NULL,
  district_id  uuid REFERENCES areas (id) ON DELETE RESTRICT,
  position     geometry(Point, 4326) NOT NULL,
  accuracy_m   real CHECK (accuracy_m IS NULL OR accuracy_m BETWEEN 0 AND 100000),
  received_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (responder_id, recorded_at)
);
CREATE INDEX responder_positions_received_idx ON responder_positions (received_at);

-- The live event log behind /api/live: ids are handed out in commit order (writers take
-- pg_advisory_xact_lock(7 265 001) just before inserting, see server/src/live/publish.ts), so a
-- reader that has seen id N has seen every event below N. Kept 7 days.
CREATE TABLE live_events (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  type        text NOT NULL CHECK (type IN ('incident.created', 'incident.updated', 'responder.moved', 'responder.status')),
  entity_id   uuid NOT NULL,
  -- The code of the grid (or area) the entity belongs to: a receiver sees the event when this
  -- code extends its own area code.
  scope_code  text NOT NULL,
  district_id uuid REFERENCES areas (id) ON DELETE SET NULL,
  data        jsonb NOT NULL DEFAULT '{}',
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX live_events_created_idx ON live_events (created_at);

GRANT SELECT, INSERT, UPDATE, DELETE ON departments, incident_time_limits, incident_transitions, incident_photos,
  idempotency_keys, responder_positions, live_events TO wangge_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO wangge_app;
