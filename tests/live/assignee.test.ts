/**
 * The assignee rule on GET /api/live (auth/scope.ts eventVisible): besides the events of its area, a
 * responder or a department receives the events of the incidents assigned to it, live and on replay;
 * one that loses an assignment receives that one event and nothing after it.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LiveEventInput } from '../../server/src/live/events.js';
import { buildTestApp } from '../support/app.js';
import { addUser, signIn } from '../support/auth.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { insertSmallDistrict } from '../support/fixtures.js';
import { SseClient, publish } from './support.js';

const GRID1 = '310101002001001';
/** The incidents of these tests lie here: outside the grid-1 accounts' areas. */
const GRID2 = '310101002001002';
/** A point of grid 2. */
const IN2 = [121.4875, 31.235];

let database: TestDatabase;
let app: FastifyInstance;
let base = '';
let admin = '';
const clients: SseClient[] = [];

async function connect(cookie: string, lastEventId?: string): Promise<SseClient> {
  const c = await SseClient.connect(`${base}/api/live`, { cookie, lastEventId });
  clients.push(c);
  expect(c.status).toBe(200);
  await c.waitForLive();
  return c;
}

/** A signed-in account on grid 1; a grid worker's responder is available and online (dispatchable). */
async function account(role: 'grid_worker' | 'department', department?: string) {
  const u = await addUser(database.pool, role, GRID1, { department });
  if (u.responderId) {
    await database.pool.query(
      `UPDATE responders SET status = 'available', position = ST_SetSRID(ST_MakePoint(121.482, 31.235), 4326), position_at = now() WHERE id = $1`,
      [u.responderId],
    );
  }
  return { ...u, cookie: await signIn(app, u.username, u.password) };
}

/** An incident.updated of an incident in grid 2 with the given audience. */
function updated(entityId: string, n: number, audience: Pick<LiveEventInput, 'responderIds' | 'departmentCodes'>): LiveEventInput {
  return {
    type: 'incident.updated', entityId, scopeCode: GRID2, ...audience,
    data: { incidentId: entityId, status: 'dispatched', priority: 'normal', gridCode: GRID2, lon: IN2[0], lat: IN2[1], action: 'dispatch', changes: {}, n },
  };
}

/** Publishes as a writer does (commit, then wake the hub); the ids. */
async function send(...events: LiveEventInput[]): Promise<string[]> {
  const ids = await publish(database.pool, events);
  app.live.wake();
  return ids.map(String);
}

/** The ids of the events about `entityId` a client received. */
const about = (c: SseClient, entityId: string) => c.parsed.filter((e) => e.data.entityId === entityId).map((e) => e.id);

