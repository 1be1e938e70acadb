/**
 * The planner's rebalancing assistant (issue 13): proposals for the grids of a proposal whose households are out
 * of bounds (grid_plan_settings).
 *
 * - split: a grid above the household bound (one part) is cut along a street inside it. Candidates are the road
 *   centre lines inside the grid, merged per street name (ST_LineMerge), that cross it from border to border;
 *   each is extended by about a metre at both ends (so that it leaves the grid whatever the rounding) and the
 *   grid is split by it (ST_Split). A cut into exactly two parts, each at least a tenth of the grid, is a
 *   candidate; the one whose two parts' households (buildings by point on surface, as validation counts them)
 *   differ least wins. The browser applies it with the edit engine's splitGrid along the returned line.
 * - merge: two neighbours (a shared border over 1 m) that are both small (households below the lower bound, or
 *   area below too_small) and together within the upper bound; the pairs closest to the middle of the bounds
 *   first.
 * Plain SQL over the proposal (PostGIS 3.3 and PGlite's 3.6), like validation.
 */
import { sql } from 'kysely';
import type { Db } from '../../db/transaction.js';
import { proposal } from './planner.query.js';

export interface RebalanceRow {
  kind: 'split' | 'merge';
  codes: string[];
  households: number[];
  street: string | null;
  line: unknown;
}

/** About 1 m in degrees: how far a street is extended beyond the grid's border. */
const EXTEND_DEG = 1e-5;

export function rebalanceSql(communityCode: string, grids: unknown[]) {
  return sql<RebalanceRow>`
    WITH ${proposal(communityCode, grids)},
    s AS (SELECT * FROM grid_plan_settings),
    hh AS (
      SELECT u.ord, u.code, u.geom, ST_Area(u.geom::geography) AS m2,
             (SELECT coalesce(sum(b.households), 0)::int FROM buildings b
               WHERE b.geom && u.geom AND ST_Intersects(u.geom, ST_PointOnSurface(b.geom))) AS n
        FROM usable u
    ),
    big AS (SELECT h.* FROM hh h, s WHERE h.n > s.max_households AND ST_NumGeometries(h.geom) = 1),
    streets AS (
      SELECT b.code, r.name, (ST_Dump(ST_LineMerge(ST_CollectionExtract(ST_Intersection(ST_Union(r.geom), b.geom), 2)))).geom AS line
        FROM big b JOIN roads r ON r.geom && b.geom AND ST_Intersects(r.geom, b.geom)
       GROUP BY b.code, b.geom, r.name
    ),
    crossing AS (
      SELECT row_number() OVER () AS id, st.code, st.name, b.geom AS grid, b.n, e.line
        FROM streets st JOIN big b USING (code),
             LATERAL (SELECT ST_StartPoint(st.line) AS p0, ST_PointN(st.line, 2) AS p1,
                             ST_EndPoint(st.line) AS q0, ST_PointN(st.line, ST_NPoints(st.line) - 1) AS q1) ends,
             LATERAL (SELECT greatest(ST_Distance(ends.p0, ends.p1), 1e-12) AS dp, greatest(ST_Distance(ends.q0, ends.q1), 1e-12) AS dq) d,
             LATERAL (SELECT ST_AddPoint(ST_AddPoint(st.line,
                        ST_SetSRID(ST_MakePoint(ST_X(ends.p0) + (ST_X(ends.p0) - ST_X(ends.p1)) / d.dp * ${EXTEND_DEG},
                                     ST_Y(ends.p0) + (ST_Y(ends.p0) - ST_Y(ends.p1)) / d.dp * ${EXTEND_DEG}), 4326), 0),
                        ST_SetSRID(ST_MakePoint(ST_X(ends.q0) + (ST_X(ends.q0) - ST_X(ends.q1)) / d.dq * ${EXTEND_DEG},
                                     ST_Y(ends.q0) + (ST_Y(ends.q0) - ST_Y(ends.q1)) / d.dq * ${EXTEND_DEG}), 4326)) AS line) e
       WHERE ST_NPoints(st.line) >= 2 AND NOT ST_IsClosed(st.line)
         AND ST_DWithin(ST_StartPoint(st.line), ST_Boundary(b.geom), 1e-7)
         AND ST_DWithin(ST_EndPoint(st.line), ST_Boundary(b.geom), 1e-7)
         -- A street along the border (grids often follow streets) cuts nothing, and splitting a polygon by a line
         -- that runs within a hair of its boundary defeats GEOS (on PGlite it takes the database down): only
         -- streets that run through the inside, no more than a tenth of them within 1 m of the border.
         AND ST_Length(ST_Intersection(st.line, ST_Buffer(ST_Boundary(b.geom), ${EXTEND_DEG}))) < 0.1 * ST_Length(st.line)
    ),
    pieces AS (
      SELECT c.id, c.code, c.name, c.line, c.grid, p.path[1] AS k, p.geom AS piece
        FROM crossing c, LATERAL ST_Dump(ST_CollectionExtract(ST_Split(ST_GeometryN(c.grid, 1), c.line), 3)) p
    ),
    cuts AS (
      SELECT p.id, p.code, p.name, p.line,
             array_agg((SELECT coalesce(sum(b.households), 0)::int FROM buildings b
                         WHERE b.geom && p.piece AND ST_Intersects(p.piece, ST_PointOnSurface(b.geom))) ORDER BY p.k) AS ns,
             min(ST_Area(p.piece::geography) / ST_Area(p.grid::geography)) AS smallest, count(*) AS parts
        FROM pieces p GROUP BY p.id, p.code, p.name, p.line
    ),
    splits AS (
      SELECT DISTINCT ON (c.code) 'split'::text AS kind, ARRAY[c.code] AS codes, c.ns AS households, c.name AS street,
             ST_AsGeoJSON(c.line, 9)::jsonb AS line, abs(c.ns[1] - c.ns[2]) AS score
        FROM cuts c WHERE c.parts = 2 AND c.smallest >= 0.1
       ORDER BY c.code, abs(c.ns[1] - c.ns[2]), c.id
    ),
    small AS (SELECT h.* FROM hh h, s WHERE h.n < s.min_households OR h.m2 < s.too_small_m2),
    merges AS (
      SELECT 'merge'::text AS kind, ARRAY[a.code, b.code] AS codes, ARRAY[a.n, b.n] AS households, NULL::text AS street, NULL::jsonb AS line,
             abs((a.n + b.n) - (s.min_households + s.max_households) / 2.0) AS score
        FROM small a JOIN small b ON a.ord < b.ord AND a.geom && b.geom AND ST_Intersects(a.geom, b.geom), s
       WHERE a.n + b.n <= s.max_households
         AND ST_Length(ST_CollectionExtract(ST_Intersection(a.geom, b.geom), 2)::geography) > 1
    )
    SELECT kind, codes, households, street, line FROM (
      SELECT kind, codes, households, street, line, score FROM splits
      UNION ALL
      SELECT kind, codes, households, street, line, score FROM merges
    ) x
    ORDER BY kind DESC, score, codes`;
}

/** The proposals for a proposal's grids: splits of the grids above the bound first, then merges of small neighbours. */
export async function rebalanceProposals(db: Db, communityCode: string, grids: unknown[]): Promise<RebalanceRow[]> {
  return (await rebalanceSql(communityCode, grids).execute(db)).rows;
}
