/**
 * Demo simulator: keeps the demo district's generated responders (those without an account,
 * user_id IS NULL) online by moving each available one a few metres along its nearest road every
 * 30 s, through the same service a phone's position batch goes through (recordPositions: the
 * track, the current position, one responder.moved event each) — so the command map shows them
 * online and moving, and dispatch has candidates. Responders with an account are left to their
 * phones. System work: it reads every generated responder, unscoped.
 *
 * Not started by the server on its own: main.ts starts it for the embedded demo, and stops it on close.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/types.js';
import { nextDemoPositionsUnscoped } from '../modules/responders/responders.repository.js';
import { recordPositions } from '../modules/responders/responders.service.js';
import { ApiError } from '../plugins/errors.js';
import type { WriteDeps } from '../write/write.js';

export interface SimulatorDeps {
  db: Kysely<DB>;
  /** app.live.wake: deliver the new events now (once per step). */
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

export function startDemoSimulator(deps: SimulatorDeps, opts: SimulatorOptions = {}): Simulator {
  const intervalMs = opts.intervalMs ?? 30_000;
  const step = opts.stepMetres ?? 8;
  const max = opts.maxPerTick ?? 1000;
  // Each responder's write would wake the hub; one wake after the step delivers them all.
  const writes: WriteDeps = { db: deps.db, live: { wake: () => {} } };
  let running: Promise<number> | undefined;
  let stopped = false;

  async function tick(): Promise<number> {
    const next = await nextDemoPositionsUnscoped(deps.db, step, max);
    const recordedAt = new Date().toISOString();
    let moved = 0;
    for (const r of next) {
      if (stopped) break;
      const res = await recordPositions(writes, r.id, [{ lon: r.lon, lat: r.lat, recordedAt, accuracyMetres: 10 }]).catch((err: unknown) => {
        // Deleted since it was picked: nothing to move.
        if (err instanceof ApiError && err.code === 'NO_RESPONDER') return undefined;
        throw err;
      });
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
