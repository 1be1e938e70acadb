/**
 * One impossible date does not drop a position batch: a well-typed point whose recordedAt is not a
 * real time (year 0000, month 13, 30 February, unparseable) is rejected on its own as
 * INVALID_TIMESTAMP and the rest is stored; a wrong type (a number for recordedAt) is still a 400
 * for the whole request.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { insertSmallDistrict } from '../support/fixtures.js';
import { parseTime } from '../../server/src/modules/responders/positions.js';
import { appWith, iso, M_LAT, workerSession } from './helpers.js';

const GRID = '310101002001001';
const LON = 121.482;
const LAT = 31.235;

describe('a point whose time is not a real time is rejected alone', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let worker: Awaited<ReturnType<typeof workerSession>>;

  beforeAll(async () => {
    t = await createTestDatabase();
    await insertSmallDistrict(t.pool);
    app = await appWith(t);
    worker = await workerSession(app, t.pool, GRID);
  });
  afterAll(async () => {
    await app?.close();
    await t?.drop();
  });
  beforeEach(async () => {
    await t.pool.query('DELETE FROM responder_positions');
    await t.pool.query('UPDATE responders SET position = NULL, position_at = NULL, position_accuracy_m = NULL WHERE id = $1', [worker.responderId]);
  });

  const post = (positions: unknown[]) =>
    app.inject({ method: 'POST', url: '/api/responders/me/positions', headers: { cookie: worker.cookie }, payload: { positions } });
  const at = (s: number, m = 0) => ({ lon: LON, lat: LAT + m * M_LAT, recordedAt: iso(s * 1000) });
  const stored = async () =>
    (await t.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM responder_positions WHERE responder_id = $1', [worker.responderId])).rows[0].n;

  test.each([
    ['year 0000', '0000-01-01T00:00:00Z'],
    ['30 February', '2026-02-30T08:00:00Z'],
    ['29 February of a common year', '2026-02-29T08:00:00Z'],
    ['month 13', '2026-13-01T08:00:00Z'],
    ['hour 25', '2026-01-01T25:00:00Z'],
    ['an offset of 24 hours', '2026-01-01T08:00:00+24:00'],
    ['not a time at all', 'yesterday'],
    ['a date without a time', '2026-01-01'],
  ])('%s (%s): 200, the two good points stored, that one INVALID_TIMESTAMP', async (_what, recordedAt) => {
    const res = await post([at(-60, 0), { lon: LON, lat: LAT, recordedAt }, at(-30, 10)]);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.accepted).toBe(2);
    expect(body.rejected).toEqual([{ index: 1, code: 'INVALID_TIMESTAMP', detail: expect.stringContaining(recordedAt) }]);
    expect(await stored()).toBe(2);
    expect(body.position.lat).toBeCloseTo(LAT + 10 * M_LAT, 7);
  });

  test('a real but ancient time is TOO_OLD (not INVALID_TIMESTAMP); a leap day of a leap year is a real time', async () => {
    const res = await post([{ lon: LON, lat: LAT, recordedAt: '0001-01-01T00:00:00Z' }, { lon: LON, lat: LAT, recordedAt: '2024-02-29T12:00:00Z' }, at(-10)]);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().rejected.map((r: { index: number; code: string }) => [r.index, r.code])).toEqual([[0, 'TOO_OLD'], [1, 'TOO_OLD']]);
    expect(await stored()).toBe(1);
  });

  test('a recordedAt that is not a string is a 400 for the whole request, nothing stored', async () => {
    for (const recordedAt of [1767261600000, null, true, ['2026-01-01T00:00:00Z'], { at: '2026-01-01T00:00:00Z' }]) {
      const res = await post([at(-60), { lon: LON, lat: LAT, recordedAt }, at(-30)]);
      expect(res.statusCode, JSON.stringify(recordedAt)).toBe(400);
      expect(res.json()).toMatchObject({ code: 'INVALID_PARAMETER', detail: expect.stringContaining('positions/1/recordedAt') });
    }
    expect(await stored()).toBe(0);
  });
});

describe('parseTime', () => {
  test('real ISO 8601 times parse as Date.parse reads them', () => {
    for (const s of ['2026-03-01T08:00:00Z', '2026-03-01T08:00:00.123Z', '2026-03-01T08:00:00.123456Z', '2026-03-01T08:00Z', '2026-03-01T16:00:00+08:00', '2026-03-01T16:00:00+0800', '2024-02-29T00:00:00Z', '2000-02-29T00:00:00Z', '0001-01-01T00:00:00Z']) {
      expect(parseTime(s), s).toBe(Date.parse(s));
    }
  });
  test('times that do not exist or do not parse are NaN', () => {
    for (const s of ['0000-01-01T00:00:00Z', '1900-02-29T00:00:00Z', '2026-04-31T00:00:00Z', '2026-00-10T00:00:00Z', '2026-01-00T00:00:00Z', '2026-01-01T24:00:00Z', '2026-01-01T10:60:00Z', '2026-01-01T10:00:60Z', '2026-01-01T10:00:00+08:60', '2026-01-01T10:00:00 Z', '+275760-09-13T00:00:00Z', '']) {
      expect(parseTime(s), s).toBeNaN();
    }
  });
});
