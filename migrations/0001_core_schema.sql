-- 0001: the administrative hierarchy, grids, buildings, roads, responders and incidents.
-- Frozen once landed: change the schema with a new numbered file.
-- Canonical geometry is EPSG:4326; a generated EPSG:3857 copy serves tiles and metric work.
-- Every high-volume table carries district_id so it can later be distributed by district (Citus).

CREATE EXTENSION IF NOT EXISTS postgis;

-- Administrative areas: district (6-digit code), street 街道 (9), community 社区 (12).
CREATE TABLE areas (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  code        text NOT NULL UNIQUE CHECK (code ~ '^[0-9]{6}([0-9]{3}){0,2}$'),
  level       text NOT NULL CHECK (level IN ('district', 'street', 'community')),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  parent_id   uuid REFERENCES areas (id) ON DELETE RESTRICT,
  district_id uuid REFERENCES areas (id) ON DELETE RESTRICT,
  geom        geometry(MultiPolygon, 4326),
  geom_3857   geometry(MultiPolygon, 3857) GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED,
  source      text,
  source_id   text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT areas_level_matches_code CHECK (
    (level = 'district' AND length(code) = 6) OR
    (level = 'street' AND length(code) = 9) OR
    (level = 'community' AND length(code) = 12)),
  CONSTRAINT areas_parent_required CHECK ((level = 'district') = (parent_id IS NULL)),
  CONSTRAINT areas_geom_valid CHECK (geom IS NULL OR (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)))
);
CREATE INDEX areas_geom_idx ON areas USING gist (geom);
CREATE INDEX areas_geom_3857_idx ON areas USING gist (geom_3857);
CREATE INDEX areas_parent_idx ON areas (parent_id);

-- Level and parent follow from the code: 6 digits district, 9 street, 12 community.
CREATE FUNCTION areas_derive_hierarchy() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  parent_code text;
BEGIN
  NEW.level := CASE length(NEW.code) WHEN 6 THEN 'district' WHEN 9 THEN 'street' WHEN 12 THEN 'community' END;
  IF NEW.level = 'district' THEN
    NEW.parent_id := NULL;
    NEW.district_id := NEW.id;
  ELSE
    parent_code := left(NEW.code, length(NEW.code) - 3);
    SELECT a.id, coalesce(a.district_id, a.id) INTO NEW.parent_id, NEW.district_id
      FROM areas a WHERE a.code = parent_code;
    IF NEW.parent_id IS NULL THEN
      RAISE EXCEPTION 'area % has no parent area %', NEW.code, parent_code USING ERRCODE = '23503';
    END IF;
  END IF;
  NEW.updated_at := now();
  RETURN NEW;
END $$;
CREATE TRIGGER areas_derive_hierarchy BEFORE INSERT OR UPDATE ON areas
  FOR EACH ROW EXECUTE FUNCTION areas_derive_hierarchy();

-- Grids 网格: a 15-digit code = community code (12) + sequence (3).
CREATE TABLE grids (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  code         text NOT NULL UNIQUE CHECK (code ~ '^[0-9]{15}$'),
  name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  community_id uuid NOT NULL REFERENCES areas (id) ON DELETE RESTRICT,
  district_id  uuid NOT NULL REFERENCES areas (id) ON DELETE RESTRICT,
  geom         geometry(MultiPolygon, 4326) NOT NULL,
  geom_3857    geometry(MultiPolygon, 3857) GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED,
  source       text,
  source_id    text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT grids_geom_valid CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom))
);
CREATE INDEX grids_geom_idx ON grids USING gist (geom);
CREATE INDEX grids_geom_3857_idx ON grids USING gist (geom_3857);
CREATE INDEX grids_community_idx ON grids (community_id);
CREATE INDEX grids_district_idx ON grids (district_id);

-- The grid code must extend its community's code.
CREATE FUNCTION grids_check_code() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  community_code text;
  community_district uuid;
