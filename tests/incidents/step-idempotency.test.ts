/**
 * Idempotency-Key on lifecycle steps: runWrite's own claim (write/write.ts; the intake claims its key
 * inside its one statement instead, tests/incidents/intake.test.ts). A retry answers the first
 * answer and writes no second step, parallel retries make one step, the same key with another
 * body or on another route is 422, and a refused step leaves the key free.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { act, COMMUNITY1, IN1, newIncident, report, session, setupEnv, type Env, type Session } from './support.js';

let env: Env;
let commander: Session;

beforeAll(async () => {
  env = await setupEnv();
  commander = await session(env, 'commander', COMMUNITY1);
});
afterAll(async () => {
  await env?.close();
});

const steps = async (id: string) =>
  (await env.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM incident_transitions WHERE incident_id = $1 AND action <> 'report'`, [id])).rows[0].n;
const keyRows = async (key: string) =>
  (await env.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM idempotency_keys WHERE key = $1', [key])).rows[0].n;

describe('Idempotency-Key on POST /api/incidents/{id}/transitions', () => {
  it('a retry with the same key answers the first answer; one step', async () => {
    const id = await newIncident(env);
    const key = `step-retry-${id}`;
    const first = await act(env, id, { action: 'accept' }, commander.cookie, key);
    expect(first.statusCode, first.body).toBe(200);
    const again = await act(env, id, { action: 'accept' }, commander.cookie, key);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(first.json());
    expect(await steps(id)).toBe(1);
    // Without the key the same step is refused: the incident was accepted once.
    expect((await act(env, id, { action: 'accept' }, commander.cookie)).statusCode).toBe(409);
  });

  it('8 parallel submissions with one key make one step and identical answers', async () => {
    const id = await newIncident(env);
    const key = `step-parallel-${id}`;
    const answers = await Promise.all(Array.from({ length: 8 }, () => act(env, id, { action: 'accept' }, commander.cookie, key)));
    expect(answers.map((a) => a.statusCode)).toEqual(Array(8).fill(200));
    for (const a of answers) expect(a.json()).toEqual(answers[0].json());
    expect(await steps(id)).toBe(1);
    expect(await keyRows(key)).toBe(1);
  });

  it('the same key with another body, or on another route, is 422 IDEMPOTENCY_KEY_REUSED and writes nothing', async () => {
    const id = await newIncident(env);
    const key = `step-reuse-${id}`;
    expect((await act(env, id, { action: 'accept' }, commander.cookie, key)).statusCode).toBe(200);
    const other = await act(env, id, { action: 'reject', note: '重复' }, commander.cookie, key);
    expect(other.statusCode).toBe(422);
    expect(other.json().code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await steps(id)).toBe(1);
    const before = (await env.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM incidents')).rows[0].n;
    const intake = await report(env, IN1, { cookie: commander.cookie, key });
    expect(intake.statusCode).toBe(422);
    expect(intake.json().code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect((await env.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM incidents')).rows[0].n).toBe(before);
  });

  it('a refused step stores nothing: the key stays free for the corrected request', async () => {
    const id = await newIncident(env);
    const key = `step-refused-${id}`;
    const refused = await act(env, id, { action: 'close' }, commander.cookie, key);
    expect(refused.statusCode).toBe(422);
    expect(await keyRows(key)).toBe(0);
    expect((await act(env, id, { action: 'accept' }, commander.cookie, key)).statusCode).toBe(200);
    expect(await steps(id)).toBe(1);
  });
});
