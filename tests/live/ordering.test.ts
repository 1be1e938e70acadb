/**
 * Live events without a lock held through COMMIT (live.repository.ts publishEvents, xactHorizon):
 * writers commit side by side, and readers (the hub, the replay) still see every event exactly once,
 * in one order that only grows — an event whose transaction took its id first but commits last is
 * neither skipped nor delivered after a later id. Concurrent transactions need an external
 * database (PGlite serves one session); the load test runs on both.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, usesExternalDatabase, type TestDatabase } from '../support/database.js';
import { buildTestApp } from '../support/app.js';
import { addUser, signIn } from '../support/auth.js';
import { insertSmallDistrict } from '../support/fixtures.js';
import type { DB } from '../../server/src/db/types.js';
import { liveEventsAfter, publishEvents } from '../../server/src/live/live.repository.js';
import { SseClient, createdIds, incidentEvent, postIncident, publish } from './support.js';

const GRID1 = '310101002001001';

let database: TestDatabase;
let app: FastifyInstance;
let base = '';
let admin = '';
const clients: SseClient[] = [];
const held: Held[] = [];

async function connect(lastEventId?: string): Promise<SseClient> {
  const c = await SseClient.connect(`${base}/api/live`, { cookie: admin, lastEventId });
  clients.push(c);
  await c.waitForLive();
  return c;
}

/** A transaction on a connection of its own, driven statement by statement from the test. */
class Held {
  readonly client: pg.Client;
  readonly db: Kysely<DB>;
  constructor(url: string) {
    this.client = new pg.Client({ connectionString: url });
    const client = this.client;
    // A Kysely over this one connection (never released to a pool), so publishEvents runs in the held transaction.
    this.db = new Kysely<DB>({
      dialect: new PostgresDialect({ pool: { connect: async () => ({ query: client.query.bind(client), release() {} }), end: async () => {} } as never }),
    });
  }

  static async begin(url: string): Promise<Held> {
    const h = new Held(url);
    held.push(h);
    await h.client.connect();
    await h.client.query('BEGIN');
    return h;
  }

  /** Gives the transaction its id now (as any first write does). */
  async takeXactId(): Promise<string> {
    return (await sql<{ x: string }>`SELECT pg_current_xact_id()::text AS x`.execute(this.db)).rows[0].x;
  }

  async publish(n: number): Promise<number> {
    const [id] = await publishEvents(this.db, [incidentEvent(GRID1, n)]);
    return Number(id);
  }

  async end(how: 'COMMIT' | 'ROLLBACK'): Promise<void> {
    await this.client.query(how);
    await this.client.end();
  }
}

/** Publishes in a transaction of its own (committed) and wakes the local hub, as runWrite does. */
async function commitOne(n: number): Promise<number> {
  const [id] = await publish(database.pool, [incidentEvent(GRID1, n)]);
  app.live.wake();
  return id;
}