BEGIN
  SELECT a.code, a.district_id INTO community_code, community_district
    FROM areas a WHERE a.id = NEW.community_id AND a.level = 'community';
  IF community_code IS NULL THEN
    RAISE EXCEPTION 'grid % must belong to a community', NEW.code USING ERRCODE = '23503';
  END IF;
  IF left(NEW.code, 12) <> community_code THEN
    RAISE EXCEPTION 'grid code % does not extend community code %', NEW.code, community_code
      USING ERRCODE = '23514';
  END IF;
  NEW.district_id := community_district;
  NEW.updated_at := now();
  RETURN NEW;
END $$;
CREATE TRIGGER grids_check_code BEFORE INSERT OR UPDATE ON grids
  FOR EACH ROW EXECUTE FUNCTION grids_check_code();

-- Buildings: footprint, households, and the grid holding its point on surface.
CREATE TABLE buildings (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  district_id uuid REFERENCES areas (id) ON DELETE RESTRICT,
  grid_id     uuid REFERENCES grids (id) ON DELETE SET NULL,
  name        text CHECK (length(name) <= 200),
  address     text CHECK (length(address) <= 300),
  floors      integer CHECK (floors BETWEEN 1 AND 200),
  height_m    real CHECK (height_m > 0 AND height_m < 1000),
  households  integer NOT NULL DEFAULT 0 CHECK (households BETWEEN 0 AND 100000),
  geom        geometry(MultiPolygon, 4326) NOT NULL,
  geom_3857   geometry(MultiPolygon, 3857) GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED,
  source      text,
  source_id   text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT buildings_geom_valid CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
  CONSTRAINT buildings_source_key UNIQUE (source, source_id)
);
CREATE INDEX buildings_geom_idx ON buildings USING gist (geom);
CREATE INDEX buildings_geom_3857_idx ON buildings USING gist (geom_3857);
CREATE INDEX buildings_grid_idx ON buildings (grid_id);
CREATE INDEX buildings_district_idx ON buildings (district_id);

-- Roads: OSM-like lines. Levels decide noding (see road_edges).
CREATE TABLE roads (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  district_id uuid REFERENCES areas (id) ON DELETE RESTRICT,
  name        text CHECK (length(name) <= 200),
  class       text NOT NULL CHECK (class ~ '^[a-z_]{1,40}$'),
  bridge      boolean NOT NULL DEFAULT false,
  tunnel      boolean NOT NULL DEFAULT false,
  layer       smallint NOT NULL DEFAULT 0 CHECK (layer BETWEEN -5 AND 5),
  oneway      boolean NOT NULL DEFAULT false,
  geom        geometry(LineString, 4326) NOT NULL,
  geom_3857   geometry(LineString, 3857) GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED,
  source      text,
  source_id   text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT roads_geom_valid CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom) AND ST_NPoints(geom) >= 2),
  CONSTRAINT roads_source_key UNIQUE (source, source_id, id)
);
CREATE INDEX roads_geom_idx ON roads USING gist (geom);
CREATE INDEX roads_geom_3857_idx ON roads USING gist (geom_3857);
CREATE INDEX roads_source_idx ON roads (source, source_id);

-- The routable network derived from roads: nodes where roads share a vertex or cross at the
-- same level; a bridge or tunnel passing over/under another road is not a node.
CREATE TABLE road_nodes (
  id    bigint PRIMARY KEY,
  geom  geometry(Point, 4326) NOT NULL
);
CREATE INDEX road_nodes_geom_idx ON road_nodes USING gist (geom);

CREATE TABLE road_edges (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  road_id   uuid NOT NULL REFERENCES roads (id) ON DELETE CASCADE,
  source    bigint NOT NULL REFERENCES road_nodes (id),
  target    bigint NOT NULL REFERENCES road_nodes (id),
  length_m  double precision NOT NULL CHECK (length_m >= 0),
  geom      geometry(LineString, 4326) NOT NULL
);
CREATE INDEX road_edges_geom_idx ON road_edges USING gist (geom);
CREATE INDEX road_edges_road_idx ON road_edges (road_id);

