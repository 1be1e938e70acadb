/**
 * The users of live sessions, kept in memory by each API process so that a request does not read
 * its session from the database (auth/sessions.ts `sessionUser` reads through it).
 *
 * Correctness does not rest on the entries' short lifetime but on invalidation: migration 0009's
 * triggers NOTIFY `wangge_sessions` ('s:<session id>', 'u:<user id>', '*') when a session ends or
 * moves back in time, or an account changes what its sessions show (disabled, role, area,
 * department, password, name, responder record). Every connection of the API's pool LISTENs, and
 * a connection that commits such a change receives its own NOTIFY before the COMMIT answers, so a
 * change made by this process (sign-out, user management) holds for its very next request. Changes
 * made by other processes (another API process, the CLI, psql) arrive on a dedicated LISTEN
 * connection (external database) within milliseconds; while that connection is down the cache is
 * emptied and bypassed (fail safe), and emptied again once it is back (it may have missed some).
 * The embedded database (PGlite behind pglite-socket) is one session: a NOTIFY is delivered to the
 * connection that committed it — the pool's, for this process's changes; the CLI's, for a `user`
 * command run through the database's socket while the server owns it, which the owner hears from
 * the socket server itself (db/embedded.ts onNotification).
 *
 * A fill that raced an invalidation is not stored (a generation counter), idle and absolute expiry
 * are kept as deadlines on the process clock, and each entry lives at most `ttlMs` (a safety net).
 */
import pg from 'pg';
import type { FastifyBaseLogger } from 'fastify';
import type { Database, DatabaseMode } from '../db/database.js';
import { PgListener } from '../db/listener.js';
import { SESSION_CHANNEL, listenForSessionChanges, type FoundSession, type SessionUser } from './auth.repository.js';

export interface CachedSession {
  user: SessionUser;
  /** Process-clock milliseconds (`now()`): the session's absolute end, its idle end, its last touch, the entry's own end. */
  absoluteEnd: number;
  idleEnd: number;
  touchedAt: number;
  validUntil: number;
}

export interface SessionCacheOptions {
  /** Idle limit of the session policy, in seconds. */
  idleSeconds: number;
  /** Longest time an entry is trusted without reading the database again (safety net only). */
  ttlMs?: number;
  maxEntries?: number;
  now?: () => number;
}

export class SessionCache {
  private readonly entries = new Map<string, CachedSession>();
  private enabledNow = false;
  /** Bumped by every invalidation: a fill that started before one is not stored. */
  private gen = 0;
  readonly ttlMs: number;
  readonly idleMs: number;
  readonly maxEntries: number;
  readonly now: () => number;
  hits = 0;
  misses = 0;

  constructor(opts: SessionCacheOptions) {
    this.ttlMs = opts.ttlMs ?? 5000;
    this.idleMs = opts.idleSeconds * 1000;
    this.maxEntries = opts.maxEntries ?? 50_000;
    this.now = opts.now ?? (() => performance.now());
  }

  /** False until invalidation is known to work (and whenever it is not): then nothing is cached. */
  get enabled(): boolean {
    return this.enabledNow;
  }

  get size(): number {
    return this.entries.size;
  }

  get generation(): number {
    return this.gen;
  }

  /** Invalidation works (again): start empty, since changes may have been missed meanwhile. */
  enable(): void {
    this.clear();
    this.enabledNow = true;
  }

  /** Invalidation stopped working: drop everything and cache nothing until enable(). */
  disable(): void {
    this.enabledNow = false;
    this.clear();
  }

  clear(): void {
    this.gen++;
    this.entries.clear();
  }

  /** The live entry of session `id`, or undefined (an entry past any of its deadlines is dropped). */
  lookup(id: string): CachedSession | undefined {
    const entry = this.entries.get(id);
    if (!entry) {
      this.misses++;
      return undefined;
    }
    const now = this.now();
    if (now >= entry.validUntil || now >= entry.absoluteEnd || now >= entry.idleEnd || !this.enabledNow) {
      this.entries.delete(id);
      this.misses++;
      return undefined;
    }
    this.hits++;
    return entry;
  }

  /**
   * Keeps what the database said of session `id`, read after `generation` was taken; `touched`
   * when its last_seen_at was just set to now.
   */
  store(id: string, found: FoundSession, generation: number, touched: boolean): void {
    if (!this.enabledNow || generation !== this.gen) return;
    const now = this.now();
    const touchedAt = touched ? now : now - found.seenSecondsAgo * 1000;
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.delete(id);
    this.entries.set(id, {
      user: Object.freeze({ ...found.user }),
      absoluteEnd: now + found.expiresInSeconds * 1000,
      idleEnd: touchedAt + this.idleMs,
      touchedAt,
      validUntil: now + this.ttlMs,
    });
  }

  /** Records a touch of a cached session (its idle clock restarts). */
  touched(entry: CachedSession): void {
    entry.touchedAt = this.now();
    entry.idleEnd = entry.touchedAt + this.idleMs;
  }

  drop(id: string): void {
    this.gen++;
    this.entries.delete(id);
  }

