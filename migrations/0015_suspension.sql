-- 挂起 (issue 12): a suspended incident's clocks stop. While `suspended_since` is set, both clocks
-- are read as frozen at that moment; on resumption the time suspended is added to the overall
-- deadline (`due_at`) and to the current step (`step_paused`, back to zero at the next step), and
-- to `suspended_total` (the whole incident's, for the department figures).
ALTER TABLE incidents
  ADD COLUMN suspended_since timestamptz,
  ADD COLUMN suspended_by uuid REFERENCES users (id) ON DELETE SET NULL,
  ADD COLUMN step_paused interval NOT NULL DEFAULT '0',
  ADD COLUMN suspended_total interval NOT NULL DEFAULT '0';
CREATE INDEX incidents_suspended_idx ON incidents (suspended_since) WHERE suspended_since IS NOT NULL;
