import crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createTestDatabase, usesExternalDatabase, type TestDatabase } from '../support/database.js';
import { buildTestApp } from '../support/app.js';
import { addUser, signIn } from '../support/auth.js';
import { insertSmallDistrict } from '../support/fixtures.js';
import { pruneLiveEventsForSystem, LIVE_RETENTION_LOCK } from '../../server/src/live/live.repository.js';
import { SseClient, incidentEvent, publish } from './support.js';

const GRID1 = '310101002001001';
const GRID2 = '310101002001002';
/** A grid of another community (the scope filter is a prefix on codes; no such grid row is needed). */
const OTHER = '310101002002001';

let database: TestDatabase;
let app: FastifyInstance;
let base = '';
let admin = '';
let community = '';
const clients: SseClient[] = [];

async function connect(opts: { cookie?: string; lastEventId?: string; query?: string; headers?: Record<string, string> } = {}) {
  const c = await SseClient.connect(`${base}/api/live${opts.query ?? ''}`, { cookie: opts.cookie ?? admin, lastEventId: opts.lastEventId, headers: opts.headers });
  clients.push(c);
  return c;
}

/** Publishes as a writer does: commit, then wake the local hub. */
async function send(...scopes: string[]): Promise<number[]> {
  const ids = await publish(database.pool, scopes.map((s, i) => incidentEvent(s, i)));
  app.live.wake();
  return ids;
}

