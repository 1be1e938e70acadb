import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import type pg from 'pg';
import { fmt, percentile, type Row } from './stats.js';

/** The part of autocannon's API used here (the package ships no types). */
interface CannonRequest { method?: string; path?: string; headers?: Record<string, string>; body?: string }
interface CannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p97_5: number; average: number };
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodeStats?: Record<string, { count: number }>;
}
type Cannon = (opts: {
  url: string;
  connections: number;
  duration?: number;
  amount?: number;
  requests: { method: string; path: string; headers: Record<string, string>; setupRequest: (req: CannonRequest) => CannonRequest; onResponse?: (status: number, body: string) => void }[];
}) => Promise<CannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Cannon;

const SECONDS = 10;
const CONNECTIONS = 16;

/**
 * Intake under load: POST /api/incidents with a unique Idempotency-Key per request at points
 * inside grids, against a running server (~10 s, sent as a fixed number of requests sized by a
 * warm-up so that every request is answered before counting). Every acknowledged (201)
 * incident must be stored: the ids of the 201 answers are looked up afterwards, and the rows the
 * run stored are counted. Beside it, the raw INSERT the endpoint wraps (grid by the trigger), at
 * the same concurrency through the pool. The run's rows are deleted afterwards.
 */
export async function benchIntake(origin: string, cookie: string, pool: pg.Pool): Promise<Row[]> {
  const run = crypto.randomBytes(4).toString('hex');
  const tag = `bench-intake ${run}`;
  const { rows: points } = await pool.query<{ lon: number; lat: number }>(
    `SELECT ST_X(p) AS lon, ST_Y(p) AS lat FROM (SELECT ST_PointOnSurface(geom) AS p FROM grids ORDER BY md5(id::text || $1) LIMIT 500) s`,
    [run],
  );
  if (!points.length) throw new Error('benchIntake: the database holds no grids');
  const categories = ['dispute', 'safety_hazard', 'sanitation', 'public_facility', 'appeal', 'traffic'];

  let n = 0;
  const acknowledgedIn: Record<string, string[]> = { warm: [], run: [] };
  const request = (phase: 'warm' | 'run') => ({
    method: 'POST',
    path: '/api/incidents',
    headers: { cookie, 'content-type': 'application/json' },
    setupRequest: (req: CannonRequest) => {
      const i = n++;
      const p = points[i % points.length];
      return {
        ...req,
        headers: { ...req.headers, 'idempotency-key': `${run}-${phase}-${i}` },
        body: JSON.stringify({
          category: categories[i % categories.length],
          priority: i % 17 === 0 ? 'urgent' : 'normal',
          description: `${tag} ${phase} ${i}`,
          location: { type: 'Point', coordinates: [p.lon, p.lat] },
        }),
      };
    },
    onResponse: (status: number, body: string) => {
      if (status === 201) acknowledgedIn[phase].push((JSON.parse(body) as { id: string }).id);
    },
  });

  try {
    // Warm-up, 2 s + 2 s: the first seconds are each pool connection planning its prepared statements
    // (~25 ms each for the intake's); the second part sizes the measured run.
    await autocannon({ url: origin, connections: CONNECTIONS, duration: 2, requests: [request('warm')] });
    const warm = await autocannon({ url: origin, connections: CONNECTIONS, duration: 2, requests: [request('warm')] });
    const amount = Math.max(CONNECTIONS * 10, Math.round(warm.requests.average * SECONDS));
    const res = await autocannon({ url: origin, connections: CONNECTIONS, amount, requests: [request('run')] });
    const acknowledged = acknowledgedIn.run;
    const created = acknowledged.length;
    const stored = await pool.query<{ n: number; acked: number }>(
      `SELECT (SELECT count(*)::int FROM incidents WHERE description LIKE $1 || ' run %') AS n,
              (SELECT count(*)::int FROM incidents WHERE id = ANY ($2::uuid[])) AS acked`,
      [tag, acknowledged],
    );
    const { n: storedRows, acked: ackedStored } = stored.rows[0];
    const rps = res.requests.total / (res.duration || SECONDS);

    // Baseline: the raw INSERT, same concurrency, same points, about as long.
    const insertMs: number[] = [];
    let inserted = 0;
    const until = performance.now() + SECONDS * 1000;
    let k = 0;
    const worker = async () => {
      while (performance.now() < until) {
        const i = k++;
        const p = points[i % points.length];
        const t0 = performance.now();
        await pool.query(
          `INSERT INTO incidents (category, priority, status, location, description)
           VALUES ($1, 'normal', 'reported', ST_SetSRID(ST_MakePoint($2::float8, $3::float8), 4326), $4)`,
          [categories[i % categories.length], p.lon, p.lat, `${tag} raw ${i}`],
        );
        insertMs.push(performance.now() - t0);
        inserted++;
      }
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: CONNECTIONS }, worker));
    const rawRps = inserted / ((performance.now() - t0) / 1000);
    const rawP50 = percentile(insertMs, 50);
    const rawP975 = percentile(insertMs, 97.5);

    const lost = created - ackedStored;
    return [
      {
        what: `intake POST /api/incidents, ${CONNECTIONS} connections, ${res.requests.total} requests (~${fmt(res.duration, 0)} s)`,
        ours: `${fmt(rps, 0)} req/s, p50 ${fmt(res.latency.p50)} ms, p97.5 ${fmt(res.latency.p97_5)} ms`,
        baseline: `raw INSERT: ${fmt(rawRps, 0)} rows/s, p50 ${fmt(rawP50)} ms, p97.5 ${fmt(rawP975)} ms`,
        ratio: `${fmt(res.latency.p50 / rawP50, 1)}× p50, ${fmt(rawRps / rps, 1)}× throughput`,
        note: 'endpoint = validation, then one autocommitted statement: idempotency key + answer, grid + 30 m neighbours, duplicates, incident, timeline, live event, feature (1 round trip)',
      },
      {
        what: 'intake: acknowledged (201) vs stored',
        ours: `${created} acknowledged`,
        baseline: `${storedRows} stored (${ackedStored} of the acknowledged ids)`,
        ratio: created === 0 ? '–' : fmt(storedRows / created, 3),
        note: lost === 0 && storedRows === created ? `nothing lost; errors ${res.errors}, non-2xx ${res.non2xx}` : `MISMATCH: ${lost} acknowledged but not stored; errors ${res.errors}, non-2xx ${res.non2xx}`,
      },
    ];
  } finally {
    // Leave the preset as it was (timeline rows and photos go with their incident).
    await pool.query(`DELETE FROM incidents WHERE description LIKE $1 || ' %'`, [tag]);
    await pool.query(`DELETE FROM idempotency_keys WHERE key LIKE $1 || '-%'`, [run]);
  }
}
