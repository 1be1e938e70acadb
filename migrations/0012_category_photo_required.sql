-- A category can require photographic proof to resolve its incidents (issue 10 item 9): an admin of
-- the whole installation sets it (PATCH /api/incident-categories/{code}); resolving such an incident
-- without a photo is then 422 PHOTO_REQUIRED. Off for every category until an admin turns it on.
ALTER TABLE incident_categories ADD COLUMN photo_required boolean NOT NULL DEFAULT false;
