-- 评价 (issue 12): after closure the community rates the handling, once per closure (a reopened and
-- closed-again incident can be rated again). A rating names the closure it rates (`closure_id`, the
-- `close` step; unique, so no race or bug can rate one closure twice), its own timeline row, and who
-- handled what was closed (the assignee at the rating: the department scores read it). An incident
-- closed without a `close` step on its timeline (data written before, or by hand) has a null closure:
-- it can be rated once (NULLS NOT DISTINCT, PostgreSQL 15+).
-- `incidents.closure_rated` says whether the current closure is rated (false again at every new
-- status), so what may be done with an incident is read from its row as for 挂起 and 延期.
CREATE TABLE incident_ratings (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  incident_id     uuid NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
  district_id     uuid REFERENCES areas (id) ON DELETE RESTRICT,
  closure_id      bigint REFERENCES incident_transitions (id) ON DELETE CASCADE,
  transition_id   bigint NOT NULL UNIQUE REFERENCES incident_transitions (id) ON DELETE CASCADE,
  score           smallint NOT NULL CHECK (score BETWEEN 1 AND 5),
  comment         text CHECK (length(comment) <= 2000),
  department_code text REFERENCES departments (code) ON DELETE SET NULL,
  responder_id    uuid REFERENCES responders (id) ON DELETE SET NULL,
  rated_by        uuid REFERENCES users (id) ON DELETE SET NULL,
  rated_by_name   text,
  rated_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
  CONSTRAINT incident_ratings_once_per_closure UNIQUE NULLS NOT DISTINCT (incident_id, closure_id)
);
CREATE INDEX incident_ratings_department_idx ON incident_ratings (department_code) WHERE department_code IS NOT NULL;
ALTER TABLE incidents ADD COLUMN closure_rated boolean NOT NULL DEFAULT false;

-- The department scores read dispatches to a department by time.
CREATE INDEX incident_transitions_department_idx ON incident_transitions (department_code, at)
  WHERE action = 'dispatch' AND department_code IS NOT NULL;

-- The weights of the department score (admins change them): each figure's share of the score.
CREATE TABLE department_kpi_weights (
  figure     text PRIMARY KEY CHECK (figure IN ('startedOnTime', 'onTime', 'notRejected', 'notReopened', 'rating')),
  weight     numeric(6, 2) NOT NULL CHECK (weight BETWEEN 0 AND 100),
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by uuid REFERENCES users (id) ON DELETE SET NULL
);
INSERT INTO department_kpi_weights (figure, weight) VALUES
  ('startedOnTime', 20), ('onTime', 30), ('notRejected', 15), ('notReopened', 15), ('rating', 20);

-- The API's role rates (no change or removal of a rating) and reads and sets the weights.
GRANT SELECT, INSERT ON incident_ratings TO wangge_app;
GRANT SELECT, INSERT, UPDATE ON department_kpi_weights TO wangge_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO wangge_app;
