/**
 * Demo simulator: keeps the demo district's generated responders (those without an account,
 * user_id IS NULL) online by moving each available one a few metres along its nearest road every
 * 30 s, through the same code a phone's position batch goes through (recordPositions: the track,
 * the current position, one responder.moved event each) — so the command map shows them online and
 * moving, and dispatch has candidates. Responders with an account are left to their phones.
 *
 * Not started by the server on its own: main.ts starts it for the embedded demo (see the lead's
 * wiring), and stops it on close.
 */
import type pg from 'pg';
import { recordPositions } from '../modules/responders/responders.repository.js';

export interface SimulatorDeps {
  pool: pg.Pool;
  /** app.live.wake: deliver the new events now. */
  wake: () => void;
  log?: (message: string) => void;
}

export interface SimulatorOptions {
  /** Milliseconds between moves (30 s). */
  intervalMs?: number;
  /** Metres moved per step (8 m: a walk of ~1 km/h on average). */
  stepMetres?: number;
  /** At most this many responders per step (a large city preset is not a demo). */
  maxPerTick?: number;
  /** Take the first step at once (default) rather than after one interval. */
  immediate?: boolean;
}

export interface Simulator {
  /** One step now; resolves to the number of responders moved. */
  tick(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * The next position of each generated available responder: `step` metres along its nearest road
 * edge (within 300 m), forwards or — at the edge's end — backwards; without a road nearby, a small
 * step east or west so it still reports.
 */
const NEXT_POSITIONS = `
  SELECT r.id::text AS id,
         ST_X(coalesce(m.p, j.p)) AS lon, ST_Y(coalesce(m.p, j.p)) AS lat
    FROM responders r
    LEFT JOIN LATERAL (
      SELECT e.geom, e.length_m FROM road_edges e
       WHERE ST_DWithin(e.geom, r.position, 0.003)
       ORDER BY e.geom <-> r.position LIMIT 1) e ON e.length_m > 0
    LEFT JOIN LATERAL (
      SELECT ST_LineInterpolatePoint(e.geom,
               CASE WHEN f + $1 / e.length_m <= 1 AND (extract(epoch FROM now())::bigint / 300 + (hashtext(r.id::text) & 1)) % 2 = 0
                    THEN f + $1 / e.length_m
                    WHEN f - $1 / e.length_m >= 0 THEN f - $1 / e.length_m
                    ELSE least(1, f + $1 / e.length_m) END) AS p
        FROM (SELECT ST_LineLocatePoint(e.geom, r.position) AS f) x) m ON e.geom IS NOT NULL
    CROSS JOIN LATERAL (
      SELECT ST_Translate(r.position, CASE WHEN hashtext(r.id::text) & 1 = 0 THEN 1 ELSE -1 END
                                      * $1 / (111320 * cos(radians(ST_Y(r.position)))), 0) AS p) j
   WHERE r.user_id IS NULL AND r.status = 'available' AND r.position IS NOT NULL
   ORDER BY r.position_at NULLS FIRST, r.id
   LIMIT $2`;

export function startDemoSimulator(deps: SimulatorDeps, opts: SimulatorOptions = {}): Simulator {
  const intervalMs = opts.intervalMs ?? 30_000;
  const step = opts.stepMetres ?? 8;
  const max = opts.maxPerTick ?? 1000;
  let running: Promise<number> | undefined;
  let stopped = false;

  async function tick(): Promise<number> {
    const { rows } = await deps.pool.query<{ id: string; lon: number; lat: number }>(NEXT_POSITIONS, [step, max]);
    const recordedAt = new Date().toISOString();
    let moved = 0;
    for (const r of rows) {
      if (stopped) break;
      const res = await recordPositions(deps.pool, r.id, [{ lon: r.lon, lat: r.lat, recordedAt, accuracyMetres: 10 }]);
      if (res?.moved) moved++;
    }
    if (moved) deps.wake();
    return moved;
  }

  const run = () => {
    if (running || stopped) return;
    running = tick()
      .catch((err: Error) => {
        deps.log?.(`demo simulator: step failed: ${err.message}`);
        return 0;
      })
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(run, intervalMs);
  timer.unref();
  if (opts.immediate !== false) run();

  return {
    tick,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
