-- 0004: incidents follow-up to 0003. A rejected incident (退单) is open again — back with the
-- command centre — so when grids change it is re-assigned like every other open incident; only
-- closed incidents keep the grid they were handled in.
CREATE OR REPLACE FUNCTION grids_reassign_members() RETURNS trigger LANGUAGE plpgsql AS $$
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
     AND (i.grid_id IS NULL OR i.status <> 'closed')
     AND i.grid_id IS DISTINCT FROM grid_at(i.location);
  RETURN NULL;
END $$;
