-- Incidents are visible to the viewers of their grid's area and, in addition, to the responder or
-- department they are assigned to (server/src/auth/scope.ts). A live event names the responders and
-- departments it concerns — the current assignee, and the previous one when a step takes the
-- incident from it (a reassignment) — so that an assignee outside the area receives it, and one who
-- loses an assignment receives that one event.
ALTER TABLE live_events
  ADD COLUMN responder_ids uuid[] NOT NULL DEFAULT '{}',
  ADD COLUMN department_codes text[] NOT NULL DEFAULT '{}';
