/**
 * Nearest-responder candidates on the city preset (2,016 grids, 20,000 responders, ~135k road edges):
 *  - GET /api/incidents/{id}/candidates?k=5 (HTTP, JSON) vs the raw KNN SQL it starts from (the k
 *    nearest available responders by `ORDER BY position <-> location LIMIT k`), same incidents,
 *    p50/p95 and the ratio;
 *  - the same with routes=true;
 *  - the travel-time ranking cost per request (time inside the ranking: search + ladder + routes,
 *    from the endpoint's Server-Timing header) and the SQL part;
 *  - the road graph build (the server's first request after start, and in this process);
 *  - the choice of search: one bounded Dijkstra from the incident vs one A* (ngraph.path) per
 *    candidate, in this process on the same graph, incidents and candidates.
 * Nothing asserts; figures are side by side from one run. Standalone:
 *   pnpm exec tsx tests/bench/candidates.bench.ts   (BENCH_DATABASE_URL, default …/wangge_bench)
 */
import crypto from 'node:crypto';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { openDatabase, type Database } from '../../server/src/db/database.js';
import { DEFAULT_COMMAND_CONFIG } from '../../server/src/config.js';
import { loadRoadGraph } from '../../server/src/routing/graph.js';
import { boundedDijkstra } from '../../server/src/routing/search.js';
import { aStarSeconds } from '../support/astar.js';
import { fmt, median, percentile, printTable, timed, type Row } from './stats.js';

const INCIDENTS = 100;
const K = 5;

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