beforeAll(async () => {
  database = await createTestDatabase();
  await insertSmallDistrict(database.pool);
  app = await buildTestApp(database, { signedIn: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const a = await addUser(database.pool, 'admin', '*');
  admin = await signIn(app, a.username, a.password);
  // One event before any stream opens, so positions are real ids: the embedded database is emptied
  // between files but its id sequence goes on, and a position of 0 would replay as `reset`.
  await send({ ...updated(crypto.randomUUID(), 0, {}), scopeCode: '310101002002001' });
});

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

describe('live events of assigned incidents outside the area', () => {
  it('a responder receives them live and on replay; after a reassignment, exactly the one event that took it away', async () => {
    const w = await account('grid_worker');
    const other = await account('grid_worker');
    const worker = await connect(w.cookie);
    const start = worker.lastEventId;
    const incident = crypto.randomUUID();
    const ids = await send(
      updated(incident, 0, {}), // reported in grid 2, nobody's yet
      updated(incident, 1, { responderIds: [w.responderId!] }), // dispatched to w
      updated(incident, 2, { responderIds: [w.responderId!] }), // started by w
      updated(incident, 3, { responderIds: [other.responderId!, w.responderId!] }), // reassigned: the previous one learns of it
      updated(incident, 4, { responderIds: [other.responderId!] }),
      updated(incident, 5, { responderIds: [other.responderId!] }),
    );
    const [mark] = await send({ ...updated(crypto.randomUUID(), 6, {}), scopeCode: GRID1 }); // w's own area: the stream has caught up
    await worker.waitForId(mark);
    expect(about(worker, incident)).toEqual([ids[1], ids[2], ids[3]]);
    expect(worker.ids).toEqual([ids[1], ids[2], ids[3], mark]);

    const replay = await connect(w.cookie, start);
    expect(replay.ids).toEqual([ids[1], ids[2], ids[3], mark]);
    // The same rule for the new assignee; and the frames carry no audience.
    const replayOther = await connect(other.cookie, start);
    expect(replayOther.ids).toEqual([ids[3], ids[4], ids[5], mark]);
    for (const e of replayOther.parsed) expect(Object.keys(e.data)).not.toContain('responderIds');
  });

  it('a department user receives its department\'s assignments live and on replay, and the one event of a reassignment away', async () => {
    const d = await account('department', 'housing');
    const stream = await connect(d.cookie);
    const start = stream.lastEventId;
    const incident = crypto.randomUUID();
    const ids = await send(
      updated(incident, 0, {}),
      updated(incident, 1, { departmentCodes: ['housing'] }),
      updated(incident, 2, { departmentCodes: ['greening', 'housing'] }),
      updated(incident, 3, { departmentCodes: ['greening'] }),
      updated(crypto.randomUUID(), 4, { departmentCodes: ['greening'] }),
    );
    const [mark] = await send({ ...updated(crypto.randomUUID(), 5, {}), scopeCode: GRID1 });
    await stream.waitForId(mark);
    expect(stream.ids).toEqual([ids[1], ids[2], mark]);
    const replay = await connect(d.cookie, start);
    expect(replay.ids).toEqual([ids[1], ids[2], mark]);
  });

  it('through the dispatch endpoint: the assigned grid worker gets the incident\'s events until it is reassigned', async () => {
    const w = await account('grid_worker');
    const other = await account('grid_worker');
    const worker = await connect(w.cookie);
    const start = worker.lastEventId;
    const post = (url: string, payload: object) => app.inject({ method: 'POST', url, payload, headers: { cookie: admin } });
    const created = await post('/api/incidents', { category: 'dispute', priority: 'normal', description: 'assignee test', location: { type: 'Point', coordinates: IN2 } });
    expect(created.statusCode).toBe(201);
    const incident: string = created.json().id;
    expect((await post(`/api/incidents/${incident}/dispatch`, { responderId: w.responderId })).statusCode).toBe(200);
    expect((await post(`/api/incidents/${incident}/dispatch`, { responderId: other.responderId, reassign: true, note: '改派' })).statusCode).toBe(200);
    expect((await post(`/api/incidents/${incident}/transitions`, { action: 'start' })).statusCode).toBe(200);
    // A last event of w's own area, so that w's stream has seen everything before it.
    const [mark] = await send({ ...updated(crypto.randomUUID(), 0, {}), scopeCode: GRID1 });
    await worker.waitForId(mark);

    const { rows } = await database.pool.query<{ id: string; responder_ids: string[] }>(
      `SELECT id::text, responder_ids::text[] FROM live_events WHERE entity_id = $1 ORDER BY id`, [incident]);
    // Reported (its area only), dispatched to w, reassigned (w learns of it), started by the new assignee.
    expect(rows.map((r) => [...r.responder_ids].sort())).toEqual([[], [w.responderId], [other.responderId, w.responderId].sort(), [other.responderId]]);
    const toW = [rows[1].id, rows[2].id];
    expect(about(worker, incident)).toEqual(toW);
    const replay = await connect(w.cookie, start);
    expect(about(replay, incident)).toEqual(toW);
  });

  it('through the dispatch endpoint: a department user gets its department\'s incident until it goes to another department', async () => {
    const d = await account('department', 'housing');
    const stream = await connect(d.cookie);
    const start = stream.lastEventId;
    const post = (url: string, payload: object) => app.inject({ method: 'POST', url, payload, headers: { cookie: admin } });
    const created = await post('/api/incidents', { category: 'dispute', priority: 'normal', description: 'department test', location: { type: 'Point', coordinates: IN2 } });
    expect(created.statusCode).toBe(201);
    const incident: string = created.json().id;
    expect((await post(`/api/incidents/${incident}/dispatch`, { departmentCode: 'housing' })).statusCode).toBe(200);
    expect((await post(`/api/incidents/${incident}/dispatch`, { departmentCode: 'greening', reassign: true, note: '改派' })).statusCode).toBe(200);
    expect((await post(`/api/incidents/${incident}/transitions`, { action: 'start' })).statusCode).toBe(200);
    const [mark] = await send({ ...updated(crypto.randomUUID(), 0, {}), scopeCode: GRID1 });
    await stream.waitForId(mark);

    const { rows } = await database.pool.query<{ id: string; department_codes: string[] }>(
      `SELECT id::text, department_codes FROM live_events WHERE entity_id = $1 ORDER BY id`, [incident]);
    expect(rows.map((r) => [...r.department_codes].sort())).toEqual([[], ['housing'], ['greening', 'housing'], ['greening']]);
    expect(about(stream, incident)).toEqual([rows[1].id, rows[2].id]);
    const replay = await connect(d.cookie, start);
    expect(about(replay, incident)).toEqual([rows[1].id, rows[2].id]);
  });
});
