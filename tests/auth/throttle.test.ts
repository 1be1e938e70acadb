import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { buildTestApp } from '../support/app.js';
import { addUser } from '../support/auth.js';
import { insertSmallDistrict } from '../support/fixtures.js';
import { openDatabase, type Database } from '../../server/src/db/database.js';

let database: TestDatabase;
let app: FastifyInstance;

beforeAll(async () => {
  database = await createTestDatabase();
  await insertSmallDistrict(database.pool);
  app = await buildTestApp(database, { signedIn: false });
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

let address = 0;
/** Each test signs in from its own address, so the per-address limit (50) stays out of the way. */
const nextAddress = () => `192.0.2.${++address}`;
const login = (a: FastifyInstance, username: string, password: string, remoteAddress: string) =>
  a.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password }, remoteAddress });

describe('login throttling', () => {
  it('after 5 failures for one account the 6th attempt is 429 RATE_LIMITED with Retry-After, even with the right password', async () => {
    const u = await addUser(database.pool, 'viewer', '310101002001');
    const ip = nextAddress();
    for (let i = 0; i < 5; i++) {
      const res = await login(app, u.username, `wrong password ${i}`, ip);
      expect(res.statusCode, `attempt ${i + 1}`).toBe(401);
      expect(res.json().code).toBe('INVALID_CREDENTIALS');
    }
    const blocked = await login(app, u.username, u.password, ip);
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json()).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    const retry = Number(blocked.headers['retry-after']);
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(15 * 60);
    expect(blocked.cookies.find((c) => c.name === 'wangge_session')).toBeUndefined();
    // The account is throttled, not the address: from another address it is blocked too …
    expect((await login(app, u.username, u.password, nextAddress())).statusCode).toBe(429);
    // … upper case and surrounding spaces name the same account …
    expect((await login(app, `  ${u.username.toUpperCase()} `, u.password, nextAddress())).statusCode).toBe(429);
    // … and another account from the first address still signs in.
    const other = await addUser(database.pool, 'viewer', '310101002001');
    expect((await login(app, other.username, other.password, ip)).statusCode).toBe(200);
  });

  it('a success before the limit clears the account\'s failures', async () => {
    const u = await addUser(database.pool, 'viewer', '310101002001');
    const ip = nextAddress();
    for (let i = 0; i < 4; i++) expect((await login(app, u.username, 'wrong password', ip)).statusCode).toBe(401);
    expect((await login(app, u.username, u.password, ip)).statusCode).toBe(200);
    for (let i = 0; i < 4; i++) expect((await login(app, u.username, 'wrong password', ip)).statusCode).toBe(401);
    expect((await login(app, u.username, u.password, ip)).statusCode).toBe(200);
  });

  it('the window ends: once the failures are older than 15 minutes the account may try again', async () => {
    const u = await addUser(database.pool, 'viewer', '310101002001');
    const ip = nextAddress();
    for (let i = 0; i < 5; i++) await login(app, u.username, 'wrong password', ip);
    expect((await login(app, u.username, u.password, ip)).statusCode).toBe(429);
    await database.pool.query(`UPDATE login_throttle SET window_started_at = now() - interval '16 minutes'`);
    expect((await login(app, u.username, u.password, ip)).statusCode).toBe(200);
  });

  it('one address is limited to 50 failed sign-ins over any accounts, counted across processes', async () => {
    // Each process also caps sign-in requests at 30 a minute per address (@fastify/rate-limit, in
    // memory); the failures of this test are split over two processes to stay under that cap.
    const second: Database = await openDatabase({ databaseUrl: database.url, dataDir: '', poolSize: 2 });
    const appB = await buildTestApp({ ...second, mode: database.mode }, { signedIn: false });
    try {
      const ip = nextAddress();
      for (let i = 0; i < 50; i++) {
        const res = await login(i < 25 ? app : appB, `nobody${i}`, 'wrong password', ip);
        expect(res.statusCode, `failure ${i + 1}`).toBe(401);
      }
      const u = await addUser(database.pool, 'viewer', '310101002001');
      for (const a of [app, appB]) {
        const res = await login(a, u.username, u.password, ip);
        expect(res.statusCode).toBe(429);
        expect(res.json().detail).toMatch(/failed sign-ins/); // the database throttle, not the per-process cap
      }
      expect((await login(app, u.username, u.password, nextAddress())).statusCode).toBe(200);
    } finally {
      await appB.close();
      await second.close();
    }
  });

  it('unknown and known usernames get the same status and body for a wrong password', async () => {
    const u = await addUser(database.pool, 'viewer', '310101002001');
    const known = await login(app, u.username, 'wrong password', nextAddress());
    const unknown = await login(app, 'no-such-user', 'wrong password', nextAddress());
    const disabled = await addUser(database.pool, 'viewer', '310101002001');
    await database.pool.query('UPDATE users SET disabled = true WHERE id = $1', [disabled.id]);
    const off = await login(app, disabled.username, disabled.password, nextAddress());
    for (const res of [known, unknown, off]) {
      expect(res.statusCode).toBe(401);
      expect(res.headers['content-type']).toBe(known.headers['content-type']);
    }
    expect(unknown.body).toBe(known.body);
    expect(off.body).toBe(known.body);
    // And blocked ones alike: an unknown name is throttled after 5 failures as a known one is.
    const ip = nextAddress();
    for (let i = 0; i < 5; i++) await login(app, 'no-such-user-2', 'wrong password', ip);
    for (let i = 0; i < 5; i++) await login(app, u.username, 'wrong password', ip);
    const a = await login(app, 'no-such-user-2', 'wrong password', ip);
    const b = await login(app, u.username, 'wrong password', ip);
    expect(a.statusCode).toBe(429);
    expect(b.statusCode).toBe(429);
    expect(JSON.parse(a.body).code).toBe(JSON.parse(b.body).code);
  });

  it('the limit holds across two API processes on one database (two apps, two pools)', async () => {
    const second: Database = await openDatabase({ databaseUrl: database.url, dataDir: '', poolSize: 2 });
    const appB = await buildTestApp({ ...second, mode: database.mode }, { signedIn: false });
    try {
      expect(second.pool).not.toBe(database.pool);
      const u = await addUser(database.pool, 'viewer', '310101002001');
      const ip = nextAddress();
      // Failures alternate between the processes; the count is shared.
      for (let i = 0; i < 5; i++) expect((await login(i % 2 ? appB : app, u.username, 'wrong password', ip)).statusCode).toBe(401);
      expect((await login(appB, u.username, u.password, ip)).statusCode).toBe(429);
      expect((await login(app, u.username, u.password, ip)).statusCode).toBe(429);
      // Failures on A alone count on B.
      const v = await addUser(database.pool, 'viewer', '310101002001');
      for (let i = 0; i < 5; i++) await login(app, v.username, 'wrong password', ip);
      expect((await login(appB, v.username, v.password, ip)).statusCode).toBe(429);
    } finally {
      await appB.close();
      await second.close();
    }
  });
});
