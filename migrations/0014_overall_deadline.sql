-- Two clocks (issue 12). The step limit (incident_time_limits, per category × status) restarts with
-- every step; the overall deadline holds the whole incident to one time: report time + its category's
-- overall limit (+ approved extensions + time spent suspended, later). Stored on the incident when it
-- is reported, it never moves otherwise — not on dispatch, reassignment, rejection or reopening — nor
-- when an admin changes the category's limit afterwards.
ALTER TABLE incident_categories ADD COLUMN overall_limit_minutes integer NOT NULL DEFAULT 4320
  CHECK (overall_limit_minutes BETWEEN 1 AND 525600);
-- Demo values: three days for an ordinary report, scaled as the step limits are (0003).
UPDATE incident_categories SET overall_limit_minutes = greatest(60, round(4320 * c.factor))::int
  FROM (VALUES ('dispute', 1.0), ('safety_hazard', 0.5), ('sanitation', 1.0), ('public_facility', 1.5),
               ('appeal', 2.0), ('fire', 0.1), ('traffic', 0.25), ('emergency', 0.1)) AS c (code, factor)
 WHERE incident_categories.code = c.code;

ALTER TABLE incidents
  ADD COLUMN due_at timestamptz,
  -- 督办 for the overall deadline: once, when it passes (step limits escalate once each, escalated_at).
  ADD COLUMN deadline_escalated_at timestamptz;
UPDATE incidents i SET due_at = i.reported_at + c.overall_limit_minutes * interval '1 minute'
  FROM incident_categories c WHERE c.code = i.category;
CREATE INDEX incidents_open_due_idx ON incidents (due_at) WHERE status <> 'closed';

CREATE FUNCTION incidents_set_deadline() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.due_at IS NULL THEN
    SELECT NEW.reported_at + c.overall_limit_minutes * interval '1 minute' INTO NEW.due_at
      FROM incident_categories c WHERE c.code = NEW.category;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER incidents_set_deadline BEFORE INSERT ON incidents
  FOR EACH ROW EXECUTE FUNCTION incidents_set_deadline();