beforeAll(async () => {
  database = await createTestDatabase();
  await insertSmallDistrict(database.pool);
  app = await buildTestApp(database, { signedIn: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const a = await addUser(database.pool, 'admin', '*');
  admin = await signIn(app, a.username, a.password);
  const w = await addUser(database.pool, 'commander', '310101002001');
  community = await signIn(app, w.username, w.password);
});

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

describe('GET /api/live?recent: a new stream opens with its recent history (issue 10 item 6)', () => {
  it('the newest incident events of the last 2 hours in scope, at most N, oldest first and marked recent; then live; not on a resume', async () => {
    const old = await send(GRID1);
    // Two and a half hours ago (the table has no trigger against it; the event stays in the stream's replay).
    await database.pool.query(`UPDATE live_events SET created_at = now() - interval '150 minutes' WHERE id = $1`, [old[0]]);
    const outside = await send(OTHER);
    const moved = await publish(database.pool, [{ type: 'responder.moved', entityId: crypto.randomUUID(), scopeCode: GRID1, data: { lon: 121.48, lat: 31.23 } }]);
    const inScope = await send(GRID1, GRID2, GRID1, GRID2);
    // The history is what the hub has delivered (final events): transactions of other test files on the
    // same server can hold events back for a moment (live.repository.ts xactHorizon).
    await expect.poll(() => app.liveHub.position(), { timeout: 10_000 }).toBeGreaterThanOrEqual(inScope.at(-1)!);
    const c = await connect({ cookie: community, query: '?recent=3&recentSeconds=7200' });
    await c.waitForLive();
    const history = inScope.slice(-3).map(String);
    expect(c.ids).toEqual(history);
    expect(c.parsed.every((e) => e.data.recent === true)).toBe(true);
    for (const not of [...old, ...outside, ...moved]) expect(c.ids).not.toContain(String(not));
    // Then the position (a reconnect resumes after the newest event), then live events, unmarked.
    expect(Number(c.lastEventId)).toBeGreaterThanOrEqual(inScope.at(-1)!);
    const next = await send(GRID1);
    await c.waitForId(next[0]);
    expect(c.parsed.at(-1)).toMatchObject({ id: String(next[0]) });
    expect(c.parsed.at(-1)!.data.recent).toBeUndefined();
    // A resume (Last-Event-ID) replays what it missed, no history.
    const resumed = await connect({ cookie: community, query: '?recent=3', lastEventId: String(inScope.at(-1)) });
    await resumed.waitForId(next[0]);
    expect(resumed.ids).toEqual([String(next[0])]);
    // Without ?recent, nothing of the past.
    const plain = await connect({ cookie: community });
    await plain.waitForLive();
    expect(plain.ids).toEqual([]);
    // Bounds: 400 on a count or window out of range.
    for (const q of ['?recent=201', '?recent=-1', '?recent=5&recentSeconds=10', '?recent=x']) {
      const bad = await connect({ cookie: community, query: q });
      expect(bad.status, q).toBe(400);
    }
  });
});

describe('GET /api/live', () => {
  it('streams committed events in order with ids, types and data; not compressed; retry hint; position first', async () => {
    const c = await connect({ headers: { 'accept-encoding': 'gzip, deflate' } });
    expect(c.status).toBe(200);
    expect(c.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(c.headers['content-encoding']).toBeUndefined();
    expect(c.headers['cache-control']).toBe('no-cache, no-transform');
    // The security headers of every response (helmet) are kept on the hijacked reply.
    expect(c.headers['x-content-type-options']).toBe('nosniff');
    await c.waitForLive();
    expect(c.lastEventId).toMatch(/^[0-9]+$/);
    expect(c.retry).toBe(3000);
    const ids = await send(GRID1, GRID2, GRID1);
    const more = await send(GRID2);
    await c.waitForId(more[0]);
    expect(c.ids).toEqual([...ids, ...more].map(String));
    const { rows } = await database.pool.query(
      `SELECT id, type, entity_id::text, data, created_at FROM live_events WHERE id = ANY($1::bigint[]) ORDER BY id`, [[...ids, ...more]]);
    expect(c.parsed).toEqual(rows.map((r) => ({
      id: String(r.id), event: 'incident.created',
      data: { ...r.data, type: 'incident.created', entityId: r.entity_id, at: r.created_at.toISOString() },
    })));
  });

  it('a community-scoped user gets its own community only', async () => {
    const mine = await connect({ cookie: community });
    const all = await connect();
    await mine.waitFor(() => mine.lastEventId !== '', 'the position');
    await all.waitFor(() => all.lastEventId !== '', 'the position');
    const ids = await send(OTHER, GRID1, OTHER, GRID2, OTHER);
    await all.waitForId(ids[4]);
    await mine.waitForId(ids[3]);
    expect(all.ids).toEqual(ids.map(String));
    expect(mine.ids).toEqual([ids[1], ids[3]].map(String));
    // Replay respects scope too.
    const replay = await connect({ cookie: community, lastEventId: String(ids[0] - 1) });
    const last = await send(GRID1);
    await replay.waitForId(last[0]);
    expect(replay.ids).toEqual([ids[1], ids[3], last[0]].map(String));
  });

  it('Last-Event-ID replays exactly the missed events, then continues live (header and ?lastEventId=)', async () => {
    const c = await connect();
    const first = await send(GRID1, GRID1, GRID2);
    await c.waitForId(first[2]);
    c.close();
    const missed = await send(GRID2, GRID1, GRID1, GRID2);
    const again = await connect({ lastEventId: c.lastEventId });
    await again.waitForId(missed[3]);
    const live = await send(GRID1);
    await again.waitForId(live[0]);
    expect(again.ids).toEqual([...missed, ...live].map(String));

    const byQuery = await connect({ query: `?lastEventId=${first[2]}` });
    await byQuery.waitForId(live[0]);
    expect(byQuery.ids).toEqual([...missed, ...live].map(String));
    // The header wins over the query (EventSource reconnects to the same URL with a newer header).
    const both = await connect({ query: `?lastEventId=${first[0]}`, lastEventId: String(missed[1]) });
    await both.waitForId(live[0]);
    expect(both.ids).toEqual([missed[2], missed[3], live[0]].map(String));
  });

  it('a client that saw no event resumes from the position it was given', async () => {
    const c = await connect({ cookie: community });
    await c.waitFor(() => c.lastEventId !== '', 'the position');
    c.close();
    const ids = await send(GRID1, OTHER, GRID2);
    const again = await connect({ cookie: community, lastEventId: c.lastEventId });
    await again.waitForId(ids[2]);
    expect(again.ids).toEqual([ids[0], ids[2]].map(String));
  });

  it('replay while events keep arriving: no gap, no duplicate (random cut points)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 1, max: 12 }), async (before, during) => {
        const start = await send(GRID1);
        const earlier = before ? await send(...Array.from({ length: before }, () => GRID1)) : [];
        // Connect while a writer publishes one event after another.
        const writer = (async () => {
          const ids: number[] = [];
          for (let i = 0; i < during; i++) ids.push(...(await send(i % 2 ? GRID1 : GRID2)));
          return ids;
        })();
        const c = await connect({ lastEventId: String(start[0]) });
        const written = await writer;
        await c.waitForId(written[written.length - 1]);
        c.close();
        expect(c.ids).toEqual([...earlier, ...written].map(String));
      }),
      { numRuns: 12 },
    );
  });

  it('an expired or unknown id gets event: reset; garbage gets 400 problem+json', async () => {
    const [a, b] = await send(GRID1, GRID1);
    const [c1] = await send(GRID2);
    // Age everything up to b past the retention and prune: c1 (the newest) stays.
    await database.pool.query(`UPDATE live_events SET created_at = now() - interval '8 days' WHERE id <= $1`, [b]);
    expect(await pruneLiveEventsForSystem(database.db, 7)).toBeGreaterThanOrEqual(2);
    expect((await database.pool.query('SELECT min(id) AS min FROM live_events')).rows[0].min).toBe(c1);

    const expired = await connect({ lastEventId: String(a) });
    await expired.waitFor(() => expired.events.length > 0, 'reset');
    expect(expired.events[0].event).toBe('reset');
    expect(JSON.parse(expired.events[0].data)).toMatchObject({ type: 'reset', reason: 'expired' });
    // After a reset the stream continues live from its position (the hub's: c1 too when a transaction
    // elsewhere in the cluster still held it back as the stream opened).
    const [d] = await send(GRID1);
    await expired.waitForId(d);
    const position = Number(expired.ids[0]);
    expect(expired.ids.slice(1)).toEqual([c1, d].filter((id) => id > position).map(String));

    // b was the last event before the retained c1: nothing is lost, so it replays.
    const resumed = await connect({ lastEventId: String(b) });
    await resumed.waitForId(d);
    expect(resumed.ids).toEqual([c1, d].map(String));

    const unknown = await connect({ lastEventId: String(d + 1000) });
    await unknown.waitFor(() => unknown.events.length > 0, 'reset');
    expect(unknown.events[0].event).toBe('reset');
    expect(JSON.parse(unknown.events[0].data).reason).toBe('unknown');

    for (const garbage of ['abc', '-1', '1e5', '1 2', '0x10', '9'.repeat(16)]) {
      const bad = await connect({ lastEventId: garbage });
      expect(bad.status, garbage).toBe(400);
      expect(bad.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(bad.body).code).toBe('INVALID_PARAMETER');
    }
    const badQuery = await connect({ query: '?lastEventId=1;DROP' });
    expect(badQuery.status).toBe(400);
  });

  it('pruning runs in one process at a time', async () => {
    // PGlite serves one session at a time (an open transaction holds the others back), so there is
    // one API process and nothing to exclude on the embedded database; the lock matters on an external one.
    if (!usesExternalDatabase) {
      expect(await pruneLiveEventsForSystem(database.app.db, 7)).toBe(0);
      return;
    }
    const holder = await database.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock($1)', [LIVE_RETENTION_LOCK]);
      expect(await pruneLiveEventsForSystem(database.app.db, 7)).toBeNull();
      await holder.query('ROLLBACK');
    } finally {
      holder.release();
    }
    expect(await pruneLiveEventsForSystem(database.app.db, 7)).toBe(0);
  });

  it('heartbeats arrive; the stream ends when the session ends', async () => {
    app.liveHub.configure({ heartbeatMs: 100 });
    try {
      const w = await addUser(database.pool, 'viewer', '310101002001');
      const cookie = await signIn(app, w.username, w.password);
      const c = await connect({ cookie });
      await c.waitFor(() => c.comments.includes('heartbeat'), 'a heartbeat');
      expect(c.ended).toBe(false);
      const res = await fetch(`${base}/api/auth/logout`, { method: 'POST', headers: { cookie } });
      expect(res.status).toBe(204);
      await c.waitForEnd();
      const after = await connect({ cookie });
      expect(after.status).toBe(401);

      // A change of area ends the stream too (the new scope applies on reconnect).
      const v = await addUser(database.pool, 'viewer', '310101002001');
      const vc = await connect({ cookie: await signIn(app, v.username, v.password) });
      await vc.waitFor(() => vc.comments.includes('heartbeat'), 'a heartbeat');
      await database.pool.query(`UPDATE users SET area_code = '310101002001001' WHERE id = $1`, [v.id]);
      await vc.waitForEnd();
    } finally {
      app.liveHub.configure({ heartbeatMs: 15_000 });
    }
  });

  it('every role may open the stream (map.read); without a session: 401; beyond the per-user limit: 429', async () => {
    const anon = await connect({ cookie: '' });
    expect(anon.status).toBe(401);
    expect(JSON.parse(anon.body).code).toBe('UNAUTHENTICATED');
    for (const role of ['commander', 'planner', 'grid_worker', 'department', 'viewer'] as const) {
      const u = await addUser(database.pool, role, '310101002001');
      const s = await connect({ cookie: await signIn(app, u.username, u.password) });
      expect(s.status, role).toBe(200);
      s.close();
    }
    app.liveHub.configure({ maxStreamsPerUser: 2 });
    try {
      const v = await addUser(database.pool, 'viewer', '310101002001');
      const cookie = await signIn(app, v.username, v.password);
      const one = await connect({ cookie });
      const two = await connect({ cookie });
      expect([one.status, two.status]).toEqual([200, 200]);
      const three = await connect({ cookie });
      expect(three.status).toBe(429);
      expect(JSON.parse(three.body).code).toBe('RATE_LIMITED');
      expect(three.headers['retry-after']).toBeDefined();
      // Another user is not affected, and a closed stream frees its place.
      expect((await connect()).status).toBe(200);
      const open = app.liveHub.streamCount;
      one.close();
      await expect.poll(() => app.liveHub.streamCount).toBe(open - 1);
      const four = await connect({ cookie });
      expect(four.status).toBe(200);
    } finally {
      app.liveHub.configure({ maxStreamsPerUser: 10 });
    }
  });

  it('closing the app ends every stream (and does not wait for them)', async () => {
    const c = await connect();
    await c.waitFor(() => c.lastEventId !== '', 'the position');
    const other = await buildTestApp(database, { signedIn: false });
    await other.listen({ port: 0, host: '127.0.0.1' });
    const otherBase = `http://127.0.0.1:${(other.server.address() as AddressInfo).port}`;
    const s = await SseClient.connect(`${otherBase}/api/live`, { cookie: admin });
    await s.waitFor(() => s.lastEventId !== '', 'the position');
    // On an external database the hub holds one LISTEN connection; it goes with the app.
    if (usesExternalDatabase) await expect.poll(() => other.liveHub.listening).toBe(true);
    await other.close();
    await s.waitForEnd();
    expect(other.liveHub.streamCount).toBe(0);
    expect(other.liveHub.listening).toBe(false);
    if (usesExternalDatabase) {
      const listeners = async () => (await database.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'wangge-live' AND datname = current_database()`)).rows[0].n;
      await expect.poll(listeners).toBe(1); // this file's app only
    }
    expect(c.ended).toBe(false);
  });
});
