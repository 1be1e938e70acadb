import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { openDatabase, type Database } from '../../server/src/db/database.js';
import { buildTestApp } from '../support/app.js';

/**
 * A TCP relay in front of the test database that can refuse connections and cut existing ones,
 * standing in for a database server that goes down and comes back.
 */
class Relay {
  private server?: net.Server;
  private sockets = new Set<net.Socket>();
  port = 0;
  /** `target`: a TCP address, or the path of a Unix socket (the embedded database's). */
  constructor(private readonly target: { host: string; port: number } | { path: string }) {}

  async up(): Promise<void> {
    this.server = net.createServer((client) => {
      const upstream = 'path' in this.target ? net.connect(this.target.path) : net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server!.address() as net.AddressInfo).port;
  }

  async down(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

let database: TestDatabase;
let viaRelay: Database;
let relay: Relay;
let app: FastifyInstance;

beforeAll(async () => {
  database = await createTestDatabase();
  const url = new URL(database.url);
  // The embedded database is served on a Unix socket: ?host=<folder>, the socket named as pg names it.
  const socketDir = url.searchParams.get('host');
  const port = Number(url.port || 5432);
  relay = new Relay(socketDir ? { path: `${socketDir}/.s.PGSQL.${port}` } : { host: url.hostname, port });
  await relay.up();
  url.searchParams.delete('host');
  url.host = `127.0.0.1:${relay.port}`;
  viaRelay = await openDatabase({ databaseUrl: url.toString(), dataDir: '' });
  app = await buildTestApp({ ...viaRelay, mode: database.mode });
});

afterAll(async () => {
  await app?.close();
  await viaRelay?.close().catch(() => {});
  await relay?.down().catch(() => {});
  await database?.drop();
});

describe('database unreachable', () => {
  it('answers 503 with Retry-After, reports degraded health, and recovers by itself', async () => {
    expect((await app.inject('/api/collections/grids/items')).statusCode).toBe(200);

    await relay.down();
    const failed = await app.inject('/api/collections/grids/items');
    expect(failed.statusCode).toBe(503);
    expect(failed.headers['retry-after']).toBeDefined();
    expect(failed.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(failed.json()).toMatchObject({ status: 503, code: 'DATABASE_UNAVAILABLE' });

    // The session probe does not take an outage for "signed out" (the app would show the login page).
    const probe = await app.inject({ url: '/api/auth/session', headers: { cookie: `wangge_session=${'y'.repeat(43)}` } });
    expect(probe.statusCode).toBe(503);
    expect(probe.json().code).toBe('DATABASE_UNAVAILABLE');

    const health = await app.inject('/api/health');
    expect(health.statusCode).toBe(503);
    expect(health.headers['retry-after']).toBeDefined();
    expect(health.json()).toMatchObject({ status: 'degraded', database: { mode: database.mode } });

    await relay.up();
    // The pool reconnects on the next request: no restart of the API needed.
    let recovered = 0;
    for (let attempt = 0; attempt < 20 && recovered !== 200; attempt++) {
      recovered = (await app.inject('/api/collections/grids/items')).statusCode;
      if (recovered !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    expect(recovered).toBe(200);
    expect((await app.inject('/api/health')).json().status).toBe('ok');
  });
});
