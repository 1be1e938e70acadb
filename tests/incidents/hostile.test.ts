import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InjectOptions } from 'fastify';
import { IN1, newIncident, setupEnv, type Env } from './support.js';

/** Hostile strings in every string input of the incident routes: a 4xx or a literal answer, never a 5xx, nothing stray written. */
const HOSTILE = [
  "' OR 1=1 --", "'; DROP TABLE incidents; --", '../../etc/passwd', '%00', 'a\u0000b', '*', '%', '_', '\\', '310101%', '$1',
  '<script>alert(1)</script>', 'x'.repeat(5000), '0000-01-01', '2024-02-30T25:61:00Z', '网格\u202E😀\uFFFF', ' ', '', 'NaN', '-1', '1e999', '{"a":1}', '00000000-0000-4000-8000-000000000000',
];

let env: Env;
let id: string;

beforeAll(async () => {
  env = await setupEnv();
  id = await newIncident(env);
});
afterAll(async () => {
  await env?.close();
});

const e = encodeURIComponent;
const body = (over: Record<string, unknown>) => ({ category: 'sanitation', description: '垃圾', location: { type: 'Point', coordinates: IN1 }, ...over });
const TARGETS: Array<[string, (v: string) => InjectOptions]> = [
  ['incident id', (v) => ({ url: `/api/incidents/${e(v)}` })],
  ['photo id', (v) => ({ url: `/api/incidents/${id}/photos/${e(v)}` })],
  ['list status', (v) => ({ url: `/api/incidents?status=${e(v)}` })],
  ['list category', (v) => ({ url: `/api/incidents?category=${e(v)}` })],
  ['list priority', (v) => ({ url: `/api/incidents?priority=${e(v)}` })],
  ['list gridCode', (v) => ({ url: `/api/incidents?gridCode=${e(v)}` })],
  ['list from', (v) => ({ url: `/api/incidents?from=${e(v)}` })],
  ['list to', (v) => ({ url: `/api/incidents?to=${e(v)}` })],
  ['list q', (v) => ({ url: `/api/incidents?q=${e(v)}` })],
  ['list department', (v) => ({ url: `/api/incidents?department=${e(v)}` })],
  ['list sort', (v) => ({ url: `/api/incidents?sort=${e(v)}` })],
  ['list limit', (v) => ({ url: `/api/incidents?limit=${e(v)}` })],
  ['list overdue', (v) => ({ url: `/api/incidents?overdue=${e(v)}` })],
  ['intake category', (v) => ({ method: 'POST', url: '/api/incidents', payload: body({ category: v }) })],
  ['intake priority', (v) => ({ method: 'POST', url: '/api/incidents', payload: body({ priority: v }) })],
  ['intake description', (v) => ({ method: 'POST', url: '/api/incidents', payload: body({ description: v }) })],
  ['intake address', (v) => ({ method: 'POST', url: '/api/incidents', payload: body({ address: v }) })],
  ['intake reporterContact', (v) => ({ method: 'POST', url: '/api/incidents', payload: body({ reporterContact: v }) })],
  ['intake coordinate', (v) => ({ method: 'POST', url: '/api/incidents', payload: body({ location: { type: 'Point', coordinates: [v, 31.235] } }) })],
  ['intake geometry type', (v) => ({ method: 'POST', url: '/api/incidents', payload: body({ location: { type: v, coordinates: IN1 } }) })],
  ['transition action', (v) => ({ method: 'POST', url: `/api/incidents/${id}/transitions`, payload: { action: v } })],
  ['transition note', (v) => ({ method: 'POST', url: `/api/incidents/${id}/transitions`, payload: { action: 'close', note: v, expectedVersion: 999 } })],
  ['transition responderId', (v) => ({ method: 'POST', url: `/api/incidents/${id}/transitions`, payload: { action: 'dispatch', responderId: v, expectedVersion: 999 } })],
  ['dispatch departmentCode', (v) => ({ method: 'POST', url: `/api/incidents/${id}/dispatch`, payload: { departmentCode: v, expectedVersion: 999 } })],
  ['transition photoIds', (v) => ({ method: 'POST', url: `/api/incidents/${id}/transitions`, payload: { action: 'accept', photoIds: [v] } })],
];

describe('hostile strings in the incident routes', () => {
  it.each(TARGETS)('%s', async (_name, build) => {
    for (const v of HOSTILE) {
      const res = await env.app.inject(build(v));
      expect(res.statusCode, `${JSON.stringify(v.slice(0, 40))} → ${res.body.slice(0, 200)}`).toBeLessThan(500);
    }
    // The incident under test was never changed (every write above was refused or aimed elsewhere).
    const { rows } = await env.db.pool.query('SELECT status, version FROM incidents WHERE id = $1', [id]);
    expect(rows[0]).toEqual({ status: 'reported', version: 1 });
  });

  it('an Idempotency-Key with quotes, wildcards or unicode is just a key', async () => {
    for (const key of ["' OR 1=1 --", '%', '_', '网格😀', 'x'.repeat(200)]) {
      const a = await env.app.inject({ method: 'POST', url: '/api/incidents', headers: { 'idempotency-key': key }, payload: body({ description: `key ${key.slice(0, 20)}` }) });
      const b = await env.app.inject({ method: 'POST', url: '/api/incidents', headers: { 'idempotency-key': key }, payload: body({ description: `key ${key.slice(0, 20)}` }) });
      expect(a.statusCode).toBe(201);
      expect(b.body).toBe(a.body);
    }
  });
});
