import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { addUser } from '../support/auth.js';
import { insertSmallDistrict } from '../support/fixtures.js';
import { openDatabase } from '../../server/src/db/database.js';
import { migrateToLatest } from '../../server/src/db/migrate.js';
import { SseClient, createdIds, freePort, incidentEvent, postIncident, publish, signInHttp, startApi, type ApiProcess } from '../live/support.js';

/**
 * A PRIVATE PostgreSQL 15 cluster (temp folder, own port) that this test crashes and restarts; the
 * shared server on 5432 is never touched.
 */
const BIN = '/usr/lib/postgresql/15/bin';
const skipReason = fs.existsSync(`${BIN}/initdb`) ? undefined : `${BIN}/initdb not found (PostgreSQL 15 server binaries are needed for a private cluster)`;
if (skipReason) console.log(`[tests/faults/database-restart] skipped: ${skipReason}`);

const asRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL tool as the postgres user (initdb refuses root). */
function pgTool(tool: string, args: string[]): string {
  const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', `${BIN}/${tool}`, ...args]] : [`${BIN}/${tool}`, args];
  return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(Boolean(skipReason))('database crash and restart under load', { timeout: 240_000 }, () => {
  let dir = '';
  let data = '';
  let port = 0;
  let api: ApiProcess | undefined;
  const clients: SseClient[] = [];

  const start = () => pgTool('pg_ctl', ['-D', data, '-l', path.join(dir, 'postgres.log'), '-w', '-t', '60', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, 'start']);
  const crash = () => pgTool('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);

  afterAll(async () => {
    for (const c of clients) c.close();
    await api?.stop();
    if (data && fs.existsSync(path.join(data, 'postmaster.pid'))) {
      try {
        pgTool('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      } catch {
        // already down
      }
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('every acknowledged incident survives pg_ctl stop -m immediate; the API answers 503 meanwhile, then recovers; the stream re-LISTENs', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wangge-pgcrash-'));
    if (asRoot) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
      fs.chownSync(dir, uid, gid);
    }
    data = path.join(dir, 'data');
    pgTool('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync']);
    port = await freePort();
    start();
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    const setup = await openDatabase({ databaseUrl: url, dataDir: '' });
    await migrateToLatest(setup.db);
    await insertSmallDistrict(setup.pool);
    const admin = await addUser(setup.pool, 'admin', '*');
    await setup.close();

    // No safety poll: after the restart only a re-established LISTEN can deliver a foreign event.
    api = await startApi({ DATABASE_URL: url, LIVE_POLL_MS: '3600000' });
    const base = api.base;
    const cookie = await signInHttp(base, admin.username, admin.password);
    const client = await SseClient.connect(`${base}/api/live`, { cookie });
    clients.push(client);
    await client.waitForLive();

    const acknowledged: string[] = [];
    const unexpected: string[] = [];
    let unavailable = 0;
    let stop = false;
    const poster = async (k: number) => {
      for (let n = 0; !stop; n++) {
        try {
          const r = await postIncident(base, cookie, k * 100_000 + n);
          if (r.status === 201) acknowledged.push(r.id!);
          else if (r.status === 503 && JSON.parse(r.body).code === 'DATABASE_UNAVAILABLE') {
            unavailable++;
            await sleep(50);
          } else unexpected.push(`${r.status} ${r.body}`);
        } catch (err) {
          unexpected.push(`request failed: ${(err as Error).message}`);
          await sleep(50);
        }
      }
    };
    const posters = [0, 1, 2].map(poster);
    const until = async (check: () => boolean, what: string) => {
      for (let i = 0; i < 1200 && !check(); i++) await sleep(50);
      if (!check()) throw new Error(`gave up waiting for ${what}`);
    };

    await until(() => acknowledged.length >= 6, 'acknowledged incidents before the crash');
    crash();
    const ackedAtCrash = acknowledged.length;
    await until(() => unavailable > 0, 'a 503 while the database is down');
    start();
    await until(() => acknowledged.length >= ackedAtCrash + 6, 'acknowledged incidents after the restart');
    stop = true;
    await Promise.all(posters);

    console.log(`[tests/faults/database-restart] ${acknowledged.length} acknowledged (${ackedAtCrash} before the crash), ${unavailable} answers 503 while down`);
    expect(unexpected).toEqual([]);
    const check = new pg.Client({ connectionString: url });
    await check.connect();
    try {
      const { rows } = await check.query<{ n: number }>('SELECT count(*)::int AS n FROM incidents WHERE id = ANY($1::uuid[])', [acknowledged]);
      expect(rows[0].n).toBe(acknowledged.length);
    } finally {
      await check.end();
    }

    // The stream stayed open through the outage and delivered every acknowledged incident, in id order.
    await client.waitFor(() => acknowledged.every((id) => createdIds(client).includes(id)), 'every acknowledged incident on the stream');
    expect(client.ended).toBe(false);
    const ids = client.ids.map(Number);
    expect(ids).toEqual([...new Set(ids)].sort((a, b) => a - b));

    // An event written by someone else (not through this API process) arrives only by NOTIFY.
    const writer = new pg.Pool({ connectionString: url, max: 1 });
    try {
      const [foreign] = await publish(writer, [incidentEvent('310101002001001', 0)]);
      await client.waitForId(foreign);
      expect(client.ids[client.ids.length - 1]).toBe(String(foreign));
    } finally {
      await writer.end();
    }
  });
});
