/**
 * The demo simulator. One step moves each generated (account-less) available responder a few metres
 * along its road through the position code (track row, current position, responder.moved event);
 * busy ones and responders with an account stay where they are. With the command centre's settings
 * it also files and works incidents (below, in accelerated time).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { rebuildRoadNetwork } from '../../geo-data/src/roads/noding.js';
import { startDemoSimulator } from '../../server/src/demo/simulator.js';
import { DEFAULT_COMMAND_CONFIG } from '../../server/src/config.js';
import { seedDemoIfEmpty } from '../../server/src/seed.js';
import { createTestDatabase, tempDir, type TestDatabase } from '../support/database.js';
import { escalateOverdue } from '../incidents/support.js';
import { measureHistories } from '../generate/invariants.js';
import { insertSmallDistrict } from '../support/fixtures.js';
import { addUser } from '../support/auth.js';

describe('demo simulator', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
    await insertSmallDistrict(t.pool);
    await rebuildRoadNetwork(t.pool); // the fixture's road 金陵东路 at lat 31.2325
  });
  afterAll(async () => {
    await t?.drop();
  });

  test('one step: available generated responders move ~8 m along their road, with track rows and events', async () => {
    // Put the fixture's responders on the road, hours stale; one has an account.
    await t.pool.query(`UPDATE responders SET position = ST_SetSRID(ST_MakePoint(ST_X(position), 31.2325), 4326), position_at = now() - interval '3 hours'`);
    const worker = await addUser(t.pool, 'grid_worker', '310101002001001');
    await t.pool.query(`UPDATE responders SET status = 'available', position = ST_SetSRID(ST_MakePoint(121.483, 31.2325), 4326), position_at = now() - interval '3 hours' WHERE id = $1`, [worker.responderId]);
    const before = (await t.pool.query<{ id: string; status: string; user_id: string | null; lon: number; lat: number }>(
      'SELECT id::text, status, user_id::text, ST_X(position) AS lon, ST_Y(position) AS lat FROM responders ORDER BY id')).rows;
    let woken = 0;
    const sim = startDemoSimulator({ db: t.app.db, wake: () => woken++ }, { immediate: false, intervalMs: 3_600_000 });
    const { moved, reported, steps } = await sim.tick();
    await sim.stop();
    // Without the command centre's settings it works no incidents.
    expect(reported).toBe(0);
    expect(steps).toEqual({});
    const expected = before.filter((r) => r.status === 'available' && r.user_id === null);
    expect(expected.length).toBe(3);
    expect(moved).toBe(3);
    expect(woken).toBe(1);
    const after = new Map((await t.pool.query<{ id: string; lon: number; lat: number; age: number }>(
      `SELECT id::text, ST_X(position) AS lon, ST_Y(position) AS lat, extract(epoch FROM now() - position_at)::float8 AS age FROM responders`)).rows.map((r) => [r.id, r]));
    for (const r of before) {
      const a = after.get(r.id)!;
      const metres = Math.hypot((a.lon - r.lon) * 111_320 * Math.cos((r.lat * Math.PI) / 180), (a.lat - r.lat) * 111_320);
      if (expected.includes(r)) {
        expect(metres).toBeGreaterThan(6);
        expect(metres).toBeLessThan(10);
        expect(a.lat).toBeCloseTo(31.2325, 7); // still on the road
        expect(a.age).toBeLessThan(60);
      } else {
        expect(metres).toBe(0);
        expect(a.age).toBeGreaterThan(3600);
      }
    }
    const events = await t.pool.query(`SELECT entity_id::text AS id FROM live_events WHERE type = 'responder.moved'`);
    expect(events.rows.map((e) => e.id).sort()).toEqual(expected.map((r) => r.id).sort());
    const track = await t.pool.query('SELECT count(*)::int AS n FROM responder_positions');
    expect(track.rows[0].n).toBe(3);
  });
});

/**
 * The simulator working the demo's incidents, in accelerated time: the seeded demo (generated
 * district, demo accounts), then twelve simulated hours (06:00–18:00) in one-minute steps — between steps the
 * database's clock is moved on by shifting the times of the incidents in play back by a minute
 * (no real waiting), and the escalation timer's round runs as it would. Reports come in, incidents
 * are dispatched, handled, verified and closed through the incidents service, and the overdue
 * share of the open incidents stays within 5–15 % the whole time.
 */
