import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import { inTransaction } from '../../server/src/db/transaction.js';
import type { DB } from '../../server/src/db/types.js';
import type { LiveEventInput } from '../../server/src/live/events.js';
import { announceLiveEvents, publishEvents } from '../../server/src/live/live.repository.js';

/** One dispatched Server-Sent Event. */
export interface SseEvent {
  id: string;
  event: string;
  data: string;
}

export interface SseOptions {
  cookie?: string;
  lastEventId?: string;
  headers?: Record<string, string>;
}

/**
 * A small EventSource-style client over node:http (parsing per the HTML SSE rules): records the
 * events, comments, the last event id and the retry hint; `waitFor` resolves when a condition holds.
 * It does not reconnect by itself: tests reconnect explicitly with `lastEventId`.
 */
export class SseClient {
  events: SseEvent[] = [];
  comments: string[] = [];
  lastEventId = '';
  retry: number | undefined;
  ended = false;
  status = 0;
  headers: http.IncomingHttpHeaders = {};
  body = '';
  /** Wall-clock (performance.now) receipt time per event id. */
  receivedAt = new Map<string, number>();
  private req?: http.ClientRequest;
  private buffer = '';
  private fields = { data: [] as string[], event: '', id: undefined as string | undefined };
  private waiters = new Set<() => void>();

  static connect(url: string, opts: SseOptions = {}): Promise<SseClient> {
    const c = new SseClient();
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { accept: 'text/event-stream', ...(opts.headers ?? {}) };
      if (opts.cookie) headers.cookie = opts.cookie;
      if (opts.lastEventId !== undefined) headers['last-event-id'] = opts.lastEventId;
      c.req = http.get(url, { headers, agent: false }, (res) => {
        c.status = res.statusCode ?? 0;
        c.headers = res.headers;
        res.setEncoding('utf8');
        const streaming = c.status === 200 && String(res.headers['content-type']).startsWith('text/event-stream');
        res.on('data', (chunk: string) => (streaming ? c.feed(chunk) : (c.body += chunk)));
        const end = () => {
          if (c.ended) return;
          c.ended = true;
          c.notify();
        };
        res.on('end', end);
        res.on('close', end);
        res.on('error', end);
        if (streaming) resolve(c);
        else res.on('end', () => resolve(c));
      });
      c.req.on('error', (err) => {
        if (c.status) {
          c.ended = true;
          c.notify();
        } else reject(err);
      });
    });
  }

  /** The JSON data of each event, with its id and type. */
  get parsed(): { id: string; event: string; data: Record<string, unknown> }[] {
    return this.events.map((e) => ({ id: e.id, event: e.event, data: JSON.parse(e.data) }));
  }

  get ids(): string[] {
    return this.events.map((e) => e.id);
  }

  private feed(chunk: string) {
    this.buffer += chunk;
    let m: RegExpExecArray | null;
    const lineEnd = /\r\n|\r|\n/;
    let changed = false;
    while ((m = lineEnd.exec(this.buffer))) {
      // A lone \r at the very end may be the first half of \r\n: wait for more.
      if (m[0] === '\r' && m.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      changed = this.line(line) || changed;
    }
    if (changed) this.notify();
  }

  private line(line: string): boolean {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) {
      this.comments.push(line.slice(1).trim());
      return true;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.fields.data.push(value);
    else if (field === 'event') this.fields.event = value;
    else if (field === 'id' && !value.includes('\0')) this.fields.id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retry = Number(value);
    return false;
  }

  private dispatch(): boolean {
    const { data, event, id } = this.fields;
    this.fields = { data: [], event: '', id: undefined };
    if (id !== undefined) this.lastEventId = id;
    if (data.length === 0) return id !== undefined;
    const ev = { id: this.lastEventId, event: event || 'message', data: data.join('\n') };
    this.events.push(ev);
    this.receivedAt.set(ev.id, performance.now());
    return true;
  }

  private notify() {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves once `check()` is true (re-checked on every event, comment or end); rejects after `ms`. */
  waitFor(check: () => boolean, what = 'condition', ms = 20_000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`SSE: gave up waiting for ${what}; events ${JSON.stringify(this.ids)}, ended ${this.ended}`));
      }, ms);
      const waiter = () => {
        if (!check()) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve();
      };
      this.waiters.add(waiter);
    });
  }

  /** Waits until the event with this id (or any later one) has arrived. */
  waitForId(id: string | number, ms?: number): Promise<void> {
    return this.waitFor(() => this.events.some((e) => Number(e.id) >= Number(id)), `event id ${id}`, ms);
  }

  /** Waits for the `: live` comment that ends the replay (or the stream's end). */
  waitForLive(ms?: number): Promise<void> {
    return this.waitFor(() => this.comments.includes('live') || this.ended, 'the end of the replay', ms);
  }

  waitForEnd(ms?: number): Promise<void> {
    return this.waitFor(() => this.ended, 'the stream to end', ms);
  }

  close() {
    this.req?.destroy();
    this.ended = true;
  }
}

