/**
 * Rebuilds the routable network (road_nodes, road_edges) from roads, set-based in PostGIS,
 * in one transaction. Works on PostGIS 3.3 (PostgreSQL 15) and PGlite (PostGIS 3.6).
 *
 * Rules
 *  - Coordinates are snapped to a 1e-7° grid (~1 cm) first; a vertex's node key is its integer
 *    grid position (round(x·1e7), round(y·1e7)), so "same vertex" means "same snapped position".
 *  - Effective level of a road: `layer`, except that a bridge with layer 0 counts as +1 and a
 *    tunnel with layer 0 as −1 (OSM often tags bridges/tunnels without a layer).
 *  - A road is cut (and a node made) at
 *      · its two endpoints;
 *      · every vertex it shares with another road, or with itself elsewhere along it (loops),
 *        whatever the levels: a shared vertex is an explicit connection, as in OSM;
 *      · every point where it crosses or touches a road of the same effective level
 *        (ST_Intersection of segment pairs; collinear overlaps are cut at both ends).
 *    A bridge or tunnel passing over or under a road of another level shares no vertex with it
 *    and so gets no node there.
 *  - Node ids: 1..n in order of (x, y) of the snapped node positions: deterministic, and the
 *    same location always has the same id within a rebuild (and across rebuilds of the same data).
 *  - Edge geometry: the road's snapped vertices between two cuts, its ends exactly on the node
 *    points; length_m = ST_Length(geom::geography). Degenerate self-loops shorter than 1 m (two
 *    cuts within a centimetre) are dropped.
 *  - road_network_state.noded_version is set to the version read (row locked) at the start, so a
 *    road change committed meanwhile leaves the network marked stale.
 *
 * Known limits: two different crossings closer than ~1 cm to each other become one node; a road
 * crossing itself without a shared vertex (a spiral ramp drawn as one way) is not noded there.
 *
 * Method: snapped vertices → working lines (GiST) → same-level pairs with ST_Intersects → for each
 * pair, only the segments of one road near the other, ST_Intersection of those 2-point segments
 * (robust: no overlay of whole lines), located by ST_LineLocatePoint → ordered cut events per road
 * → edges between consecutive cuts. Every step is one set-based statement over temp tables.
 * Measured here (PostgreSQL 15 / PostGIS 3.3, 2 busy cores): the Shanghai roads (1,090) 0.25 s;
 * the city preset (43,581 roads, 194k vertices) 12–14 s; a 96,000-road lattice 15.6 s. The FK
 * checks of the road_edges insert are the largest single part of the big runs.
 * `pnpm exec tsx tests/roads/bench-noding.ts` repeats the measurement.
 */
import type pg from 'pg';
import type { Progress } from '../progress.js';

export interface NetworkCounts {
  nodes: number;
  edges: number;
}

/** Crossing positions this close to a segment end (fraction of the segment) snap to the vertex. */
const T_EPS = 1e-9;