/** GET with its Server-Timing header. */
function get(url: string, cookie: string): Promise<{ status: number; timing: string; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent, headers: { cookie, 'accept-encoding': 'identity' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, timing: String(res.headers['server-timing'] ?? ''), body }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

const dur = (timing: string, name: string) => Number(new RegExp(`(?:^|, )${name};dur=([0-9.]+)`).exec(timing)?.[1] ?? NaN);
const p = (xs: number[]) => `${fmt(median(xs), 2)} (p95 ${fmt(percentile(xs, 95), 2)})`;

export async function benchCandidates(origin: string, cookie: string, database: Pick<Database, 'pool' | 'db'>): Promise<Row[]> {
  const { pool } = database;
  // Responders available and online for the run (the preset's positions are hours old by now).
  const online = await pool.query(
    `UPDATE responders SET position_at = now() - (random() * 30) * interval '1 second'
      WHERE status = 'available' AND position IS NOT NULL`,
  );
  const { rows: incidents } = await pool.query<{ id: string }>(
    `SELECT id::text FROM incidents WHERE grid_id IS NOT NULL ORDER BY md5(id::text) LIMIT ${INCIDENTS}`,
  );
  if (incidents.length === 0) throw new Error('no incidents in the benchmark database');

  // The first request after start builds the road graph (the server reports it in Server-Timing).
  const first = await get(`${origin}/api/incidents/${incidents[0].id}/candidates?k=${K}`, cookie);
  if (first.status !== 200) throw new Error(`candidates answered ${first.status}: ${first.body.slice(0, 300)}`);
  const serverBuildMs = /graph;dur=[0-9.]+;desc="built"/.test(first.timing) ? dur(first.timing, 'graph') : NaN;

  const knnSql = `SELECT r.id FROM responders r
                   WHERE r.status = 'available' AND r.position IS NOT NULL
                   ORDER BY r.position <-> (SELECT location FROM incidents WHERE id = $1) LIMIT $2`;
  const ours: number[] = [];
  const oursRoutes: number[] = [];
  const raw: number[] = [];
  const rank: number[] = [];
  const rankRoutes: number[] = [];
  const sql: number[] = [];
  let routed = 0;
  let returned = 0;
  for (let round = 0; round < 2; round++) {
    for (const { id } of incidents) {
      let res!: Awaited<ReturnType<typeof get>>;
      const a = await timed(async () => (res = await get(`${origin}/api/incidents/${id}/candidates?k=${K}`, cookie)));
      const b = await timed(() => pool.query(knnSql, [id, K]));
      let resR!: Awaited<ReturnType<typeof get>>;
      const c = await timed(async () => (resR = await get(`${origin}/api/incidents/${id}/candidates?k=${K}&routes=true`, cookie)));
      if (round === 0) continue; // warm-up round (connections, plans, caches)
      ours.push(a);
      raw.push(b);
      oursRoutes.push(c);
      rank.push(dur(res.timing, 'rank'));
      sql.push(dur(res.timing, 'sql'));
      rankRoutes.push(dur(resR.timing, 'rank'));
      const cands = JSON.parse(res.body).candidates as { routed: boolean }[];
      returned += cands.length;
      routed += cands.filter((x) => x.routed).length;
    }
  }

  // In this process: the graph build, and one Dijkstra vs one A* per candidate on the same graph.
  let graph!: Awaited<ReturnType<typeof loadRoadGraph>>;
  const buildMs = await timed(async () => (graph = await loadRoadGraph(database.db, DEFAULT_COMMAND_CONFIG)));
  const { rows: cases } = await pool.query<{ id: string; source: number; targets: number[] }>(
    `SELECT i.id::text,
            (SELECT n.id::int FROM road_nodes n ORDER BY n.geom <-> i.location LIMIT 1) AS source,
            ARRAY(SELECT (SELECT n.id::int FROM road_nodes n ORDER BY n.geom <-> r.position LIMIT 1)
                    FROM responders r WHERE r.status = 'available' AND r.position IS NOT NULL
                   ORDER BY r.position <-> i.location LIMIT ${4 * K}) AS targets
       FROM incidents i WHERE i.id = ANY($1::uuid[])`,
    [incidents.map((i) => i.id)],
  );
  const astar = aStarSeconds(graph);
  const dijkstraMs: number[] = [];
  const astarMs: number[] = [];
  let mismatches = 0;
  for (const cs of cases) {
    let d!: ReturnType<typeof boundedDijkstra>;
    dijkstraMs.push(await timed(async () => (d = boundedDijkstra(graph, [{ node: cs.source, seconds: 0, metres: 0 }], cs.targets, 3 * 3600))));
    let times: number[] = [];
    astarMs.push(await timed(async () => (times = cs.targets.map((t) => astar(cs.source, t)))));
    cs.targets.forEach((t, i) => {
      const a = times[i];
      const b = d.seconds(t);
      if (!(a === b || Math.abs(a - b) <= 1e-6 * Math.max(1, a))) mismatches++;
    });
  }

  return [
    {
      what: `GET candidates k=${K}, ${ours.length} incidents (ms)`,
      ours: p(ours),
      baseline: p(raw),
      ratio: `${fmt(median(ours) / median(raw), 1)}× the KNN time`,
      note: `baseline: raw KNN SQL (LIMIT ${K}) via pg; ${online.rowCount} responders online; ${fmt(routed / Math.max(1, returned) * 100, 0)}% of answers routed`,
    },
    {
      what: `GET candidates k=${K}&routes=true (ms)`,
      ours: p(oursRoutes),
      baseline: p(raw),
      ratio: `${fmt(median(oursRoutes) / median(raw), 1)}× the KNN time`,
      note: 'with each candidate\'s route geometry',
    },
    {
      what: 'travel-time ranking per request (ms, Server-Timing rank)',
      ours: p(rank),
      baseline: p(sql),
      ratio: `${fmt(median(rank) / median(ours) * 100, 0)}% of the request`,
      note: `baseline: the endpoint's two SQL statements; with routes: ${p(rankRoutes)}`,
    },
    {
      what: `road graph build (${graph.nodeCount} nodes, ${graph.edgeCount} edges)`,
      ours: `${fmt(serverBuildMs, 0)} ms in the server`,
      baseline: `${fmt(buildMs, 0)} ms in-process`,
      ratio: '',
      note: 'once per road-network version; the server\'s figure is its first request\'s wait',
    },
    {
      what: `one bounded Dijkstra vs A* per candidate (${4 * K} candidates, ms)`,
      ours: p(dijkstraMs),
      baseline: p(astarMs),
      ratio: `${fmt(median(astarMs) / median(dijkstraMs), 1)}× faster`,
      note: `same graph, incidents and targets; ngraph.path aStar with an admissible heuristic; ${mismatches} disagreements`,
    },
  ];
}

/** Standalone run against an existing city-preset database (see run.ts for generating one). */
async function main() {
  const { startServerProcess } = await import('../support/server-process.js');
  const { tempDir } = await import('../support/database.js');
  const { createUser } = await import('../../server/src/modules/users/users.service.js');
  const url = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/wangge_bench';
  const database = await openDatabase({ databaseUrl: url, dataDir: '', poolSize: 4 });
  const server = await startServerProcess(tempDir('bench-candidates'), { DATABASE_URL: url, SEED_DEMO: 'false', LOG_LEVEL: 'warn' });
  try {
    const username = `bench-${crypto.randomBytes(4).toString('hex')}`;
    const password = crypto.randomBytes(16).toString('base64url');
    await createUser(database.db, { username, password, role: 'admin', areaCode: '*' });
    const res = await fetch(`${server.base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
    if (!res.ok) throw new Error(`bench sign-in failed: ${res.status}`);
    const cookie = res.headers.getSetCookie()[0].split(';')[0];
    printTable('Nearest-responder candidates (city preset)', await benchCandidates(server.base, cookie, database));
  } finally {
    await server.stop();
    await database.close();
    agent.destroy();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
