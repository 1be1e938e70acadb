-- Grid plans (issue 13): a community's grids are redrawn as dated versions. A grid keeps its identity
-- (its code, its row) across versions while only its geometry or name changes; a version retires
-- the grids it no longer has instead of deleting them, so closed incidents keep the grid they were
-- handled in and the history shows its boundary then (grid_boundaries).
--
-- Every reader sees only the grids in force: the table is now `grid_records`, and `grids` is the
-- view of its rows in force (auto-updatable: the writes through it reach the table; the triggers
-- that keep buildings and open incidents in their grid stay on the table, and `grid_at` reads the
-- view). A grid code is unique among the grids in force.
CREATE EXTENSION IF NOT EXISTS btree_gist;

ALTER TABLE grids RENAME TO grid_records;
ALTER TABLE grid_records ADD COLUMN retired_at timestamptz;
ALTER TABLE grid_records DROP CONSTRAINT grids_code_key;
CREATE UNIQUE INDEX grid_records_code_in_force ON grid_records (code) WHERE retired_at IS NULL;
CREATE VIEW grids AS SELECT * FROM grid_records WHERE retired_at IS NULL;

-- The versions of a community's plan, as published: the grids (a FeatureCollection with `code` and
-- `name`), when it takes effect, on which version it was based, who published it and why, the
-- successors of the codes it retires or recodes, and when it took effect (the publish for "now",
-- else the timer — exactly once: the timer claims a version by setting `applied_at`).
-- Version 0 of a community is its grids before its first plan, recorded when that plan is published.
CREATE TABLE grid_plan_versions (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  community_id      uuid NOT NULL REFERENCES areas (id) ON DELETE CASCADE,
  version           integer NOT NULL CHECK (version >= 0),
  effective_from    timestamptz NOT NULL,
  published_at      timestamptz NOT NULL DEFAULT now(),
  published_by      uuid REFERENCES users (id) ON DELETE SET NULL,
  published_by_name text,
  note              text CHECK (length(note) <= 2000),
  grids             jsonb NOT NULL,
  successors        jsonb NOT NULL DEFAULT '{}'::jsonb,
  applied_at        timestamptz,
  UNIQUE (community_id, version)
);
CREATE INDEX grid_plan_versions_pending_idx ON grid_plan_versions (effective_from) WHERE applied_at IS NULL;

-- Each grid's boundary over time: one row per span in which it had one geometry; spans of a grid
-- never overlap. The first span of the grids that exist now starts at -infinity.
CREATE TABLE grid_boundaries (
  grid_id    uuid NOT NULL REFERENCES grid_records (id) ON DELETE CASCADE,
  version_id bigint REFERENCES grid_plan_versions (id) ON DELETE SET NULL,
  valid      tstzrange NOT NULL,
  geom       geometry(MultiPolygon, 4326) NOT NULL,
  CONSTRAINT grid_boundaries_no_overlap EXCLUDE USING gist (grid_id WITH =, valid WITH &&)
);
INSERT INTO grid_boundaries (grid_id, valid, geom) SELECT id, tstzrange('-infinity', NULL), geom FROM grid_records;

-- Kept by the table's own writes, whoever makes them (a plan taking effect, an import, the
-- generator): a grid a plan adds begins when the plan takes effect, one imported or generated has
-- no known beginning (-infinity); a new geometry ends the current span and starts the next; a
-- retirement ends the current span.
CREATE FUNCTION grid_records_keep_boundaries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO grid_boundaries (grid_id, valid, geom)
    VALUES (NEW.id, tstzrange(CASE WHEN NEW.source = 'plan' THEN now() ELSE '-infinity' END, NULL), NEW.geom);
    RETURN NULL;
  END IF;
  IF NEW.geom IS DISTINCT FROM OLD.geom OR (NEW.retired_at IS NOT NULL AND OLD.retired_at IS NULL) THEN
    UPDATE grid_boundaries SET valid = tstzrange(lower(valid), greatest(lower(valid), coalesce(NEW.retired_at, now())))
     WHERE grid_id = NEW.id AND upper_inf(valid);
    IF NEW.retired_at IS NULL THEN
      INSERT INTO grid_boundaries (grid_id, valid, geom) VALUES (NEW.id, tstzrange(now(), NULL), NEW.geom);
    END IF;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER grid_records_keep_boundaries AFTER INSERT OR UPDATE OF geom, retired_at ON grid_records
  FOR EACH ROW EXECUTE FUNCTION grid_records_keep_boundaries();

-- The planner's bounds (admins may change them): warnings for a grid too small, too large or with
-- households out of range; errors for slivers (largest inscribed circle radius), gaps and overlaps.
CREATE TABLE grid_plan_settings (
  id                      boolean PRIMARY KEY DEFAULT true CHECK (id),
  too_small_m2            double precision NOT NULL DEFAULT 5000 CHECK (too_small_m2 >= 0),
  too_large_m2            double precision NOT NULL DEFAULT 1000000 CHECK (too_large_m2 > 0),
  min_households          integer NOT NULL DEFAULT 50 CHECK (min_households >= 0),
  max_households          integer NOT NULL DEFAULT 600 CHECK (max_households > 0),
  sliver_radius_m         double precision NOT NULL DEFAULT 2 CHECK (sliver_radius_m >= 0),
  gap_overlap_tolerance_m2 double precision NOT NULL DEFAULT 1 CHECK (gap_overlap_tolerance_m2 >= 0),
  updated_at              timestamptz NOT NULL DEFAULT now()
);
INSERT INTO grid_plan_settings DEFAULT VALUES;

-- A planner's work in progress on a community's grids, kept on the server so that nothing is lost on
-- a reload or a dropped connection: based on a version, with its grids and its undo/redo history as
-- the client keeps them; each save names the revision it replaces (optimistic concurrency).
CREATE TABLE grid_plan_drafts (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  community_id uuid NOT NULL REFERENCES areas (id) ON DELETE CASCADE,
  author_id    uuid REFERENCES users (id) ON DELETE SET NULL,
  author_name  text,
  base_version integer NOT NULL CHECK (base_version >= 0),
  revision     integer NOT NULL DEFAULT 1 CHECK (revision >= 1),
  grids        jsonb NOT NULL,
  history      jsonb NOT NULL DEFAULT '{"undo": [], "redo": []}'::jsonb,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX grid_plan_drafts_community_idx ON grid_plan_drafts (community_id, updated_at DESC);

-- A plan taking effect is announced on the live stream (`grids.changed`: maps load the new borders).
ALTER TABLE live_events DROP CONSTRAINT live_events_type_check;
ALTER TABLE live_events ADD CONSTRAINT live_events_type_check
  CHECK (type IN ('incident.created', 'incident.updated', 'responder.moved', 'responder.status', 'grids.changed'));

-- Grids are retired, never deleted, by the API.
GRANT SELECT, INSERT, UPDATE ON grids, grid_records TO wangge_app;
REVOKE DELETE ON grid_records FROM wangge_app;
GRANT SELECT, INSERT, UPDATE ON grid_plan_versions, grid_boundaries, grid_plan_settings TO wangge_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON grid_plan_drafts TO wangge_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO wangge_app;
