/**
 * The embedded database's folder has one owner (db/data-lock.ts): while `pnpm start` runs, the CLI's
 * `user` commands go through the server's database socket (db/embedded.ts, mode 0600 in DATA_DIR)
 * and take effect at once; `generate`, `import` and `migrate` refuse; a second server is refused
 * naming the owner; after a kill -9 the stale lock is taken over. Real server and CLI processes.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { tempDir } from '../support/database.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

const SERVER_ENV = { SEED_DEMO: 'false', DEMO_SIMULATE: 'false', WARM_ROUTING_GRAPH: 'false' };
let dataDir: string;
let server: ServerProcess | undefined;

/** `pnpm cli …` on the embedded database in DATA_DIR. */
const cli = (args: string[], stdin = '') => runCli(args, { DATABASE_URL: '', DATA_DIR: dataDir }, stdin);

const password = () => `${crypto.randomBytes(12).toString('base64url')} passphrase`;

async function signIn(base: string, username: string, pw: string): Promise<{ status: number; cookie?: string }> {
  const res = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: pw }) });
  return { status: res.status, cookie: res.headers.get('set-cookie')?.split(';')[0] };
}

const me = async (base: string, cookie: string) => (await fetch(`${base}/api/auth/me`, { headers: { cookie } })).status;

beforeAll(() => {
  dataDir = tempDir('data-dir');
});
afterAll(async () => {
  await server?.stop();
});

describe('one owner of DATA_DIR; the CLI beside a running embedded server', { timeout: 240_000 }, () => {
  const first = { username: 'ops.first', password: password() };
  const second = { username: 'ops.second', password: password() };

  it('user add goes through the running server: the account signs in at once, and survives a restart', async () => {
    server = await startServerProcess(dataDir, SERVER_ENV);
    const socket = path.join(dataDir, '.s.PGSQL.5432');
    expect(fs.statSync(socket).isSocket()).toBe(true);
    expect(fs.statSync(socket).mode & 0o777).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(path.join(dataDir, 'owner.lock'), 'utf8'))).toMatchObject({ pid: server.pid, kind: 'server' });

    const add = await cli(['user', 'add', '--username', first.username, '--role', 'admin', '--area', '*'], `${first.password}\n`);
    expect(add.code, add.out).toBe(0);
    expect((await signIn(server.base, first.username, first.password)).status).toBe(200);
    expect((await cli(['user', 'add', '--username', second.username, '--role', 'admin', '--area', '*'], `${second.password}\n`)).code).toBe(0);

    await server.stop();
    expect(fs.existsSync(path.join(dataDir, 'owner.lock'))).toBe(false);
    server = await startServerProcess(dataDir, SERVER_ENV);
    expect((await signIn(server.base, first.username, first.password)).status).toBe(200);
    expect((await signIn(server.base, second.username, second.password)).status).toBe(200);
  });

  it('user disable through the server ends that user\'s session at once (its cached session too)', async () => {
    const { cookie } = await signIn(server!.base, second.username, second.password);
    expect(await me(server!.base, cookie!)).toBe(200);
    expect(await me(server!.base, cookie!)).toBe(200); // now answered from the session cache
    const disable = await cli(['user', 'disable', '--username', second.username]);
    expect(disable.code, disable.out).toBe(0);
    expect(await me(server!.base, cookie!)).toBe(401);
    expect((await signIn(server!.base, second.username, second.password)).status).toBe(401);
  });

  it('generate, import and migrate refuse while the server owns the folder; a second server is refused naming the owner', async () => {
    for (const args of [['generate', '--preset', 'tiny'], ['migrate'], ['import', '--layer', 'roads', '--file', '/nonexistent.geojson']]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.out).toContain(`a wangge server (pid ${server!.pid}) is running on ${dataDir}`);
      expect(r.out).toMatch(/stop the server/);
    }
    await expect(startServerProcess(dataDir, SERVER_ENV)).rejects.toThrow(new RegExp(`in use by a running wangge server \\(pid ${server!.pid}`));
    // The refused server left the owner's lock and socket alone.
    expect((await signIn(server!.base, first.username, first.password)).status).toBe(200);
  });

  it('after kill -9 of the server the CLI alone takes the folder over and works; the server starts again', async () => {
    await server!.kill9();
    expect(fs.existsSync(path.join(dataDir, 'owner.lock'))).toBe(true); // left behind by the dead owner
    const list = await cli(['user', 'list']);
    expect(list.code, list.out).toBe(0);
    expect(list.out).toMatch(/ops\.first\s+admin\s+\*\s+active/);
    expect(list.out).toMatch(/ops\.second\s+admin\s+\*\s+disabled/);
    server = await startServerProcess(dataDir, SERVER_ENV);
    expect((await signIn(server.base, first.username, first.password)).status).toBe(200);
  });
});
