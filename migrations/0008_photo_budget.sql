-- Incident photos: the per-user upload budget (PHOTO_BUDGET_PER_HOUR) counts an uploader's photos
-- of the last hour in the database, so it holds across API processes; and the start-up sweep of
-- PHOTO_DIR asks which file hashes rows still name (a file no row names is an orphan).
CREATE INDEX incident_photos_uploader_idx ON incident_photos (uploaded_by, created_at) WHERE uploaded_by IS NOT NULL;
CREATE INDEX incident_photos_sha256_idx ON incident_photos (sha256);
