import { spawn, type ChildProcess } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import crypto from 'node:crypto';
import { openDatabase } from '../../server/src/db/database.js';
import { migrateToLatest } from '../../server/src/db/migrate.js';
import { createUser } from '../../server/src/modules/users/users.service.js';
import { inTransaction } from '../../server/src/db/transaction.js';
import { announceLiveEvents, publishEvents } from '../../server/src/live/live.repository.js';
import { startServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/database.js';
import { SseClient, incidentEvent } from '../live/support.js';
import { fmt, percentile, printTable, type Row } from './stats.js';
import { ensureDatabase } from './database.js';

/** A bare Node SSE server (no framework, no database): holds the responses and writes what it is sent to all. */
const BARE_SERVER = `
const http = require('node:http');
const open = new Set();
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  res.write('retry: 3000\\n\\n: live\\n\\n');
  open.add(res);
  req.on('close', () => open.delete(res));
});
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('message', (m) => {
  if (m.frame) for (const res of open) res.write(m.frame);
  if (m.exit) { for (const res of open) res.end(); server.close(); process.disconnect(); }
});`;


/** Opens `n` streams, a few at a time (a burst of 1,000 connects would only measure the accept queue). */
async function connectAll(url: string, n: number, cookie?: string): Promise<SseClient[]> {
  const clients: SseClient[] = [];
  for (let i = 0; i < n; i += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => SseClient.connect(url, { cookie })));
    clients.push(...batch);
  }
  for (const c of clients) {
    if (c.status !== 200) throw new Error(`stream refused: ${c.status} ${c.body}`);
    await c.waitForLive(60_000);
  }
  return clients;
}

/** Milliseconds from `t0` until each client received the event with `id`. */
async function latencies(clients: SseClient[], id: string, t0: number): Promise<number[]> {
  await Promise.all(clients.map((c) => c.waitFor(() => c.receivedAt.has(id), `event ${id}`, 60_000)));
  return clients.map((c) => c.receivedAt.get(id)! - t0);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * SSE fan-out: `clients` streams on one API process (external database, NOTIFY path: the event is
 * committed by another connection, as by another API process), one event at a time, latency from
 * just before COMMIT to receipt at every client; beside a bare Node http SSE loop writing the same
 * frame to the same number of clients (from the IPC message to receipt). Clients run in this
 * process, both servers in their own.
 */
export async function benchSse(databaseUrl: string, opts: { clients?: number; rounds?: number } = {}): Promise<Row[]> {
  const n = opts.clients ?? 1000;
  const rounds = opts.rounds ?? 20;
  await ensureDatabase(databaseUrl);
  const database = await openDatabase({ databaseUrl, dataDir: '', poolSize: 2 });
  await migrateToLatest(database.db);
  const username = `bench-sse-${crypto.randomBytes(4).toString('hex')}`;
  const password = crypto.randomBytes(16).toString('base64url');
  await createUser(database.db, { username, password, role: 'admin', areaCode: '*' });

  const server = await startServerProcess(tempDir('bench-sse'), {
    DATABASE_URL: databaseUrl, SEED_DEMO: 'false', LOG_LEVEL: 'warn',
    LIVE_MAX_STREAMS_PER_USER: String(n + 10), LIVE_MAX_STREAMS: String(n + 10), LIVE_POLL_MS: '3600000',
  });
  const ours: number[] = [];
  const bare: number[] = [];
  let frame = '';
  let connectMs = 0;
  let clients: SseClient[] = [];
  try {
    const login = await fetch(`${server.base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
    if (!login.ok) throw new Error(`bench sign-in failed: ${login.status}`);
    const cookie = login.headers.getSetCookie()[0].split(';')[0];
    const t = performance.now();
    clients = await connectAll(`${server.base}/api/live`, n, cookie);
    connectMs = performance.now() - t;
    for (let r = 0; r < rounds + 2; r++) {
      let id = '';
      let t0 = 0;
      await inTransaction(database.db, async (trx) => {
        [id] = await publishEvents(trx, [incidentEvent('310101002001001', r)]);
        // Just before COMMIT.
        t0 = performance.now();
      });
      // A writer outside the API announces its events itself (the API's own writers: their hub).
      await announceLiveEvents(database.db, Number(id));
      const ms = await latencies(clients, id, t0);
      if (r >= 2) ours.push(...ms); // the first two warm up
      await sleep(50);
    }
    const last = clients[0].events[clients[0].events.length - 1];
    frame = `id: ${last.id}\nevent: ${last.event}\ndata: ${last.data}\n\n`;
  } finally {
    for (const c of clients) c.close();
    await server.stop();
    await database.close();
  }

  const child: ChildProcess = spawn(process.execPath, ['-e', BARE_SERVER], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m) => resolve((m as { port: number }).port));
      child.once('exit', (code) => reject(new Error(`bare SSE server exited with ${code}`)));
    });
    clients = await connectAll(`http://127.0.0.1:${port}/`, n);
    for (let r = 0; r < rounds + 2; r++) {
      const id = String(1_000_000 + r);
      const t0 = performance.now();
      child.send({ frame: frame.replace(/^id: \d+/, `id: ${id}`) });
      const ms = await latencies(clients, id, t0);
      if (r >= 2) bare.push(...ms);
      await sleep(50);
    }
  } finally {
    for (const c of clients) c.close();
    if (child.connected) child.send({ exit: true });
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  }

  const row = (p: number): Row => ({
    what: `SSE fan-out to ${n} clients, delivery p${p} (${rounds} events)`,
    ours: `${fmt(percentile(ours, p))} ms`,
    baseline: `bare Node SSE loop ${fmt(percentile(bare, p))} ms`,
    ratio: fmt(percentile(ours, p) / percentile(bare, p), 2),
    note: p === 50 ? 'ours: commit → NOTIFY → fetch → write; bare: IPC → write' : '',
  });
  return [
    row(50),
    row(95),
    { what: `open ${n} streams (50 at a time)`, ours: `${fmt(connectMs / 1000, 2)} s`, baseline: '', ratio: '', note: 'sign-in check + position per stream' },
  ];
}

// `pnpm tsx tests/bench/sse.bench.ts`: this benchmark alone.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const url = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/wangge_bench_sse';
  benchSse(url, { clients: Number(process.env.BENCH_SSE_CLIENTS ?? 1000) })
    .then((rows) => printTable('SSE fan-out', rows))
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