describe('demo simulator: incidents', () => {
  const STEP_S = 60;
  const HOURS = 12;
  let t: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    t = await createTestDatabase();
    dir = tempDir('simulator');
    await seedDemoIfEmpty(t, { demoUsersFile: path.join(dir, 'demo-users.txt') });
    // Once, the responders' moves: the generated force reports positions (online, dispatchable).
    const mover = startDemoSimulator({ db: t.app.db, wake: () => {} }, { manual: true });
    await mover.tick();
    await mover.stop();
  }, 120_000);
  afterAll(async () => {
    await t?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The database's clock moves on by `seconds`: the incidents in play (open, or closed since `since`) and their timelines move back. */
  async function pass(seconds: number, since: Date): Promise<void> {
    const shift = `interval '${seconds} seconds'`;
    const inPlay = `(i.status <> 'closed' OR i.closed_at >= $1)`;
    await t.pool.query(
      `UPDATE incident_transitions t SET at = t.at - ${shift} FROM incidents i WHERE i.id = t.incident_id AND ${inPlay}`, [since]);
    await t.pool.query(
      `UPDATE incidents i SET reported_at = reported_at - ${shift}, created_at = created_at - ${shift}, status_since = status_since - ${shift},
              closed_at = closed_at - ${shift}, assigned_at = assigned_at - ${shift}, escalated_at = escalated_at - ${shift}
        WHERE ${inPlay}`, [since]);
  }

  const counts = async () => (await t.pool.query<{ open: number; overdue: number; escalated: number }>(
    `SELECT count(*)::int AS open,
            count(*) FILTER (WHERE now() > i.status_since + tl.limit_minutes * interval '1 minute')::int AS overdue,
            count(*) FILTER (WHERE i.escalation_level > 0)::int AS escalated
       FROM incidents i LEFT JOIN incident_time_limits tl ON tl.category = i.category AND tl.status = i.status
      WHERE i.status <> 'closed'`)).rows[0];

  test('reports, dispatches, handles and closes incidents through the services, keeping 5–15 % of the open ones overdue for hours', async () => {
    const commander = (await t.pool.query<{ id: string }>(`SELECT id::text FROM users WHERE username = 'commander'`)).rows[0].id;
    const start = await counts();
    const eventsBefore = (await t.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM live_events WHERE type LIKE 'incident.%'`)).rows[0].n;
    // The simulated day starts at 06:00 in Shanghai (reports follow the hour of day): the busy hours.
    const DAY = 86_400_000;
    let clock = Math.floor((Date.now() + 8 * 3_600_000) / DAY) * DAY - 8 * 3_600_000 + 6 * 3_600_000;
    let woken = 0;
    const sim = startDemoSimulator(
      { db: t.app.db, pool: t.app.pool, command: DEFAULT_COMMAND_CONFIG, wake: () => woken++ },
      { manual: true, intervalMs: STEP_S * 1000, clock: () => clock, seed: 7, moveResponders: false },
    );
    // Closed before the simulation: left where they are (their times do not matter any more).
    let since = new Date(Date.now() - 1000);
    const shares: number[] = [];
    const opens: number[] = [];
    const steps: Record<string, number> = {};
    let reported = 0;
    try {
      for (let minute = 0; minute < HOURS * 60; minute++) {
        const r = await sim.tick();
        reported += r.reported;
        for (const [action, n] of Object.entries(r.steps)) steps[action] = (steps[action] ?? 0) + n;
        await pass(STEP_S, since);
        since = new Date(since.getTime() - STEP_S * 1000);
        clock += STEP_S * 1000;
        await escalateOverdue(t); // the minute's 督办 round
        const c = await counts();
        shares.push(c.overdue / c.open);
        opens.push(c.open);
      }
    } finally {
      await sim.stop();
    }
    const end = await counts();
    console.log(`[simulator] ${HOURS} h: ${reported} reported, steps ${JSON.stringify(steps)}; open ${start.open} → ${end.open} `
      + `(${Math.min(...opens)}–${Math.max(...opens)}); overdue share ${(100 * Math.min(...shares)).toFixed(1)}–${(100 * Math.max(...shares)).toFixed(1)} %, `
      + `at the end ${end.overdue} overdue, ${end.escalated} with an escalation`);

    // A realistic pace: a few reports an hour, every kind of step taken, the district neither drained nor flooded.
    expect(reported).toBeGreaterThanOrEqual(HOURS * 1.5);
    expect(reported).toBeLessThanOrEqual(HOURS * 10);
    for (const action of ['accept', 'dispatch', 'start', 'resolve', 'verify', 'close']) expect(steps[action] ?? 0, action).toBeGreaterThan(0);
    expect(Math.min(...opens)).toBeGreaterThanOrEqual(start.open * 0.7);
    expect(Math.max(...opens)).toBeLessThanOrEqual(start.open * 1.3);
    // The overdue share in band at every minute.
    expect(Math.min(...shares)).toBeGreaterThanOrEqual(0.05);
    expect(Math.max(...shares)).toBeLessThanOrEqual(0.15);

    // Through the services: the new reports are the commander's, with their report step and live events.
    // (The generator publishes no events: the incidents created live are the simulator's.)
    const fresh = await t.pool.query<{ by: string | null; reports: number }>(
      `SELECT reported_by::text AS by, (SELECT count(*)::int FROM incident_transitions s WHERE s.incident_id = i.id AND s.action = 'report' AND s.actor_id = i.reported_by) AS reports
         FROM incidents i WHERE i.id IN (SELECT entity_id FROM live_events WHERE type = 'incident.created')`,
    );
    expect(fresh.rows.length).toBe(reported);
    for (const f of fresh.rows) expect(f).toEqual({ by: commander, reports: 1 });
    const events = (await t.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM live_events WHERE type LIKE 'incident.%'`)).rows[0].n - eventsBefore;
    const taken = Object.values(steps).reduce((a, b) => a + b, 0);
    expect(events).toBeGreaterThanOrEqual(reported + taken);
    expect(woken).toBeGreaterThan(0);
    // Whole timelines, every step by an account (the commander; a department's own; on a handler's behalf).
    const h = await measureHistories(t.pool, new Date(), { actors: 'accounts', escalationSlackMs: 2 * STEP_S * 1000 });
    expect(h.problems).toEqual([]);
  }, 600_000);

  test('stops cleanly: a running step ends, no step follows', async () => {
    const sim = startDemoSimulator(
      { db: t.app.db, pool: t.app.pool, command: DEFAULT_COMMAND_CONFIG, wake: () => {} },
      { intervalMs: 20, immediate: true },
    );
    await new Promise((r) => setTimeout(r, 100));
    await sim.stop();
    const count = async () => (await t.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM live_events`)).rows[0].n;
    const after = await count();
    await new Promise((r) => setTimeout(r, 300));
    expect(await count()).toBe(after);
  });
});
