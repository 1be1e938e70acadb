import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, tempDir, usesExternalDatabase, type TestDatabase } from '../support/database.js';
import { addUser } from '../support/auth.js';
import { insertSmallDistrict } from '../support/fixtures.js';
import { startEmbeddedDatabase } from '../../server/src/db/embedded.js';
import { openDatabase } from '../../server/src/db/database.js';
import { migrateToLatest } from '../../server/src/db/migrate.js';
import { SseClient, createdIds, postIncident, signInHttp, startApi, type ApiProcess } from '../live/support.js';

const processes: ApiProcess[] = [];
const clients: SseClient[] = [];

async function api(env: Record<string, string>): Promise<ApiProcess> {
  const p = await startApi(env);
  processes.push(p);
  return p;
}

async function stream(base: string, cookie: string, lastEventId?: string): Promise<SseClient> {
  const c = await SseClient.connect(`${base}/api/live`, { cookie, lastEventId });
  clients.push(c);
  expect(c.status).toBe(200);
  await c.waitForLive();
  return c;
}

async function post(base: string, cookie: string, n: number): Promise<string> {
  const r = await postIncident(base, cookie, n);
  expect(r.status, r.body).toBe(201);
  return r.id!;
}

/** Event ids over the two connections strictly increase (no duplicate, in order). */
function expectIncreasing(...cs: SseClient[]) {
  const ids = cs.flatMap((c) => c.ids.map(Number));
  expect(ids).toEqual([...new Set(ids)].sort((a, b) => a - b));
}

afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all(processes.map((p) => p.stop()));
});

const externalSkip = usesExternalDatabase ? undefined : 'needs a second API process, hence an external database (set TEST_DATABASE_URL)';
if (externalSkip) console.log(`[tests/faults/kill-server] external case skipped: ${externalSkip}`);

describe.skipIf(Boolean(externalSkip))('kill -9 of an API process mid-stream (external database)', { timeout: 180_000 }, () => {
  let database: TestDatabase;
  afterAll(async () => database?.drop());

  it('the client reconnects to the restarted process with its Last-Event-ID: no gap, no duplicate', async () => {
    database = await createTestDatabase();
    await insertSmallDistrict(database.pool);
    const env = { DATABASE_URL: database.app.url };
    const [writer, streamer] = await Promise.all([api(env), api(env)]);
    const admin = await addUser(database.pool, 'admin', '*');
    const cookie = await signInHttp(writer.base, admin.username, admin.password);

    const before = await stream(streamer.base, cookie);
    const seen = [await post(writer.base, cookie, 1), await post(writer.base, cookie, 2), await post(writer.base, cookie, 3)];
    await before.waitFor(() => createdIds(before).length === 3, 'three incidents');
    await streamer.kill9();
    await before.waitForEnd();

    // Published through the other process while the streaming one is dead.
    const missed: string[] = [];
    for (let i = 4; i <= 7; i++) missed.push(await post(writer.base, cookie, i));
    const restarted = await api(env);
    const after = await stream(restarted.base, cookie, before.lastEventId);
    await after.waitFor(() => createdIds(after).length === 4, 'the four missed incidents');
    const live = await post(writer.base, cookie, 8);
    await after.waitFor(() => createdIds(after).includes(live), 'the live incident');

    expect(createdIds(before)).toEqual(seen);
    expect(createdIds(after)).toEqual([...missed, live]);
    expectIncreasing(before, after);
  });
});

describe('kill -9 of the embedded server after acknowledged writes', { timeout: 300_000 }, () => {
  it('restarted on the same DATA_DIR, every acknowledged incident is there and the stream resumes exactly', async () => {
    const dataDir = tempDir('faults-embedded');
    // Prepare the folder: schema, the small district and an admin (the server then owns it).
    const embedded = await startEmbeddedDatabase(dataDir, { kind: 'tests' });
    const prep = await openDatabase({ databaseUrl: embedded.url, dataDir: '' });
    await migrateToLatest(prep.db);
    await insertSmallDistrict(prep.pool);
    const admin = await addUser(prep.pool, 'admin', '*');
    await prep.close();
    await embedded.close();

    const env = { DATABASE_URL: '', DATA_DIR: dataDir };
    const first = await api(env);
    const cookie = await signInHttp(first.base, admin.username, admin.password);
    const before = await stream(first.base, cookie);
    const acknowledged = [await post(first.base, cookie, 1), await post(first.base, cookie, 2)];
    await before.waitFor(() => createdIds(before).length === 2, 'two incidents');
    for (let i = 3; i <= 5; i++) acknowledged.push(await post(first.base, cookie, i));
    // Killed straight after the last 201: no shutdown, no flush.
    await first.kill9();
    await before.waitForEnd();

    const second = await api(env);
    for (const id of acknowledged) {
      const res = await fetch(`${second.base}/api/incidents/${id}`, { headers: { cookie } });
      expect(res.status, `${id}: ${res.status === 200 ? '' : await res.text()}`).toBe(200);
    }
    const after = await stream(second.base, cookie, before.lastEventId);
    const live = await post(second.base, cookie, 6);
    await after.waitFor(() => createdIds(after).includes(live), 'the live incident');
    expect([...createdIds(before), ...createdIds(after)]).toEqual([...acknowledged, live]);
    expectIncreasing(before, after);
  });
});
