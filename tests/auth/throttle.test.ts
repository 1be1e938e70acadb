import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { buildTestApp } from '../support/app.js';
import { addUser } from '../support/auth.js';
import { insertSmallDistrict } from '../support/fixtures.js';
import { openDatabase, type Database } from '../../server/src/db/database.js';
import { purgeEndedCounters } from '../../server/src/auth/throttle.repository.js';

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
  it('after 5 attempts for one account from one address the 6th is 429 RATE_LIMITED with Retry-After, even with the right password; the owner at another address gets in', async () => {
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
    // Upper case and surrounding spaces name the same account at that address …
    expect((await login(app, `  ${u.username.toUpperCase()} `, u.password, ip)).statusCode).toBe(429);
    // … the owner signing in from an address with no failures gets in (no lockout from anywhere) …
    expect((await login(app, u.username, u.password, nextAddress())).statusCode).toBe(200);
    // … and another account from the first address still signs in.
    const other = await addUser(database.pool, 'viewer', '310101002001');
    expect((await login(app, other.username, other.password, ip)).statusCode).toBe(200);
  });

  it('parallel guesses: of 25 wrong passwords sent at once for one account, at most 5 are verified; the rest are 429 unverified', async () => {
    const u = await addUser(database.pool, 'viewer', '310101002001');
    const ip = nextAddress();
    const answers = await Promise.all(Array.from({ length: 25 }, (_, i) => login(app, u.username, `wrong ${i}`, ip)));
    const codes = answers.map((r) => r.statusCode);
    expect(codes.filter((c) => c === 401).length).toBe(5);
    expect(codes.filter((c) => c === 429).length).toBe(20);
  });

  it('parallel guesses over two API processes: a right password inside a burst of 15 wrong ones is verified only within the 5 attempts', async () => {
    const second: Database = await openDatabase({ databaseUrl: database.url, dataDir: '', poolSize: 4 });
    const appB = await buildTestApp({ ...second, mode: database.mode }, { signedIn: false });
    try {
      for (let round = 0; round < 3; round++) {
        const u = await addUser(database.pool, 'viewer', '310101002001');
        const ip = nextAddress();
        const burst = Array.from({ length: 16 }, (_, i) => (i === 8 ? u.password : `wrong ${i}`));
        const answers = await Promise.all(burst.map((pw, i) => login(i % 2 ? appB : app, u.username, pw, ip)));
        const codes = answers.map((r) => r.statusCode);
        // A 401 is a wrong password that was checked: never more than the limit. The right one is
        // checked only when it came within the limit (then it is no failure, and one more attempt
        // may be checked after it).
        const wrong = codes.filter((c) => c === 401).length;
        const right = codes.filter((c) => c === 200).length;
        const seen = `round ${round}: ${codes.join(',')}`;
        expect(wrong, seen).toBeLessThanOrEqual(5);
        // Without the right password among the first five, exactly five are checked; with it, four
        // or five wrong ones (the attempt it gave back may or may not be taken by a later one).
        expect(wrong, seen).toBeGreaterThanOrEqual(5 - right);
        expect(right, seen).toBeLessThanOrEqual(1);
        expect(codes.filter((c) => c === 429).length).toBe(16 - wrong - right);
      }
    } finally {
      await appB.close();
      await second.close();
    }
  });

  it('an attacker hammering from one address does not lock the owner out: the owner at a clean address signs in', async () => {
    const u = await addUser(database.pool, 'viewer', '310101002001');
    const attacker = nextAddress();
    for (let i = 0; i < 20; i++) await login(app, u.username, `guess ${i}`, attacker);
    expect((await login(app, u.username, u.password, attacker)).statusCode).toBe(429);
    const owner = await login(app, u.username, u.password, nextAddress());
    expect(owner.statusCode).toBe(200);
  });

  it('soft lockout: past the per-account limit from many addresses, each further attempt waits a delay that doubles per failure', async () => {
    const small = await buildTestApp(database, { signedIn: false, login: { maxPerAccountAddress: 3, maxPerAccount: 6, delayBaseSeconds: 10, delayMaxSeconds: 120 } });
    try {
      const u = await addUser(database.pool, 'viewer', '310101002001');
      // 6 failures from two addresses (3 each, the strict pair limit) reach the account's limit.
      for (let i = 0; i < 6; i++) expect((await login(small, u.username, 'wrong', i < 3 ? '198.51.100.1' : '198.51.100.2')).statusCode).toBe(401);
      const key = `user:${u.username.toLowerCase()}`;
      const backdate = (s: number) => database.pool.query(`UPDATE login_throttle SET last_attempt_at = now() - make_interval(secs => $2) WHERE key = $1`, [key, s]);
      // From a third address, even with the right password: wait base × 2^0 = 10 s after the last attempt.
      const first = await login(small, u.username, u.password, '198.51.100.3');
      expect(first.statusCode).toBe(429);
      expect(Number(first.headers['retry-after'])).toBeGreaterThan(5);
      expect(Number(first.headers['retry-after'])).toBeLessThanOrEqual(10);
      // Refused attempts are not counted: the wait is the same.
      expect(Number((await login(small, u.username, 'wrong', '198.51.100.4')).headers['retry-after'])).toBeLessThanOrEqual(10);
      // Once the delay has passed one more attempt is checked (a failure) …
      await backdate(11);
      expect((await login(small, u.username, 'wrong', '198.51.100.3')).statusCode).toBe(401);
      // … and the next waits twice as long: 20 s.
      const second = await login(small, u.username, u.password, '198.51.100.5');
      expect(second.statusCode).toBe(429);
      expect(Number(second.headers['retry-after'])).toBeGreaterThan(10);
      expect(Number(second.headers['retry-after'])).toBeLessThanOrEqual(20);
      await backdate(21);
      // The owner gets in once the wait has passed (the right password is not a failure).
      expect((await login(small, u.username, u.password, '198.51.100.5')).statusCode).toBe(200);
    } finally {
      await small.close();
    }
  });

  it('a success is no failure, and does not forgive the failures around it: 4 wrong, right, 1 wrong, then the address waits', async () => {
    const u = await addUser(database.pool, 'viewer', '310101002001');
    const ip = nextAddress();
    for (let i = 0; i < 4; i++) expect((await login(app, u.username, 'wrong password', ip)).statusCode).toBe(401);
    expect((await login(app, u.username, u.password, ip)).statusCode).toBe(200);
    expect((await login(app, u.username, u.password, ip)).statusCode).toBe(200);
    expect((await login(app, u.username, 'wrong password', ip)).statusCode).toBe(401);
    expect((await login(app, u.username, u.password, ip)).statusCode).toBe(429);
    expect((await login(app, u.username, u.password, nextAddress())).statusCode).toBe(200);
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
      // Attempts alternate between the processes; the count is shared.
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

  it('counters whose window has ended are purged (the timers plugin runs this every minute); open ones stay', async () => {
    const u = await addUser(database.pool, 'viewer', '310101002001');
    await login(app, u.username, 'wrong', nextAddress());
    await login(app, 'someone-else', 'wrong', nextAddress());
    const key = `user:${u.username.toLowerCase()}`;
    await database.pool.query(`UPDATE login_throttle SET window_started_at = now() - interval '16 minutes' WHERE key <> $1`, [key]);
    const before = Number((await database.pool.query('SELECT count(*) FROM login_throttle')).rows[0].count);
    const purged = await purgeEndedCounters(database.db, 15 * 60);
    expect(purged).toBe(before - 1);
    expect((await database.pool.query('SELECT key FROM login_throttle')).rows).toEqual([{ key }]);
  });
});
