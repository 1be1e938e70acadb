import type pg from 'pg';

/**
 * The properties every generated data set must have, measured by PostGIS. Areas are in square
 * metres in UTM zone 51N (EPSG:32651, Shanghai's zone).
 */
export interface Invariants {
  /** Largest symmetric difference between a parent area and the union of its children (m²). */
  maxTilingGapM2: number;
  /** Parents (districts, 街道, 社区) without children. */
  childlessAreas: number;
  /** Largest overlap between two grids (m²). */
  maxGridOverlapM2: number;
  buildings: number;
  /** Buildings whose grid_id is null, or whose grid does not hold their point on surface. */
  buildingsNotInTheirGrid: number;
  /** Buildings whose point on surface lies in other than exactly one grid. */
  buildingsNotInExactlyOneGrid: number;
  /** Buildings not wholly inside their grid. */
  buildingsCrossingGridEdges: number;
  /** Incidents whose location is outside their grid (or who have none). */
  incidentsOutsideTheirGrid: number;
  /** Codes: malformed, not extending the parent's code, or disagreeing with parent_id. */
  badAreaCodes: number;
  badGridCodes: number;
  /** Rows that the generator wrote but did not mark as its own. */
  unmarkedRows: number;
}

const one = async <T>(pool: pg.Pool, sql: string): Promise<T> => (await pool.query(sql)).rows[0] as T;
const metric = (g: string) => `ST_Area(ST_Transform(${g}, 32651))`;

export async function measureInvariants(pool: pg.Pool): Promise<Invariants> {
  const tiling = await one<{ gap: number; childless: number }>(
    pool,
    `WITH children AS (
       SELECT parent_id AS id, ST_Union(geom) AS geom FROM areas WHERE parent_id IS NOT NULL GROUP BY parent_id
       UNION ALL
       SELECT community_id, ST_Union(geom) FROM grids GROUP BY community_id)
     SELECT coalesce(max(${metric('ST_SymDifference(a.geom, c.geom)')}), 0)::float8 AS gap,
            count(*) FILTER (WHERE c.id IS NULL)::int AS childless
       FROM areas a LEFT JOIN children c ON c.id = a.id`,
  );
  const overlap = await one<{ overlap: number }>(
    pool,
    `SELECT coalesce(max(${metric('ST_Intersection(g1.geom, g2.geom)')}), 0)::float8 AS overlap
       FROM grids g1 JOIN grids g2 ON g1.code < g2.code AND ST_Intersects(g1.geom, g2.geom)`,
  );
  const buildings = await one<{ n: number; not_theirs: number; not_one: number; crossing: number }>(
    pool,
    `SELECT count(*)::int AS n,
            count(*) FILTER (WHERE g.id IS NULL OR NOT ST_Intersects(g.geom, ST_PointOnSurface(b.geom)))::int AS not_theirs,
            count(*) FILTER (WHERE c.n <> 1)::int AS not_one,
            count(*) FILTER (WHERE g.id IS NOT NULL AND NOT ST_CoveredBy(b.geom, g.geom))::int AS crossing
       FROM buildings b
       LEFT JOIN grids g ON g.id = b.grid_id
       CROSS JOIN LATERAL (SELECT count(*) AS n FROM grids g2 WHERE ST_Intersects(g2.geom, ST_PointOnSurface(b.geom))) c`,
  );
  const incidents = await one<{ n: number }>(
    pool,
    `SELECT count(*)::int AS n FROM incidents i LEFT JOIN grids g ON g.id = i.grid_id
      WHERE g.id IS NULL OR NOT ST_Intersects(g.geom, i.location)`,
  );
  const codes = await one<{ areas: number; grids: number }>(
    pool,
    `SELECT (SELECT count(*) FROM areas a LEFT JOIN areas p ON p.id = a.parent_id
              WHERE NOT (a.code ~ '^[0-9]{6}$' AND a.level = 'district' AND a.parent_id IS NULL
                      OR a.code ~ '^[0-9]{9}$' AND a.level = 'street' AND p.level = 'district' AND left(a.code, 6) = p.code
                      OR a.code ~ '^[0-9]{12}$' AND a.level = 'community' AND p.level = 'street' AND left(a.code, 9) = p.code)
            )::int AS areas,
            (SELECT count(*) FROM grids g LEFT JOIN areas c ON c.id = g.community_id
              WHERE NOT (g.code ~ '^[0-9]{15}$' AND right(g.code, 3) <> '000' AND c.level = 'community'
                         AND left(g.code, 12) = c.code AND g.district_id = c.district_id)
            )::int AS grids`,
  );
  const unmarked = await one<{ n: number }>(
    pool,
    `SELECT ((SELECT count(*) FROM areas WHERE source IS DISTINCT FROM 'generator')
           + (SELECT count(*) FROM grids WHERE source IS DISTINCT FROM 'generator')
           + (SELECT count(*) FROM buildings WHERE source IS DISTINCT FROM 'generator')
           + (SELECT count(*) FROM roads WHERE source IS DISTINCT FROM 'generator'))::int AS n`,
  );
  return {
    maxTilingGapM2: tiling.gap,
    childlessAreas: tiling.childless,
    maxGridOverlapM2: overlap.overlap,
    buildings: buildings.n,
    buildingsNotInTheirGrid: buildings.not_theirs,
    buildingsNotInExactlyOneGrid: buildings.not_one,
    buildingsCrossingGridEdges: buildings.crossing,
    incidentsOutsideTheirGrid: incidents.n,
    badAreaCodes: codes.areas,
    badGridCodes: codes.grids,
    unmarkedRows: unmarked.n,
  };
}

/** A digest of the generated data that leaves out random ids and insert times. */
export async function fingerprint(pool: pg.Pool): Promise<Record<string, string>> {
  return one(
    pool,
    `SELECT (SELECT md5(string_agg(code || name || ST_AsEWKB(geom)::text, ',' ORDER BY code)) FROM areas) AS areas,
            (SELECT md5(string_agg(code || name || ST_AsEWKB(geom)::text, ',' ORDER BY code)) FROM grids) AS grids,
            (SELECT md5(string_agg(source_id || coalesce(name, '') || households || ST_AsEWKB(geom)::text, ',' ORDER BY source_id)) FROM buildings) AS buildings,
            (SELECT md5(string_agg(source_id || class || ST_AsEWKB(geom)::text, ',' ORDER BY source_id)) FROM roads) AS roads,
            (SELECT md5(string_agg(x, ',' ORDER BY x)) FROM (
               SELECT kind || name || status || coalesce(ST_AsText(position), '') || coalesce(position_at::text, '') AS x FROM responders) r) AS responders,
            (SELECT md5(string_agg(x, ',' ORDER BY x)) FROM (
               SELECT reported_at::text || category || status || description || ST_AsText(location) AS x FROM incidents) i) AS incidents`,
  );
}
