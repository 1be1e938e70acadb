/**
 * Road noding: hand-made cases, then the real Shanghai roads checked against independent oracles
 * (road-level connectivity from the rules, crossing points from ST_Intersection, and pgRouting
 * where the database has it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { importGeoJson } from '../../geo-data/src/import/index.js';
import { rebuildRoadNetwork } from '../../geo-data/src/roads/noding.js';
import { createTestDatabase, tempDir, usesExternalDatabase, type TestDatabase } from '../support/database.js';
import { haveRealData, shanghaiDir } from '../import/helpers.js';

let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

type XY = [number, number];
interface RoadDef {
  id: string;
  /** In units of U (~100 m) from the origin near the Bund. */
  at: XY[];
  bridge?: boolean;
  tunnel?: boolean;
  layer?: number;
}
const O: XY = [121.49, 31.23];
const U = 0.001;
const lonlat = ([x, y]: XY): XY => [O[0] + x * U, O[1] + y * U];

async function setRoads(defs: RoadDef[]) {
  await t.pool.query('DELETE FROM roads');
  if (defs.length)
    await t.pool.query(
      `INSERT INTO roads (class, bridge, tunnel, layer, geom, source, source_id)
       SELECT 'residential', coalesce((d->>'bridge')::boolean, false), coalesce((d->>'tunnel')::boolean, false),
              coalesce((d->>'layer')::smallint, 0), ST_SetSRID(ST_GeomFromGeoJSON(d->>'g'), 4326), 'case', d->>'id'
         FROM json_array_elements($1::json) d`,
      [JSON.stringify(defs.map((d) => ({ ...d, g: { type: 'LineString', coordinates: d.at.map(lonlat) } })))],
    );
  return rebuildRoadNetwork(t.pool);
}

interface Net {
  nodes: number;
  edges: number;
  /** node ids by position "x,y" in units of U */
  at: Map<string, number>;
  degree: Map<number, number>;
  /** per road: [source, target] per edge, in road order */
  byRoad: Map<string, [number, number][]>;
}

async function network(): Promise<Net> {
  const nodes = await t.pool.query(`SELECT id, ST_X(geom) AS x, ST_Y(geom) AS y FROM road_nodes`);
  const edges = await t.pool.query(
    `SELECT r.source_id AS road, e.source, e.target FROM road_edges e JOIN roads r ON r.id = e.road_id ORDER BY r.source_id, e.id`,
  );
  const at = new Map<string, number>();
  for (const n of nodes.rows) at.set(`${+((n.x - O[0]) / U).toFixed(4)},${+((n.y - O[1]) / U).toFixed(4)}`, n.id);
  const degree = new Map<number, number>();
  const byRoad = new Map<string, [number, number][]>();
  for (const e of edges.rows) {
    degree.set(e.source, (degree.get(e.source) ?? 0) + 1);
    degree.set(e.target, (degree.get(e.target) ?? 0) + 1);
    byRoad.set(e.road, [...(byRoad.get(e.road) ?? []), [e.source, e.target]]);
  }
  return { nodes: nodes.rowCount ?? 0, edges: edges.rowCount ?? 0, at, degree, byRoad };
}