const STEPS: [string, string][] = [
  [
    'vertices',
    // Snapped vertices, consecutive duplicates removed, renumbered k = 0..n-1.
    `CREATE TEMP TABLE nd_vertex ON COMMIT DROP AS
     WITH raw AS (
       SELECT r.id AS road_id, dp.path[1] AS n,
              round(ST_X(dp.geom) * 1e7::float8)::bigint AS kx, round(ST_Y(dp.geom) * 1e7::float8)::bigint AS ky
         FROM roads r, LATERAL ST_DumpPoints(r.geom) AS dp
     ), dedup AS (
       SELECT road_id, n, kx, ky,
              (kx, ky) IS NOT DISTINCT FROM (lag(kx) OVER w, lag(ky) OVER w) AS repeated
         FROM raw WINDOW w AS (PARTITION BY road_id ORDER BY n)
     )
     SELECT road_id, (row_number() OVER (PARTITION BY road_id ORDER BY n) - 1)::int AS k, kx, ky
       FROM dedup WHERE NOT repeated`,
  ],
  [
    'roads',
    `CREATE TEMP TABLE nd_road ON COMMIT DROP AS
     SELECT v.road_id AS id, count(*)::int AS n,
            ST_SetSRID(ST_MakeLine(ST_MakePoint(v.kx::float8 / 1e7::float8, v.ky::float8 / 1e7::float8) ORDER BY v.k), 4326) AS geom,
            (r.layer + CASE WHEN r.layer = 0 AND r.bridge AND NOT r.tunnel THEN 1
                            WHEN r.layer = 0 AND r.tunnel AND NOT r.bridge THEN -1 ELSE 0 END)::int AS lvl
       FROM nd_vertex v JOIN roads r ON r.id = v.road_id
      GROUP BY v.road_id, r.layer, r.bridge, r.tunnel
     HAVING count(*) >= 2`,
  ],
  ['index roads', `CREATE INDEX ON nd_road USING gist (geom)`],
  ['analyze roads', `ANALYZE nd_road`],
  [
    'shared vertices',
    `CREATE TEMP TABLE nd_shared ON COMMIT DROP AS
     SELECT kx, ky FROM nd_vertex GROUP BY kx, ky HAVING count(*) > 1`,
  ],
  [
    'crossing pairs',
    // Same-level road pairs that meet anywhere.
    `CREATE TEMP TABLE nd_pair ON COMMIT DROP AS
     SELECT a.id AS a, b.id AS b
       FROM nd_road a JOIN nd_road b
         ON a.geom && b.geom AND a.id < b.id AND a.lvl = b.lvl AND ST_Intersects(a.geom, b.geom)`,
  ],
  [
    'segments',
    `CREATE TEMP TABLE nd_seg ON COMMIT DROP AS
     SELECT road_id, k, ST_SetSRID(ST_MakeLine(ST_MakePoint(kx::float8 / 1e7::float8, ky::float8 / 1e7::float8),
                                               ST_MakePoint(nx::float8 / 1e7::float8, ny::float8 / 1e7::float8)), 4326) AS geom
       FROM (SELECT v.road_id, v.k, v.kx, v.ky,
                    lead(v.kx) OVER w AS nx, lead(v.ky) OVER w AS ny
               FROM nd_vertex v
              WHERE v.road_id IN (SELECT a FROM nd_pair UNION SELECT b FROM nd_pair)
             WINDOW w AS (PARTITION BY v.road_id ORDER BY v.k)) s
      WHERE nx IS NOT NULL`,
  ],
  ['index segments', `CREATE INDEX ON nd_seg (road_id)`],
  ['analyze segments', `ANALYZE nd_seg`],
  [
    'crossings',
    // Every crossing/touching point of each same-level pair, located on both roads as
    // (segment k, fraction t); t near 0 or 1 snaps to the segment's vertex.
    `CREATE TEMP TABLE nd_cut ON COMMIT DROP AS
     WITH hits AS (
       SELECT sa.road_id AS ra, sa.k AS ka, sa.geom AS ga, sb.road_id AS rb, sb.k AS kb, sb.geom AS gb, ip.geom AS pt
         FROM nd_pair p
         JOIN nd_road rb ON rb.id = p.b
         -- only the segments of a near b, then the segments of b near each of those
         JOIN nd_seg sa ON sa.road_id = p.a AND sa.geom && rb.geom
         JOIN nd_seg sb ON sb.road_id = p.b AND sb.geom && sa.geom
         -- disjoint segments intersect in an empty geometry, which dumps no points (cheaper than
         -- filtering with ST_Intersects first)
         CROSS JOIN LATERAL ST_DumpPoints(ST_Intersection(sa.geom, sb.geom)) AS ip
     ), located AS (
       SELECT ra AS road_id, ka AS k, ST_LineLocatePoint(ga, pt) AS t, pt FROM hits
       UNION ALL
       SELECT rb, kb, ST_LineLocatePoint(gb, pt), pt FROM hits
     )
     SELECT road_id,
            CASE WHEN t >= 1 - ${T_EPS} THEN k + 1 ELSE k END AS k,
            CASE WHEN t <= ${T_EPS} OR t >= 1 - ${T_EPS} THEN 0 ELSE t END AS t,
            round(ST_X(pt) * 1e7::float8)::bigint AS kx, round(ST_Y(pt) * 1e7::float8)::bigint AS ky
       FROM located`,
  ],
  [
    'events',
    // All points along each road in order; cut marks where an edge ends and the next begins.
    `CREATE TEMP TABLE nd_event ON COMMIT DROP AS
     WITH ev AS (
       SELECT v.road_id, v.k, 0::float8 AS t, v.kx, v.ky,
              (v.k = 0 OR v.k = r.n - 1 OR s.kx IS NOT NULL) AS cut
         FROM nd_vertex v
         JOIN nd_road r ON r.id = v.road_id
         LEFT JOIN nd_shared s ON s.kx = v.kx AND s.ky = v.ky
       UNION ALL
       SELECT road_id, k, t, kx, ky, true FROM nd_cut
     ), merged AS (
       SELECT road_id, k, t, kx, ky, bool_or(cut) AS cut FROM ev GROUP BY road_id, k, t, kx, ky
     )
     SELECT road_id, k, t, kx, ky, cut,
            sum(cut::int) OVER (PARTITION BY road_id ORDER BY k, t, kx, ky ROWS UNBOUNDED PRECEDING)::int AS c
       FROM merged`,
  ],
  [
    'edges',
    // Edge e of a road runs from its e-th cut to its (e+1)-th (c numbers the cuts): its points are
    // the events with running count e, plus the next cut as its end.
    `CREATE TEMP TABLE nd_edge ON COMMIT DROP AS
     WITH ends AS (
       SELECT road_id, c AS e, kx AS sx, ky AS sy, lead(kx) OVER w AS tx, lead(ky) OVER w AS ty
         FROM nd_event WHERE cut
       WINDOW w AS (PARTITION BY road_id ORDER BY c)
     ), pts AS (
       SELECT road_id, c AS e, k, t, kx, ky FROM nd_event
       UNION ALL
       SELECT road_id, c - 1, k, t, kx, ky FROM nd_event WHERE cut AND c > 1
     ), lines AS (
       SELECT road_id, e, count(*) AS npts,
              ST_SetSRID(ST_MakeLine(ST_MakePoint(kx::float8 / 1e7::float8, ky::float8 / 1e7::float8) ORDER BY k, t, kx, ky), 4326) AS geom
         FROM pts GROUP BY road_id, e
     )
     SELECT l.road_id, n.sx, n.sy, n.tx, n.ty, l.geom, ST_Length(l.geom::geography) AS length_m
       FROM lines l JOIN ends n ON n.road_id = l.road_id AND n.e = l.e
      WHERE n.tx IS NOT NULL AND l.npts >= 2`,
  ],
  ['drop degenerate edges', `DELETE FROM nd_edge WHERE sx = tx AND sy = ty AND length_m < 1`],
  [
    'nodes',
    `CREATE TEMP TABLE nd_node ON COMMIT DROP AS
     SELECT row_number() OVER (ORDER BY kx, ky)::bigint AS id, kx, ky
       FROM (SELECT sx AS kx, sy AS ky FROM nd_edge UNION SELECT tx, ty FROM nd_edge) u`,
  ],
  ['index nodes', `CREATE UNIQUE INDEX ON nd_node (kx, ky)`],
  ['clear network', `TRUNCATE road_edges, road_nodes RESTART IDENTITY`],
  [
    'write nodes',
    `INSERT INTO road_nodes (id, geom) SELECT id, ST_SetSRID(ST_MakePoint(kx::float8 / 1e7::float8, ky::float8 / 1e7::float8), 4326) FROM nd_node`,
  ],
  [
    'write edges',
    `INSERT INTO road_edges (road_id, source, target, length_m, geom)
     SELECT e.road_id, s.id, t.id, e.length_m, e.geom
       FROM nd_edge e
       JOIN nd_node s ON s.kx = e.sx AND s.ky = e.sy
       JOIN nd_node t ON t.kx = e.tx AND t.ky = e.ty
      ORDER BY e.road_id, s.id, t.id`,
  ],
];