/**
 * Publishes events in their own transaction (as a writer would, last statement before COMMIT), on
 * `db` or on a bare pool (a writer outside the API; the Kysely over it is left open with the pool).
 */
export async function publish(db: Kysely<DB> | pg.Pool, events: LiveEventInput[]): Promise<number[]> {
  const kysely = db instanceof pg.Pool ? new Kysely<DB>({ dialect: new PostgresDialect({ pool: db }) }) : db;
  const ids = await inTransaction(kysely, (trx) => publishEvents(trx, events));
  // A writer without a hub announces its events itself (live.repository.ts publishEvents).
  if (ids.length) await announceLiveEvents(kysely, Number(ids[ids.length - 1]));
  return ids.map(Number);
}

/** An incident.created-shaped event for `scopeCode` (a grid code). */
export function incidentEvent(scopeCode: string, n: number, entityId = crypto.randomUUID()): LiveEventInput {
  return {
    type: 'incident.created',
    entityId,
    scopeCode,
    data: { incidentId: entityId, status: 'reported', priority: 'normal', category: 'dispute', gridCode: scopeCode, lon: 121.48, lat: 31.23, reportedAt: new Date().toISOString(), n },
  };
}

const repoRoot = path.resolve(import.meta.dirname, '..', '..');

export interface ApiProcess {
  base: string;
  pid: number;
  child: ChildProcess;
  log(): string;
  exited: Promise<number | null>;
  /** SIGKILL: no shutdown at all. */
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the real server entry (server/src/main.ts) as a child process (so it can be killed with
 * SIGKILL) and resolves once it is ready. `env` chooses the database: DATABASE_URL for an external
 * one, DATA_DIR (and DATABASE_URL '') for the embedded one.
 */
export async function startApi(env: Record<string, string>): Promise<ApiProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts'], {
    cwd: repoRoot,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', WEB_DIST: '/nonexistent', SEED_DEMO: 'false', DEMO_SIMULATE: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const base = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      const m = /ready in .* http:\/\/localhost:(\d+)\//.exec(log);
      if (m) resolve(`http://127.0.0.1:${m[1]}`);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => reject(new Error(`server exited with ${code} before it was ready:\n${log}`)));
  });
  return {
    base,
    pid: child.pid!,
    child,
    log: () => log,
    exited,
    async kill9() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Signs in over HTTP: the Cookie header value. */
export async function signInHttp(base: string, username: string, password: string): Promise<string> {
  const res = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
  return res.headers.getSetCookie()[0].split(';')[0];
}

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** POST /api/incidents at a point of the small district; the status and (on 201) the incident id. */
export async function postIncident(base: string, cookie: string, n: number, lon = 121.4812, lat = 31.2345): Promise<{ status: number; id?: string; body: string }> {
  const res = await fetch(`${base}/api/incidents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie },
    body: JSON.stringify({ category: 'dispute', priority: 'normal', description: `live test ${n}`, location: { type: 'Point', coordinates: [lon, lat] } }),
  });
  const body = await res.text();
  return { status: res.status, id: res.status === 201 ? (JSON.parse(body) as { id: string }).id : undefined, body };
}

/** The entity ids of the incident.created events a client received, in order. */
export function createdIds(c: SseClient): string[] {
  return c.parsed.filter((e) => e.event === 'incident.created').map((e) => String(e.data.entityId));
}