  /** Applies one NOTIFY payload of migration 0009: 's:<session id>', 'u:<user id>' or '*' (anything else: everything). */
  invalidate(payload: string): void {
    this.gen++;
    if (payload.startsWith('s:')) {
      this.entries.delete(payload.slice(2));
    } else if (payload.startsWith('u:')) {
      const userId = payload.slice(2);
      for (const [id, entry] of this.entries) if (entry.user.id === userId) this.entries.delete(id);
    } else {
      this.entries.clear();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Hearing the NOTIFYs

/**
 * One per pool: every connection of the pool LISTENs, before its first use, and hands the payloads
 * to the subscribers (the session caches of the apps served by this pool). A new connection
 * LISTENs in the pool's `onConnect` hook (pg-pool runs it before handing the connection out); one
 * opened before this existed, when it is next acquired (it is idle then, so the LISTEN goes first).
 */
class PoolListeners {
  readonly subscribers = new Set<(payload: string) => void>();
  private readonly adopted = new WeakMap<pg.ClientBase, Promise<boolean>>();
  /** Called after a connection's LISTEN succeeded. */
  readonly onListening = new Set<() => void>();

  constructor(pool: pg.Pool) {
    const options = pool.options as pg.PoolConfig & { onConnect?: (client: pg.PoolClient) => Promise<void> | void };
    const previous = options.onConnect;
    options.onConnect = async (client) => {
      await previous?.(client);
      await this.adopt(client);
    };
    pool.on('acquire', (client) => void this.adopt(client));
  }

  /** Subscribes `client`; resolves true once it listens (false when its LISTEN failed). */
  adopt(client: pg.ClientBase): Promise<boolean> {
    let listening = this.adopted.get(client);
    if (!listening) {
      client.on('notification', (msg) => {
        if (msg.channel === SESSION_CHANNEL) for (const deliver of this.subscribers) deliver(msg.payload ?? '*');
      });
      listening = listenForSessionChanges(client).then(
        () => {
          for (const f of this.onListening) f();
          return true;
        },
        () => false,
      );
      this.adopted.set(client, listening);
    }
    return listening;
  }
}

const poolListeners = new WeakMap<pg.Pool, PoolListeners>();

function listenersOf(pool: pg.Pool): PoolListeners {
  let listeners = poolListeners.get(pool);
  if (!listeners) poolListeners.set(pool, (listeners = new PoolListeners(pool)));
  return listeners;
}

export interface SessionInvalidationOptions {
  pool: pg.Pool;
  mode: DatabaseMode;
  /** The embedded database's every NOTIFY, whoever committed it (the CLI through the socket). */
  notifications?: Database['onNotification'];
  cache: SessionCache;
  log: FastifyBaseLogger;
}

/**
 * Keeps `cache` in step with the database (see the top of this file): subscribes it to the pool's
 * connections and, on an external database, holds the process's own LISTEN connection (reconnected
 * with backoff; the cache is off while it is down).
 */
export class SessionInvalidation {
  private readonly listeners: PoolListeners;
  private readonly deliver = (payload: string) => this.opts.cache.invalidate(payload);
  private readonly poolListening = () => {
    if (this.opts.mode === 'embedded' && !this.closed && !this.opts.cache.enabled) this.opts.cache.enable();
  };
  private listener: PgListener | undefined;
  private unsubscribe: (() => void) | undefined;
  private closed = false;

  constructor(private readonly opts: SessionInvalidationOptions) {
    this.listeners = listenersOf(opts.pool);
  }

  /** True while invalidations from other processes are heard (external database: the LISTEN connection is up). */
  get listening(): boolean {
    return this.opts.mode === 'embedded' ? this.opts.cache.enabled : (this.listener?.listening ?? false);
  }

  /** Times the own LISTEN connection has been (re)established. */
  get listenCount(): number {
    return this.listener?.listenCount ?? 0;
  }

  async start(): Promise<void> {
    this.listeners.subscribers.add(this.deliver);
    if (this.opts.mode === 'embedded') {
      // A change committed by another process through the database's socket (the CLI) notifies that
      // process's connection; the database's owner hears it here.
      this.unsubscribe = this.opts.notifications?.((channel, payload) => {
        if (channel === SESSION_CHANNEL) this.deliver(payload || '*');
      });
      // One session: a LISTEN from any connection (now, or a later one) enables the cache.
      this.listeners.onListening.add(this.poolListening);
      const client = await this.opts.pool.connect().catch(() => undefined);
      if (client) {
        const listening = await this.listeners.adopt(client);
        client.release();
        if (listening) this.poolListening();
      }
      return;
    }
    if (this.closed) return;
    this.listener = new PgListener({
      pool: this.opts.pool, name: 'wangge-sessions', what: 'sessions (session cache off meanwhile)', log: this.opts.log,
      channel: SESSION_CHANNEL, listen: listenForSessionChanges,
      onNotification: (payload) => this.deliver(payload ?? '*'),
      // Changes may have been missed while it was down: start empty.
      onUp: () => this.opts.cache.enable(),
      onDown: () => this.opts.cache.disable(),
    });
    await this.listener.start();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.opts.cache.disable();
    this.listeners.subscribers.delete(this.deliver);
    this.listeners.onListening.delete(this.poolListening);
    this.unsubscribe?.();
    await this.listener?.close();
  }
}