/**
 * Rebuilds the network on a client that is already inside a transaction (the importer's).
 * Leaves the temp tables to be dropped at commit.
 */
export async function nodeRoadNetwork(client: pg.ClientBase, onProgress?: Progress): Promise<NetworkCounts> {
  const progress = onProgress ?? (() => {});
  const total = STEPS.length + 2;
  progress('noding', 0, total);
  // Large set-based statements: JIT compilation costs more than it saves here (no-op on PGlite).
  await client.query('SET LOCAL jit = off');
  const { rows: state } = await client.query<{ version: number }>(
    'SELECT version FROM road_network_state WHERE singleton FOR UPDATE',
  );
  // Temp tables of a previous rebuild in the same transaction.
  await client.query(
    'DROP TABLE IF EXISTS nd_vertex, nd_road, nd_shared, nd_pair, nd_seg, nd_cut, nd_event, nd_edge, nd_node',
  );
  let step = 1;
  for (const [name, sql] of STEPS) {
    progress(`noding: ${name}`, step++, total);
    await client.query(sql);
  }
  const { rows } = await client.query<{ nodes: number; edges: number }>(
    `SELECT (SELECT count(*) FROM road_nodes)::int AS nodes, (SELECT count(*) FROM road_edges)::int AS edges`,
  );
  await client.query(`UPDATE road_network_state SET noded_version = ${Number(state[0]?.version ?? 0)}`);
  progress('noding', total, total);
  return rows[0];
}

/** Rebuilds road_nodes and road_edges from roads in its own transaction. */
export async function rebuildRoadNetwork(pool: pg.Pool, onProgress?: Progress): Promise<NetworkCounts> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const counts = await nodeRoadNetwork(client, onProgress);
    await client.query('COMMIT');
    return counts;
  } catch (err) {
    await client.query('ROLLBACK').catch((e: Error) => (broken = e));
    throw err;
  } finally {
    client.release(broken);
  }
}