-- Bumped whenever roads change so that in-process routing graphs know to rebuild.
CREATE TABLE road_network_state (
  singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  version    bigint NOT NULL DEFAULT 0,
  noded_version bigint NOT NULL DEFAULT -1,
  changed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO road_network_state DEFAULT VALUES;

CREATE FUNCTION roads_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE road_network_state SET version = version + 1, changed_at = now();
  RETURN NULL;
END $$;
CREATE TRIGGER roads_bump_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON roads
  FOR EACH STATEMENT EXECUTE FUNCTION roads_bump_version();

-- Responders: grid workers, patrols, volunteers, police.
CREATE TABLE responders (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  district_id  uuid REFERENCES areas (id) ON DELETE RESTRICT,
  kind         text NOT NULL CHECK (kind IN ('grid_worker', 'patrol', 'volunteer', 'police')),
  name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  phone        text CHECK (length(phone) <= 40),
  status       text NOT NULL DEFAULT 'off_duty' CHECK (status IN ('available', 'busy', 'off_duty')),
  position     geometry(Point, 4326),
  position_at  timestamptz,
  home_grid_id uuid REFERENCES grids (id) ON DELETE SET NULL,
  -- The account this responder belongs to; the accounts table comes with identity.
  user_id      uuid UNIQUE,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT responders_position_valid CHECK (position IS NULL OR (NOT ST_IsEmpty(position))),
  CONSTRAINT responders_position_time CHECK ((position IS NULL) = (position_at IS NULL))
);
CREATE INDEX responders_position_idx ON responders USING gist (position);
CREATE INDEX responders_home_grid_idx ON responders (home_grid_id);
CREATE INDEX responders_district_idx ON responders (district_id);

CREATE TABLE incident_categories (
  code    text PRIMARY KEY CHECK (code ~ '^[a-z_]{1,40}$'),
  name_zh text NOT NULL,
  name_en text NOT NULL,
  sort    integer NOT NULL DEFAULT 0
);
INSERT INTO incident_categories (code, name_zh, name_en, sort) VALUES
  ('dispute',        '矛盾纠纷', 'Dispute',           1),
  ('safety_hazard',  '安全隐患', 'Safety hazard',     2),
  ('sanitation',     '环境卫生', 'Sanitation',        3),
  ('public_facility','公共设施', 'Public facility',   4),
  ('appeal',         '民生诉求', 'Resident appeal',   5),
  ('fire',           '消防',     'Fire',              6),
  ('traffic',        '交通秩序', 'Traffic',           7),
  ('emergency',      '突发事件', 'Emergency',         8);

CREATE TABLE incidents (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  district_id      uuid REFERENCES areas (id) ON DELETE RESTRICT,
  grid_id          uuid REFERENCES grids (id) ON DELETE SET NULL,
  category         text NOT NULL REFERENCES incident_categories (code),
  priority         text NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
  status           text NOT NULL DEFAULT 'reported' CHECK (status IN
                     ('reported', 'accepted', 'dispatched', 'in_progress', 'resolved', 'verified', 'closed', 'rejected')),
  location         geometry(Point, 4326) NOT NULL,
  address          text CHECK (length(address) <= 300),
  description      text NOT NULL CHECK (length(description) BETWEEN 1 AND 4000),
  reporter_contact text CHECK (length(reporter_contact) <= 200), -- sensitive: read access is audited
  near_border      boolean NOT NULL DEFAULT false,
  reported_at      timestamptz NOT NULL DEFAULT now(),
  closed_at        timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT incidents_location_valid CHECK (NOT ST_IsEmpty(location) AND ST_IsValid(location))
);
CREATE INDEX incidents_location_idx ON incidents USING gist (location);
CREATE INDEX incidents_grid_status_idx ON incidents (grid_id, status);
CREATE INDEX incidents_district_reported_idx ON incidents (district_id, reported_at DESC);
CREATE INDEX incidents_reported_idx ON incidents (reported_at DESC, id);

-- Provenance of imported data: one row per (source, layer) import, with the attribution the
-- data requires (e.g. '© OpenStreetMap contributors'), shown by clients whenever it is on screen.
CREATE TABLE data_sources (
  name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  layer          text NOT NULL CHECK (layer IN ('areas', 'grids', 'buildings', 'roads')),
  attribution    text CHECK (length(attribution) <= 500),
  imported_at    timestamptz NOT NULL DEFAULT now(),
  imported_count integer NOT NULL DEFAULT 0,
  rejected_count integer NOT NULL DEFAULT 0,
  PRIMARY KEY (name, layer)
);

-- Containment: the grid holding a point. Used by the triggers below and by the API.
CREATE FUNCTION grid_at(p geometry) RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT g.id FROM grids g WHERE ST_Intersects(g.geom, p) ORDER BY g.code LIMIT 1
$$;

CREATE FUNCTION buildings_assign_grid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' OR NEW.geom IS DISTINCT FROM OLD.geom OR NEW.grid_id IS NULL THEN
    NEW.grid_id := grid_at(ST_PointOnSurface(NEW.geom));
  END IF;
  IF NEW.grid_id IS NOT NULL THEN
    SELECT g.district_id INTO NEW.district_id FROM grids g WHERE g.id = NEW.grid_id;
  END IF;
  NEW.updated_at := now();
  RETURN NEW;
END $$;
CREATE TRIGGER buildings_assign_grid BEFORE INSERT OR UPDATE ON buildings
  FOR EACH ROW EXECUTE FUNCTION buildings_assign_grid();

CREATE FUNCTION incidents_assign_grid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.grid_id IS NULL OR TG_OP = 'UPDATE' AND NEW.location IS DISTINCT FROM OLD.location THEN
    NEW.grid_id := grid_at(NEW.location);
  END IF;
  IF NEW.grid_id IS NOT NULL THEN
    SELECT g.district_id INTO NEW.district_id FROM grids g WHERE g.id = NEW.grid_id;
  END IF;
  NEW.updated_at := now();
  RETURN NEW;
END $$;
CREATE TRIGGER incidents_assign_grid BEFORE INSERT OR UPDATE ON incidents
  FOR EACH ROW EXECUTE FUNCTION incidents_assign_grid();

-- When grids change, re-derive the grid of every building in the changed extent, and of open
-- or unassigned incidents there. Closed incidents keep the grid they were handled in.
CREATE FUNCTION grids_reassign_members() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  changed geometry;
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT ST_Collect(geom) INTO changed FROM new_grids;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT ST_Collect(geom) INTO changed FROM old_grids;
  ELSE
    SELECT ST_Collect(g) INTO changed FROM (
      SELECT geom AS g FROM new_grids UNION ALL SELECT geom FROM old_grids) u;
  END IF;
  IF changed IS NULL THEN RETURN NULL; END IF;
  UPDATE buildings b SET grid_id = grid_at(ST_PointOnSurface(b.geom))
   WHERE b.geom && changed
     AND b.grid_id IS DISTINCT FROM grid_at(ST_PointOnSurface(b.geom));
  UPDATE incidents i SET grid_id = grid_at(i.location)
   WHERE i.location && changed
     AND (i.grid_id IS NULL OR i.status NOT IN ('closed', 'rejected'))
     AND i.grid_id IS DISTINCT FROM grid_at(i.location);
  RETURN NULL;
END $$;
CREATE TRIGGER grids_reassign_after_insert AFTER INSERT ON grids
  REFERENCING NEW TABLE AS new_grids FOR EACH STATEMENT EXECUTE FUNCTION grids_reassign_members();
CREATE TRIGGER grids_reassign_after_update AFTER UPDATE ON grids
  REFERENCING NEW TABLE AS new_grids OLD TABLE AS old_grids
  FOR EACH STATEMENT EXECUTE FUNCTION grids_reassign_members();
CREATE TRIGGER grids_reassign_after_delete AFTER DELETE ON grids
  REFERENCING OLD TABLE AS old_grids FOR EACH STATEMENT EXECUTE FUNCTION grids_reassign_members();
