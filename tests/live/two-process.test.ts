import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, usesExternalDatabase, type TestDatabase } from '../support/database.js';
import { addUser } from '../support/auth.js';
import { insertSmallDistrict } from '../support/fixtures.js';
import { SseClient, createdIds, postIncident, signInHttp, startApi, type ApiProcess } from './support.js';

// Several API processes share one stream only through PostgreSQL NOTIFY; the embedded database
// serves one process.
const skipReason = usesExternalDatabase ? undefined : 'two API processes need an external database (set TEST_DATABASE_URL)';
if (skipReason) console.log(`[tests/live/two-process] skipped: ${skipReason}`);

describe.skipIf(Boolean(skipReason))('two API processes on one database', { timeout: 120_000 }, () => {
  let database: TestDatabase;
  let one: ApiProcess;
  let two: ApiProcess;
  const clients: SseClient[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    await insertSmallDistrict(database.pool);
    // Served as the ordinary login role, as in production; no safety poll, so only NOTIFY can deliver across processes.
    const env = { DATABASE_URL: database.app.url, LIVE_POLL_MS: '3600000' };
    [one, two] = await Promise.all([startApi(env), startApi(env)]);
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.all([one?.stop(), two?.stop()]);
    await database?.drop();
  });

  it('an incident created through one process reaches SSE clients of the other, in scope only', async () => {
    const admin = await addUser(database.pool, 'admin', '*');
    const cookie = await signInHttp(one.base, admin.username, admin.password);
    const mine = await addUser(database.pool, 'viewer', '310101002001001');
    const gridCookie = await signInHttp(two.base, mine.username, mine.password);
    const onTwo = await SseClient.connect(`${two.base}/api/live`, { cookie });
    const scopedOnTwo = await SseClient.connect(`${two.base}/api/live`, { cookie: gridCookie });
    const onOne = await SseClient.connect(`${one.base}/api/live`, { cookie });
    clients.push(onTwo, scopedOnTwo, onOne);
    for (const c of clients) await c.waitFor(() => c.lastEventId !== '', 'the position');

    // Grid 1 (the scoped user's) and grid 2 (not).
    const a = await postIncident(one.base, cookie, 1, 121.4812, 31.2345);
    const b = await postIncident(one.base, cookie, 2, 121.4875, 31.2345);
    const c = await postIncident(one.base, cookie, 3, 121.4830, 31.2390);
    expect([a.status, b.status, c.status]).toEqual([201, 201, 201]);
    await onTwo.waitFor(() => createdIds(onTwo).includes(c.id!), 'the third incident on process two');
    await scopedOnTwo.waitFor(() => createdIds(scopedOnTwo).includes(c.id!), 'the third incident (scoped)');
    await onOne.waitFor(() => createdIds(onOne).includes(c.id!), 'the third incident on process one');

    expect(createdIds(onTwo)).toEqual([a.id, b.id, c.id]);
    expect(onTwo.ids).toEqual(onOne.ids);
    expect(createdIds(scopedOnTwo)).toEqual([a.id, c.id]);
    const first = onTwo.parsed[0];
    expect(first.data).toMatchObject({ type: 'incident.created', entityId: a.id, incidentId: a.id, status: 'reported', gridCode: '310101002001001' });

    // Replay on the other process is exact too.
    onTwo.close();
    const d = await postIncident(one.base, cookie, 4);
    const again = await SseClient.connect(`${two.base}/api/live`, { cookie, lastEventId: onTwo.lastEventId });
    clients.push(again);
    await again.waitFor(() => createdIds(again).includes(d.id!), 'the missed incident');
    expect(createdIds(again)).toEqual([d.id]);
  });
});