describe('hand-made cases', () => {
  beforeEach(async () => {
    await t.pool.query('DELETE FROM roads');
  });

  test('X crossing at the same level: one shared node, four edges', async () => {
    expect(await setRoads([{ id: 'a', at: [[0, 0], [2, 2]] }, { id: 'b', at: [[0, 2], [2, 0]] }])).toEqual({ nodes: 5, edges: 4 });
    const net = await network();
    const mid = net.at.get('1,1')!;
    expect(mid).toBeDefined();
    expect(net.degree.get(mid)).toBe(4);
  });

  test('bridge over a road, tunnel under it: no shared node', async () => {
    expect(await setRoads([{ id: 'a', at: [[0, 0], [2, 2]], bridge: true }, { id: 'b', at: [[0, 2], [2, 0]] }])).toEqual({ nodes: 4, edges: 2 });
    expect((await network()).at.has('1,1')).toBe(false);
    expect(await setRoads([{ id: 'a', at: [[0, 0], [2, 2]], tunnel: true }, { id: 'b', at: [[0, 2], [2, 0]] }])).toEqual({ nodes: 4, edges: 2 });
    // a bridge over a tunnel, both crossing a street: three levels, nothing shared
    expect(
      await setRoads([
        { id: 'a', at: [[0, 0], [2, 2]], tunnel: true },
        { id: 'b', at: [[0, 2], [2, 0]], bridge: true },
        { id: 'c', at: [[0, 1], [2, 1]] },
      ]),
    ).toEqual({ nodes: 6, edges: 3 });
  });

  test('levels: same layer connects, bridge at layer 0 counts as level 1', async () => {
    // two elevated roads on layer 1 cross each other
    expect(await setRoads([{ id: 'a', at: [[0, 0], [2, 2]], bridge: true, layer: 1 }, { id: 'b', at: [[0, 2], [2, 0]], layer: 1 }])).toEqual({ nodes: 5, edges: 4 });
    // bridge with layer 0 (→ level 1) meets a layer-1 road
    expect(await setRoads([{ id: 'a', at: [[0, 0], [2, 2]], bridge: true }, { id: 'b', at: [[0, 2], [2, 0]], layer: 1 }])).toEqual({ nodes: 5, edges: 4 });
    // layer 1 over layer -1
    expect(await setRoads([{ id: 'a', at: [[0, 0], [2, 2]], layer: 1 }, { id: 'b', at: [[0, 2], [2, 0]], layer: -1 }])).toEqual({ nodes: 4, edges: 2 });
  });

  test('T-junction sharing a vertex', async () => {
    expect(await setRoads([{ id: 'a', at: [[0, 0], [1, 0], [2, 0]] }, { id: 'b', at: [[1, 0], [1, 1]] }])).toEqual({ nodes: 4, edges: 3 });
    const net = await network();
    expect(net.degree.get(net.at.get('1,0')!)).toBe(3);
    expect(net.byRoad.get('a')).toHaveLength(2);
  });

  test('roads touching at an interior shared vertex connect there, whatever their levels', async () => {
    const a: RoadDef = { id: 'a', at: [[0, 0], [1, 1], [2, 2]] };
    expect(await setRoads([a, { id: 'b', at: [[0, 2], [1, 1], [2, 0]] }])).toEqual({ nodes: 5, edges: 4 });
    // a shared vertex is an explicit connection (as in OSM), even for a bridge
    expect(await setRoads([a, { id: 'b', at: [[0, 2], [1, 1], [2, 0]], bridge: true }])).toEqual({ nodes: 5, edges: 4 });
    const net = await network();
    expect(net.degree.get(net.at.get('1,1')!)).toBe(4);
  });

  test('T-junction without a shared vertex: same level splits the through road; a ramp above does not', async () => {
    expect(await setRoads([{ id: 'a', at: [[0, 0], [2, 0]] }, { id: 'b', at: [[1, 0], [1, 1]] }])).toEqual({ nodes: 4, edges: 3 });
    expect(await setRoads([{ id: 'a', at: [[0, 0], [2, 0]] }, { id: 'b', at: [[1, 0], [1, 1]], bridge: true }])).toEqual({ nodes: 4, edges: 2 });
  });

  test('collinear overlap is cut at both ends of the overlap', async () => {
    expect(await setRoads([{ id: 'a', at: [[0, 0], [2, 0]] }, { id: 'b', at: [[1, 0], [3, 0]] }])).toEqual({ nodes: 4, edges: 4 });
  });

  test('a closed loop is one node and one edge; a lasso cuts at its knot', async () => {
    expect(await setRoads([{ id: 'a', at: [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]] }])).toEqual({ nodes: 1, edges: 1 });
    expect(await setRoads([{ id: 'a', at: [[-1, 0], [0, 0], [1, 0], [1, 1], [0, 1], [0, 0]] }])).toEqual({ nodes: 2, edges: 2 });
  });

  test('vertices within the 1e-7° snapping grid are the same vertex', async () => {
    const eps = 3e-8 / U; // 3e-8° in units of U
    expect(await setRoads([{ id: 'a', at: [[0, 0], [1, 0]] }, { id: 'b', at: [[1 + eps, 0], [2, 0]] }])).toEqual({ nodes: 3, edges: 2 });
  });

  test('a 3×3 street grid: 9 crossings, every street cut in 4', async () => {
    const defs: RoadDef[] = [];
    for (let i = 1; i <= 3; i++) {
      defs.push({ id: `h${i}`, at: [[0, i], [4, i]] }, { id: `v${i}`, at: [[i, 0], [i, 4]] });
    }
    expect(await setRoads(defs)).toEqual({ nodes: 12 + 9, edges: 6 * 4 });
    const net = await network();
    for (const [road, edges] of net.byRoad) {
      expect(edges, road).toHaveLength(4);
      for (let i = 1; i < edges.length; i++) expect(edges[i][0]).toBe(edges[i - 1][1]); // chained in order
    }
  });

  test('lengths, geometry ends on nodes, deterministic ids, noded version', async () => {
    await setRoads([
      { id: 'a', at: [[0, 0], [0.5, 0.7], [2, 2]] },
      { id: 'b', at: [[0, 2], [0.9, 1.3], [2, 0]] },
      { id: 'c', at: [[0, 1], [1, 1.1], [3, 1]], bridge: true },
    ]);
    const lengths = await t.pool.query(
      `SELECT r.source_id, ST_Length(r.geom::geography) AS road_m, sum(e.length_m) AS edges_m
         FROM roads r JOIN road_edges e ON e.road_id = r.id GROUP BY r.id`,
    );
    for (const r of lengths.rows) expect(Math.abs(r.road_m - r.edges_m), r.source_id).toBeLessThan(0.01);
    const ends = await t.pool.query(
      `SELECT count(*)::int AS bad FROM road_edges e JOIN road_nodes s ON s.id = e.source JOIN road_nodes tn ON tn.id = e.target
        WHERE NOT (ST_Equals(ST_StartPoint(e.geom), s.geom) AND ST_Equals(ST_EndPoint(e.geom), tn.geom))`,
    );
    expect(ends.rows[0].bad).toBe(0);
    const snapshot = async () =>
      (await t.pool.query(`SELECT n.id, ST_AsText(n.geom) AS g FROM road_nodes n ORDER BY id`)).rows.concat(
        (await t.pool.query(`SELECT source, target, round(length_m::numeric, 6) AS l FROM road_edges ORDER BY source, target, l`)).rows,
      );
    const first = await snapshot();
    await rebuildRoadNetwork(t.pool);
    expect(await snapshot()).toEqual(first);
    const state = await t.pool.query(`SELECT version, noded_version FROM road_network_state`);
    expect(state.rows[0].noded_version).toBe(state.rows[0].version);
    // a road change marks the network stale until the next rebuild
    await t.pool.query(`UPDATE roads SET name = 'x' WHERE source_id = 'a'`);
    const stale = await t.pool.query(`SELECT version > noded_version AS stale FROM road_network_state`);
    expect(stale.rows[0].stale).toBe(true);
  });

  test('no roads: an empty network', async () => {
    expect(await setRoads([])).toEqual({ nodes: 0, edges: 0 });
  });
});