beforeAll(async () => {
  database = await createTestDatabase();
  await insertSmallDistrict(database.pool);
  app = await buildTestApp(database, { signedIn: false });
  // No safety poll: events held back behind a running transaction must be fetched again by the hub's own retry.
  app.liveHub.configure({ pollMs: 3_600_000 });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const a = await addUser(database.pool, 'admin', '*');
  admin = await signIn(app, a.username, a.password);
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const h of held.splice(0)) await h.client.end().catch(() => {});
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

describe.skipIf(!usesExternalDatabase)('two writers whose commits cross (external database)', () => {
  it('the first to take an id commits last: B waits for A, every client gets A then B, replay agrees, no duplicates', async () => {
    const live = await connect();
    const start = live.lastEventId;
    const a = await Held.begin(database.url);
    const idA = await a.publish(1);
    // B commits while A is still open (with the old lock held through COMMIT, this publish waited for A).
    const idB = await commitOne(2);
    expect(idA).toBeLessThan(idB);
    // B is committed but not deliverable: A's transaction is older and still running.
    const before = await liveEventsAfter(database.app.db, Number(start), 100);
    expect(before).toEqual({ events: [], held: true });
    const during = await connect(start); // replay while A is open: nothing yet
    expect(during.ids).toEqual([]);

    await a.end('COMMIT');
    app.live.wake();
    for (const c of [live, during]) await c.waitForId(idB);
    expect(live.ids).toEqual([idA, idB].map(String));
    expect(during.ids).toEqual([idA, idB].map(String));

    // Reconnecting: from before A, A and B again in the same order; after B, nothing more (no duplicate).
    const fromStart = await connect(start);
    await fromStart.waitForId(idB);
    expect(fromStart.ids).toEqual([idA, idB].map(String));
    const afterB = await connect(String(idB));
    const idC = await commitOne(3);
    await afterB.waitForId(idC);
    expect(afterB.ids).toEqual([String(idC)]);
    await live.waitForId(idC);
    expect(live.ids).toEqual([idA, idB, idC].map(String));
  });

  it('a writer that began first but publishes after B committed still comes first, and a client that saw everything up to B before A published misses nothing', async () => {
    const live = await connect();
    const a = await Held.begin(database.url);
    await a.takeXactId();
    const idB = await commitOne(11);
    // A client that drops now has seen at most the events before B: it reconnects with that id.
    const dropped = live.lastEventId;
    live.close();
    const idA = await a.publish(10); // published after B's commit, but A's transaction is the older one
    expect(idA).toBeLessThan(idB);
    await a.end('COMMIT');
    app.live.wake();
    const again = await connect(dropped);
    await again.waitForId(idB);
    expect(again.ids).toEqual([idA, idB].map(String));
    const watching = await connect();
    const idC = await commitOne(12);
    await watching.waitForId(idC);
    expect(watching.ids).toEqual([String(idC)]);
  });

  it('a running transaction that publishes nothing holds later events back only until it ends (rollback, no NOTIFY): the hub looks again by itself', async () => {
    const live = await connect();
    const blocker = await Held.begin(database.url);
    await blocker.takeXactId();
    const idB = await commitOne(20);
    const rolledBack = await Held.begin(database.url);
    await rolledBack.publish(21); // an id that will never exist
    expect((await liveEventsAfter(database.app.db, Number(live.lastEventId), 100)).held).toBe(true);
    await rolledBack.end('ROLLBACK');
    await blocker.end('ROLLBACK'); // no NOTIFY, no wake, no safety poll (1 h)
    await live.waitForId(idB);
    expect(live.ids).toEqual([String(idB)]);
  });

  it('many writers committing in random order: every client sees every event once, ids only growing, replay identical', async () => {
    const live = await connect();
    const start = live.lastEventId;
    const ids: number[] = [];
    // 12 writers × 8 transactions; each holds its transaction open a random while after publishing.
    await Promise.all(Array.from({ length: 12 }, async (_, w) => {
      for (let i = 0; i < 8; i++) {
        const h = await Held.begin(database.url);
        if (i % 2) await h.takeXactId();
        await new Promise((r) => setTimeout(r, Math.random() * 15));
        ids.push(await h.publish(w * 100 + i));
        await new Promise((r) => setTimeout(r, Math.random() * 15));
        await h.end('COMMIT');
        app.live.wake();
      }
    }));
    const sorted = [...ids].sort((x, y) => x - y);
    await live.waitForId(sorted[sorted.length - 1]);
    expect(live.ids).toEqual(sorted.map(String));
    const replay = await connect(start);
    await replay.waitForId(sorted[sorted.length - 1]);
    expect(replay.ids).toEqual(sorted.map(String));
  });
});

describe('ids follow transactions (both databases)', () => {
  it('every insert gets xact_id × 1000 + its place in the transaction, also one without an id (a writer of the previous release), and the stream delivers it', async () => {
    const live = await connect();
    const ids = await publish(database.pool, [incidentEvent(GRID1, 30), incidentEvent(GRID1, 31), incidentEvent(GRID1, 32)]);
    const rows = async (list: number[]) => (await database.pool.query<{ id: number; x: number }>(
      'SELECT id, xact_id::text::bigint AS x FROM live_events WHERE id = ANY ($1::bigint[]) ORDER BY id', [list])).rows;
    const batch = await rows(ids);
    expect(batch.map((r) => r.id)).toEqual([1, 2, 3].map((n) => batch[0].x * 1000 + n));
    // The previous release inserted without an id (drawn from the identity sequence that 0007 dropped).
    const old = await database.pool.query<{ id: number }>(
      `INSERT INTO live_events (type, entity_id, scope_code, data) VALUES ('incident.created', $1, $2, '{}') RETURNING id`, [crypto.randomUUID(), GRID1]);
    const [single] = await rows([old.rows[0].id]);
    expect(single.id).toBe(single.x * 1000 + 1);
    expect(single.id).toBeGreaterThan(ids[2]);
    app.live.wake();
    await live.waitForId(single.id);
    expect(live.ids).toEqual([...ids, single.id].map(String));
  });
});

describe('intake under concurrency', () => {
  it('200 incidents over 16 connections: as many stored as acknowledged, and the stream sees each exactly once, in id order', { timeout: 120_000 }, async () => {
    const live = await connect();
    const start = live.lastEventId;
    const acknowledged: string[] = [];
    const failures: string[] = [];
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < 200) {
        const n = next++;
        const r = await postIncident(base, admin, n, 121.4812 + (n % 10) * 0.0001, 31.2345);
        if (r.status === 201) acknowledged.push(r.id!);
        else failures.push(`${r.status} ${r.body.slice(0, 200)}`);
      }
    }));
    expect(failures).toEqual([]);
    expect(acknowledged).toHaveLength(200);
    const stored = await database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM incidents WHERE id = ANY ($1::uuid[])', [acknowledged]);
    expect(stored.rows[0].n).toBe(200);

    const all = new Set(acknowledged);
    await live.waitFor(() => createdIds(live).filter((id) => all.has(id)).length >= 200, 'all 200 incidents', 60_000);
    const seen = createdIds(live).filter((id) => all.has(id));
    expect(seen).toHaveLength(200);
    expect(new Set(seen).size).toBe(200);
    const numeric = live.ids.map(Number);
    expect(numeric).toEqual([...numeric].sort((x, y) => x - y));
    expect(new Set(numeric).size).toBe(numeric.length);

    // The replay from where the client started is the same sequence.
    const replay = await connect(start);
    await replay.waitForId(numeric[numeric.length - 1]);
    expect(replay.ids).toEqual(live.ids);
  });
});
