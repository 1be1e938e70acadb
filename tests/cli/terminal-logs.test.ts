/**
 * What `pnpm start` shows (server/src/logging.ts, main.ts): JSON lines when stdout is not a terminal
 * (or LOG_FORMAT=json), short human lines on a terminal (or LOG_FORMAT=pretty) with requests at debug;
 * a request the client gives up on is one line at the request level, never a warning or an error
 * with a stack; SIGINT closes everything and exits 0 with one line (a second one exits at once); the
 * embedded demo's accounts come last, framed, with the file they are kept in. Real server processes:
 * on the external database (TEST_DATABASE_URL), and the embedded demo's first start in its own folder.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, tempDir, usesExternalDatabase, type TestDatabase } from '../support/database.js';
import { addUser } from '../support/auth.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { SseClient, signInHttp } from '../live/support.js';
import { prettyLogLine, resolveLogFormat } from '../../server/src/logging.js';
import { demoAccountsFrame } from '../../server/src/seed.js';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const servers: ServerProcess[] = [];
const terminals: ChildProcess[] = [];
const dirs: string[] = [];

/** Ends whatever a test left running (a failed one), before its database is dropped. */
async function endProcesses() {
  for (const t of terminals) if (t.exitCode === null && t.signalCode === null) t.kill('SIGKILL');
  await Promise.all(servers.map((s) => s.kill9()));
}