// ---------------------------------------------------------------------------------------------

const roadsFile = path.join(shanghaiDir, 'roads.geojson');
const exists = haveRealData(roadsFile);

const LEVEL = `(layer + CASE WHEN layer = 0 AND bridge AND NOT tunnel THEN 1 WHEN layer = 0 AND tunnel AND NOT bridge THEN -1 ELSE 0 END)`;

class UnionFind {
  private parent = new Map<string, string>();
  find(x: string): string {
    let p = this.parent.get(x) ?? x;
    if (p !== x) {
      p = this.find(p);
      this.parent.set(x, p);
    }
    return p;
  }
  union(a: string, b: string) {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb);
  }
}

if (!usesExternalDatabase) console.log('[tests] pgRouting oracle skipped: the embedded database (PGlite) has no pgRouting');

describe.skipIf(!exists)('the real Shanghai roads', () => {
  let dir: string;
  let network: { nodes: number; edges: number };
  beforeAll(async () => {
    dir = tempDir('noding-real');
    await t.pool.query('DELETE FROM roads');
    await importGeoJson(t.pool, { layer: 'roads', file: roadsFile, reportFile: path.join(dir, 'report.json') });
    const started = performance.now();
    network = await rebuildRoadNetwork(t.pool);
    console.log(
      `[tests] noding the real roads (${usesExternalDatabase ? 'PostgreSQL' : 'PGlite'}): ${network.nodes} nodes, ` +
        `${network.edges} edges in ${(performance.now() - started).toFixed(0)} ms`,
    );
  }, 300_000);
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('counts are sane; every road is covered by its edges', async () => {
    const { rows } = await t.pool.query(
      `SELECT (SELECT count(*) FROM roads)::int AS roads,
              (SELECT count(DISTINCT road_id) FROM road_edges)::int AS covered,
              (SELECT count(*) FROM road_nodes n WHERE NOT EXISTS (SELECT 1 FROM road_edges e WHERE e.source = n.id OR e.target = n.id))::int AS orphan_nodes,
              (SELECT max(abs(l.road_m - l.edges_m)) FROM (
                 SELECT ST_Length(r.geom::geography) AS road_m, sum(e.length_m) AS edges_m
                   FROM roads r JOIN road_edges e ON e.road_id = r.id GROUP BY r.id) l) AS worst_length_diff`,
    );
    expect(rows[0]).toMatchObject({ roads: 1090, covered: 1090, orphan_nodes: 0 });
    expect(rows[0].worst_length_diff).toBeLessThan(0.05);
    expect(network.edges).toBeGreaterThan(1090);
    expect(network.nodes).toBeGreaterThan(1000);
    expect(network.nodes).toBeLessThan(network.edges + 1090); // each road adds at most one more node than edges
  });

  test('every same-level crossing is a node shared by both roads; bridges and tunnels pass over/under', async () => {
    // Independent of the noding: intersections of whole roads.
    const { rows } = await t.pool.query(`
      WITH r AS (SELECT id, geom, ${LEVEL} AS lvl FROM roads),
      pairs AS (
        SELECT a.id AS a, b.id AS b, a.lvl = b.lvl AS same, (ST_DumpPoints(ST_Intersection(a.geom, b.geom))).geom AS pt
          FROM r a JOIN r b ON a.id < b.id AND a.geom && b.geom AND ST_Intersects(a.geom, b.geom)
      ),
      shared_by_both AS (
        SELECT p.*, EXISTS (
          SELECT 1 FROM road_nodes n
           WHERE ST_DWithin(n.geom, p.pt, 2e-7)
             AND EXISTS (SELECT 1 FROM road_edges e WHERE e.road_id = p.a AND n.id IN (e.source, e.target))
             AND EXISTS (SELECT 1 FROM road_edges e WHERE e.road_id = p.b AND n.id IN (e.source, e.target))) AS joined,
          EXISTS (SELECT 1 FROM ST_DumpPoints((SELECT geom FROM roads WHERE id = p.a)) va
                    JOIN ST_DumpPoints((SELECT geom FROM roads WHERE id = p.b)) vb ON ST_Equals(va.geom, vb.geom)
                   WHERE ST_DWithin(va.geom, p.pt, 2e-7)) AS vertex_shared
          FROM pairs p
      )
      SELECT count(*) FILTER (WHERE same)::int AS same_level,
             count(*) FILTER (WHERE same AND NOT joined)::int AS same_level_not_joined,
             count(*) FILTER (WHERE NOT same AND NOT vertex_shared)::int AS over_under,
             count(*) FILTER (WHERE NOT same AND NOT vertex_shared AND joined)::int AS over_under_joined
        FROM shared_by_both`);
    console.log('[tests] real roads crossings:', rows[0]);
    expect(rows[0].same_level).toBeGreaterThan(1000);
    expect(rows[0].same_level_not_joined).toBe(0);
    expect(rows[0].over_under).toBeGreaterThan(10); // bridges and tunnels crossing streets exist here
    expect(rows[0].over_under_joined).toBe(0);
  });

  test('connectivity equals the road-level oracle (shared vertices + same-level intersections)', async () => {
    const roads = (await t.pool.query(`SELECT id FROM roads`)).rows.map((r) => r.id as string);
    // Oracle: roads connect when they share a vertex or intersect at the same level.
    const oracle = new UnionFind();
    const sharedVertex = await t.pool.query(`
      SELECT array_agg(DISTINCT id::text) AS ids FROM (
        SELECT r.id, ST_X(p.geom) AS x, ST_Y(p.geom) AS y FROM roads r, LATERAL ST_DumpPoints(r.geom) p) v
       GROUP BY x, y HAVING count(DISTINCT id) > 1`);
    for (const { ids } of sharedVertex.rows) for (const id of ids.slice(1)) oracle.union(ids[0], id);
    const sameLevel = await t.pool.query(`
      WITH r AS (SELECT id, geom, ${LEVEL} AS lvl FROM roads)
      SELECT a.id::text AS a, b.id::text AS b FROM r a JOIN r b
        ON a.id < b.id AND a.lvl = b.lvl AND a.geom && b.geom AND ST_Intersects(a.geom, b.geom)`);
    for (const { a, b } of sameLevel.rows) oracle.union(a, b);
    // The network: union nodes along edges, then map each road to its component.
    const graph = new UnionFind();
    const edges = (await t.pool.query(`SELECT road_id::text AS road, source, target FROM road_edges`)).rows;
    for (const e of edges) graph.union(`n${e.source}`, `n${e.target}`);
    const roadComponent = new Map<string, string>();
    for (const e of edges) {
      const c = graph.find(`n${e.source}`);
      const before = roadComponent.get(e.road);
      if (before) expect(before).toBe(c); // a road's edges are one chain
      roadComponent.set(e.road, c);
    }
    // Same partition: two roads are together in the network iff together in the oracle.
    const canon = (comp: (id: string) => string) => {
      const firstOf = new Map<string, string>();
      return roads.map((id) => {
        const c = comp(id);
        if (!firstOf.has(c)) firstOf.set(c, id);
        return firstOf.get(c)!;
      });
    };
    const ours = canon((id) => roadComponent.get(id)!);
    const theirs = canon((id) => oracle.find(id));
    expect(ours).toEqual(theirs);
    const components = new Set(ours).size;
    console.log(`[tests] real roads: ${components} connected components`);
    expect(components).toBeGreaterThan(1);
    expect(components).toBeLessThan(roads.length / 3);
  });

  test.skipIf(!usesExternalDatabase)('pgRouting agrees: connected components and shortest-path distances', async () => {
    const available = await t.pool.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'pgrouting'`);
    if (!available.rowCount) {
      console.log('[tests] pgRouting oracle skipped: the extension is not installed on this server');
      return;
    }
    await t.pool.query('CREATE EXTENSION IF NOT EXISTS pgrouting');
    const edgesSql = 'SELECT id, source, target, length_m AS cost, length_m AS reverse_cost FROM road_edges';
    const cc = await t.pool.query(`SELECT count(DISTINCT component)::int AS n FROM pgr_connectedComponents($1)`, [edgesSql]);
    // our own count over nodes
    const graph = new UnionFind();
    const edges = (await t.pool.query(`SELECT id, source, target, length_m FROM road_edges`)).rows;
    for (const e of edges) graph.union(String(e.source), String(e.target));
    const nodeIds = (await t.pool.query(`SELECT id FROM road_nodes ORDER BY id`)).rows.map((r) => r.id as number);
    expect(cc.rows[0].n).toBe(new Set(nodeIds.map((id) => graph.find(String(id)))).size);

    // Dijkstra in JS (undirected, cost = length_m) against pgr_dijkstra for pairs of nodes.
    const adj = new Map<number, [number, number][]>();
    for (const e of edges) {
      adj.set(e.source, [...(adj.get(e.source) ?? []), [e.target, e.length_m]]);
      adj.set(e.target, [...(adj.get(e.target) ?? []), [e.source, e.length_m]]);
    }
    const dijkstra = (from: number) => {
      const dist = new Map<number, number>([[from, 0]]);
      const done = new Set<number>();
      const queue: [number, number][] = [[0, from]];
      while (queue.length) {
        queue.sort((a, b) => a[0] - b[0]);
        const [d, u] = queue.shift()!;
        if (done.has(u)) continue;
        done.add(u);
        for (const [v, w] of adj.get(u) ?? []) {
          if (d + w < (dist.get(v) ?? Infinity)) {
            dist.set(v, d + w);
            queue.push([d + w, v]);
          }
        }
      }
      return dist;
    };
    let compared = 0;
    for (let k = 0; k < 6; k++) {
      const from = nodeIds[(k * 997) % nodeIds.length];
      const dist = dijkstra(from);
      const targets = nodeIds.filter((_, i) => i % 97 === k);
      const { rows } = await t.pool.query(
        `SELECT end_vid AS target, agg_cost FROM pgr_dijkstra($1, $2::bigint, $3::bigint[], directed => false) WHERE edge = -1`,
        [edgesSql, from, targets],
      );
      const pg = new Map(rows.map((r) => [Number(r.target), r.agg_cost as number]));
      for (const target of targets) {
        if (target === from) continue;
        const ours = dist.get(target);
        expect(pg.has(target), `reachable ${from}→${target}`).toBe(ours !== undefined);
        if (ours !== undefined) {
          expect(Math.abs(pg.get(target)! - ours)).toBeLessThan(1e-6);
          compared++;
        }
      }
    }
    console.log(`[tests] pgRouting: ${cc.rows[0].n} components; ${compared} shortest distances agree`);
    expect(compared).toBeGreaterThan(20);
  }, 120_000);
});
