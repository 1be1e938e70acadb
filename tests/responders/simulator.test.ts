/**
 * The demo simulator: one step moves each generated (account-less) available responder a few metres
 * along its road through the position code (track row, current position, responder.moved event);
 * busy ones and responders with an account stay where they are.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { rebuildRoadNetwork } from '../../geo-data/src/roads/noding.js';
import { startDemoSimulator } from '../../server/src/demo/simulator.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
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
    const moved = await sim.tick();
    await sim.stop();
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
