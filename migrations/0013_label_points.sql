-- Where the name of an area or a grid is written on the map (issue 11): one point per polygon, the
-- centre of its largest inscribed circle (its pole of inaccessibility: well inside even an L-shaped
-- or concave grid, in the widest part of a multipolygon), in EPSG:3857 as the tiles draw it.
-- Kept by PostgreSQL with the geometry (a planner's redrawn grid moves its label with it), served as
-- point tile layers (area-labels, grid-labels), so the map labels each polygon once rather than in
-- every tile it crosses, without fetching polygons to compute the points in the browser.
ALTER TABLE areas ADD COLUMN label_3857 geometry(Point, 3857)
  GENERATED ALWAYS AS ((ST_MaximumInscribedCircle(ST_Transform(geom, 3857))).center) STORED;
ALTER TABLE grids ADD COLUMN label_3857 geometry(Point, 3857)
  GENERATED ALWAYS AS ((ST_MaximumInscribedCircle(ST_Transform(geom, 3857))).center) STORED;
CREATE INDEX areas_label_3857_idx ON areas USING gist (label_3857);
CREATE INDEX grids_label_3857_idx ON grids USING gist (label_3857);
