-- 延期 (issue 12): a handler asks for more time, the command centre grants or refuses it. At most one
-- request pending per incident (its minutes, who asked and when); granted minutes are added to the
-- overall deadline (`due_at`) and counted in `extension_minutes`. The timeline keeps the minutes of
-- each request and grant.
ALTER TABLE incidents
  ADD COLUMN extension_minutes integer NOT NULL DEFAULT 0 CHECK (extension_minutes >= 0),
  ADD COLUMN extension_pending_minutes integer CHECK (extension_pending_minutes BETWEEN 1 AND 43200),
  ADD COLUMN extension_pending_by uuid REFERENCES users (id) ON DELETE SET NULL,
  ADD COLUMN extension_pending_at timestamptz;
ALTER TABLE incident_transitions ADD COLUMN minutes integer CHECK (minutes BETWEEN 1 AND 43200);