afterAll(async () => {
  await endProcesses();
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Non-empty output lines, without carriage returns and colours. */
const linesOf = (text: string) =>
  text
    .replace(/\x1b\[[0-9;]*m/g, '')
    .replace(/\r/g, '')
    .split('\n')
    .filter((l) => l.trim() !== '');

interface Entry {
  level: number;
  msg: string;
  reqId?: string;
  res?: { statusCode?: number };
  [key: string]: unknown;
}
const jsonEntries = (text: string): Entry[] => linesOf(text).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Entry);

/**
 * A sign-in whose body never arrives whole: the headers and part of the JSON body, then the socket
 * is closed after `abortAfterMs` (a cancelled upload), or left open (a stalled one) until `destroy()`.
 */
function partialUpload(base: string, abortAfterMs?: number): { destroy(): void } {
  const url = new URL('/api/auth/login', base);
  const req = http.request(url, {
    method: 'POST',
    agent: false,
    headers: { 'content-type': 'application/json', 'content-length': '100000', origin: url.origin },
  });
  req.on('error', () => undefined);
  req.write('{"username":"someone","password":"');
  if (abortAfterMs !== undefined) setTimeout(() => req.destroy(), abortAfterMs);
  return { destroy: () => req.destroy() };
}

/** Waits up to `ms` for the process to exit: its exit code and signal, and how long it took; undefined if it did not. */
async function exitWithin(server: ServerProcess, ms: number) {
  const t0 = performance.now();
  const result = await Promise.race([server.exited, sleep(ms).then(() => undefined)]);
  return result && { ...result, ms: performance.now() - t0 };
}

const hasScript = spawnSync('script', ['--version']).status === 0;
if (!hasScript) console.log('[tests/cli/terminal-logs] terminal case skipped: no `script` (util-linux) to give the server a terminal');

const externalSkip = usesExternalDatabase ? undefined : 'runs server processes on the external database (set TEST_DATABASE_URL)';
if (externalSkip) console.log(`[tests/cli/terminal-logs] server-process cases skipped: ${externalSkip}`);

describe.skipIf(Boolean(externalSkip))('the server on a terminal and off it (external database)', { timeout: 120_000 }, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await endProcesses();
    await database?.drop();
  });

  async function start(env: Record<string, string>): Promise<ServerProcess> {
    const dir = tempDir('terminal-logs'); // unused on the external database, but startServerProcess names one
    dirs.push(dir);
    const server = await startServerProcess(dir, { DATABASE_URL: database.app.url, WARM_ROUTING_GRAPH: 'false', ...env });
    servers.push(server);
    return server;
  }

  /** The server under a pseudo-terminal (util-linux `script`), as `pnpm start` runs in a terminal window. */
  async function startInTerminal(env: Record<string, string>): Promise<{ output: () => string; stop: () => Promise<void> }> {
    const child = spawn('script', ['-qfec', `${process.execPath} --import tsx server/src/main.ts`, '/dev/null'], {
      cwd: repoRoot,
      env: {
        ...process.env, DATABASE_URL: database.app.url, PORT: '0', HOST: '127.0.0.1', WEB_DIST: '/nonexistent', WARM_ROUTING_GRAPH: 'false',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    terminals.push(child);
    let output = '';
    child.stdout!.on('data', (c) => (output += c));
    child.stderr!.on('data', (c) => (output += c));
    await waitFor(() => /ready in .* http:\/\/localhost:\d+\//.test(output), `the server on a terminal to be ready:\n${output}`, 60_000);
    await sleep(300);
    const exited = new Promise((r) => child.once('exit', r));
    return {
      output: () => output,
      // `script` ends the server when it is told to end.
      async stop() {
        child.kill('SIGTERM');
        await exited;
      },
    };
  }

  it('not a terminal: JSON lines with requests at info; a cancelled upload is one info line, no warning, no stack; SIGTERM exits 0', async () => {
    const server = await start({ LOG_FORMAT: '', LOG_LEVEL: 'info' });
    expect((await fetch(`${server.base}/api/health`)).status).toBe(200);
    partialUpload(server.base, 200);
    await waitFor(() => server.log().includes('request aborted by the client'), 'the aborted request\'s line');
    await sleep(300);

    const log = server.log();
    // Every line is the logger's JSON or one of the start's own [wangge] lines.
    expect(linesOf(log).filter((l) => !l.startsWith('{') && !l.startsWith('[wangge] '))).toEqual([]);
    const entries = jsonEntries(log);
    expect(entries.find((e) => e.msg === 'request completed' && e.res?.statusCode === 200)).toMatchObject({ level: 30 });
    expect(entries.filter((e) => e.msg === 'request aborted by the client')).toEqual([expect.objectContaining({ level: 30 })]);
    // Nothing of any request at warning level or above (the one warning is the missing web build's, at start).
    expect(entries.filter((e) => e.level >= 40 && e.reqId !== undefined)).toEqual([]);
    expect(log).not.toMatch(/stack|database unavailable|request errored/);

    process.kill(server.pid, 'SIGTERM');
    expect(await exitWithin(server, 10_000)).toMatchObject({ code: 0, signal: null });
    expect(linesOf(server.log()).at(-1)).toMatch(/^\[wangge\] SIGTERM: shutting down/);
  });

  it('LOG_FORMAT=pretty: one short human line per warning, no request lines at the default level; LOG_LEVEL=debug shows each request as one line', async () => {
    const quiet = await start({ LOG_FORMAT: 'pretty', LOG_LEVEL: 'info' });
    expect((await fetch(`${quiet.base}/api/health`)).status).toBe(200);
    expect((await fetch(`${quiet.base}/api/nothing-here`)).status).toBe(404);
    partialUpload(quiet.base, 200);
    await sleep(800);
    const lines = linesOf(quiet.log());
    expect(lines.filter((l) => l.startsWith('{'))).toEqual([]);
    expect(quiet.log()).not.toMatch(/request completed|incoming request|request aborted|Server listening/);
    // The start's one warning: time, level, message on one line.
    expect(lines).toContainEqual(expect.stringMatching(/^\[\d\d:\d\d:\d\d\] WARN: web app not built \(\/nonexistent\/index\.html missing\): run "pnpm build"$/));
    expect(lines.filter((l) => /\] (WARN|ERROR|FATAL):/.test(l) && !l.includes('web app not built'))).toEqual([]);
    await quiet.stop();

    const debug = await start({ LOG_FORMAT: 'pretty', LOG_LEVEL: 'debug' });
    expect((await fetch(`${debug.base}/api/health`)).status).toBe(200);
    expect((await fetch(`${debug.base}/api/nothing-here`)).status).toBe(404);
    partialUpload(debug.base, 200);
    await waitFor(() => debug.log().includes('request aborted by the client'), 'the aborted request\'s line');
    const debugLines = linesOf(debug.log());
    expect(debugLines).toContainEqual(expect.stringMatching(/^\[\d\d:\d\d:\d\d\] DEBUG: request completed — GET \/api\/health 200 \(\d+ ms\)$/));
    expect(debugLines).toContainEqual(expect.stringMatching(/^\[\d\d:\d\d:\d\d\] DEBUG: request completed — GET \/api\/nothing-here 404 \(\d+ ms\)$/));
    expect(debugLines).toContainEqual(expect.stringMatching(/^\[\d\d:\d\d:\d\d\] DEBUG: request aborted by the client — POST \/api\/auth\/login$/));
    expect(debugLines.filter((l) => l.startsWith('{'))).toEqual([]);
    expect(debugLines.filter((l) => /\] (WARN|ERROR|FATAL):/.test(l) && !l.includes('web app not built'))).toEqual([]);
    expect(debug.log()).not.toMatch(/incoming request|^\s+at /m);
  });

  it.skipIf(!hasScript)('on a terminal the default is pretty; LOG_FORMAT=json keeps JSON there', async () => {
    const pretty = await startInTerminal({ LOG_FORMAT: '', LOG_LEVEL: 'info' });
    const lines = linesOf(pretty.output());
    expect(lines).toContainEqual(expect.stringMatching(/^\[\d\d:\d\d:\d\d\] WARN: web app not built/));
    expect(lines.filter((l) => l.startsWith('{'))).toEqual([]);
    await pretty.stop();

    const json = await startInTerminal({ LOG_FORMAT: 'json', LOG_LEVEL: 'info' });
    expect(jsonEntries(json.output())).toContainEqual(expect.objectContaining({ level: 40, msg: expect.stringMatching(/^web app not built/) }));
    await json.stop();
  });

  it('SIGINT with a live stream and a stalled upload open: one line, everything closed, exit 0 within seconds', async () => {
    const server = await start({ LOG_FORMAT: 'pretty', LOG_LEVEL: 'info' });
    const admin = await addUser(database.pool, 'admin', '*');
    const cookie = await signInHttp(server.base, admin.username, admin.password);
    const live = await SseClient.connect(`${server.base}/api/live`, { cookie });
    expect(live.status).toBe(200);
    await live.waitForLive();
    const stalled = partialUpload(server.base);
    await sleep(300);

    const before = server.log().length;
    process.kill(server.pid, 'SIGINT');
    const exit = await exitWithin(server, 10_000);
    stalled.destroy();
    expect(exit, 'the server did not exit within 10 s of SIGINT').toMatchObject({ code: 0, signal: null });
    expect(exit!.ms).toBeLessThan(8000);
    expect(linesOf(server.log().slice(before))).toEqual(['[wangge] SIGINT: shutting down (Ctrl-C again to exit at once)']);
    await live.waitForEnd();
  });

  it('a second SIGINT while it closes exits at once (130), saying so', async () => {
    const server = await start({ LOG_FORMAT: 'pretty', LOG_LEVEL: 'info' });
    const stalled = partialUpload(server.base); // keeps the close waiting
    await sleep(300);
    const before = server.log().length;
    process.kill(server.pid, 'SIGINT');
    await sleep(800);
    process.kill(server.pid, 'SIGINT');
    const exit = await exitWithin(server, 5000);
    stalled.destroy();
    expect(exit).toMatchObject({ code: 130, signal: null });
    expect(exit!.ms).toBeLessThan(1500);
    expect(linesOf(server.log().slice(before))).toEqual([
      '[wangge] SIGINT: shutting down (Ctrl-C again to exit at once)',
      '[wangge] SIGINT again: exiting without waiting',
    ]);
  });
});

describe('the embedded demo: its accounts are the last thing printed, framed, with their file', { timeout: 300_000 }, () => {
  it('first start: the accounts and the file after "ready"; they sign in; a later start names the file only', async () => {
    const dataDir = tempDir('terminal-logs-demo');
    const file = path.join(dataDir, 'demo-users.txt');
    try {
      // The demo as `pnpm start` runs it (seeded, simulated), the logger at its default level.
      const first = await startServerProcess(dataDir, { LOG_FORMAT: '', LOG_LEVEL: 'info', WARM_ROUTING_GRAPH: 'false' });
      servers.push(first);
      await sleep(1500); // whatever else would still be printed
      const lines = linesOf(first.log());
      const top = lines.findIndex((l) => l.startsWith('┌'));
      expect(top, first.log()).toBeGreaterThan(0);
      expect(lines[top - 1]).toMatch(/^\[wangge\] ready in .* — open http:\/\/localhost:\d+\/$/);
      const frame = lines.slice(top);
      expect(frame.at(-1)).toMatch(/^└─+┘$/); // the frame is the last output
      expect(frame.every((l) => l.length === frame[0].length)).toBe(true);
      expect(frame.join('\n')).toContain(`Also in ${file} (keep it private).`);
      const accounts = frame.map((l) => /^│ (\w+)\s+(\S+)\s+role=(\w+)/.exec(l)).filter((m) => m !== null);
      expect(accounts.map((m) => m![1])).toEqual(['admin', 'commander', 'planner', 'department', 'viewer', 'gridworker']);
      // The password shown is the file's, and it signs in.
      const admin = accounts[0]![2];
      expect(fs.readFileSync(file, 'utf8')).toContain(admin);
      expect((await signInHttp(first.base, 'admin', admin)).startsWith('wangge_session=')).toBe(true);
      await first.stop();

      const later = await startServerProcess(dataDir, { LOG_FORMAT: '', LOG_LEVEL: 'info', WARM_ROUTING_GRAPH: 'false' });
      servers.push(later);
      await sleep(1500);
      const again = linesOf(later.log());
      expect(again.at(-1)).toMatch(/^└─+┘$/);
      expect(again.at(-2)).toBe(`│ ${file.padEnd(again.at(-2)!.length - 4)} │`);
      expect(later.log()).not.toContain(admin);
      await later.stop();
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('the frame: one width, the accounts, the file and the address', () => {
    const dir = tempDir('demo-frame');
    const file = path.join(dir, 'demo-users.txt');
    fs.writeFileSync(file, '# header\n\nadmin        pw1  role=admin area=*\nviewer       pw2  role=viewer area=310199001\n');
    try {
      const frame = demoAccountsFrame(file, { created: true, url: 'http://localhost:3000/' }).split('\n');
      expect(new Set(frame.map((l) => l.length)).size).toBe(1);
      expect(frame[0]).toMatch(/^┌─ wangge demo accounts ─+┐$/);
      expect(frame.slice(1, 3)).toEqual([expect.stringMatching(/^│ admin {8}pw1 {2}role=admin area=\* +│$/), expect.stringMatching(/^│ viewer +pw2/)]);
      expect(frame.join('\n')).toContain(file);
      expect(frame.join('\n')).toContain('http://localhost:3000/');
      expect(frame.join('\n')).not.toContain('# header');
      const later = demoAccountsFrame(file, { created: false, url: 'http://localhost:3000/' });
      expect(later).toContain(file);
      expect(later).not.toContain('pw1');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the pretty line', () => {
  const entry = {
    level: 50, time: Date.UTC(2026, 0, 1, 8, 30, 5), pid: 1, hostname: 'h', reqId: 'req-7', method: 'GET', url: '/api/incidents?limit=5',
    statusCode: 500, err: { type: 'TypeError', message: 'x is undefined', stack: 'TypeError: x is undefined\n    at handler (incidents.routes.ts:10:5)' },
    msg: 'unhandled error',
  };

  it('one line: time, level, message, the request (method, URL, status) and the error in short; the stack only from debug on', () => {
    const line = prettyLogLine({ level: 'info', colorize: false })(JSON.stringify(entry));
    expect(line).toMatch(/^\[\d\d:\d\d:05\] ERROR: unhandled error — GET \/api\/incidents\?limit=5 500: TypeError x is undefined\n$/);
    const debug = prettyLogLine({ level: 'debug', colorize: false })(JSON.stringify(entry));
    expect(debug.split('\n')).toEqual([expect.stringMatching(/ERROR: unhandled error/), '    at handler (incidents.routes.ts:10:5)', '']);
    // An error logged as itself (app.log.error(err)): its fields at the top, still one line.
    const own = prettyLogLine({ level: 'info', colorize: false })({ level: 50, time: entry.time, type: 'Error', msg: 'boom', stack: 'Error: boom\n    at x' });
    expect(own).toMatch(/^\[\d\d:\d\d:05\] ERROR: boom\n$/);
  });

  it('LOG_FORMAT auto: pretty on a terminal, JSON otherwise', () => {
    expect([resolveLogFormat('auto', true), resolveLogFormat('auto', false), resolveLogFormat('json', true), resolveLogFormat('pretty', false)]).toEqual([
      'pretty', 'json', 'json', 'pretty',
    ]);
  });
});
