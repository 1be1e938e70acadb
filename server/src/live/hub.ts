import pg from 'pg';
import type { Kysely } from 'kysely';
import type { ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import type { DatabaseMode } from '../db/database.js';
import { PgListener } from '../db/listener.js';
import type { DB } from '../db/types.js';
import type { LiveBus } from './bus.js';
import { LIVE_CHANNEL } from './events.js';
import {
  announceLiveEvents, listenForLiveEvents, liveEventBounds, liveEventsAfter, liveSessions, newestLiveEventId, recentLiveEvents, replayLiveEvents,
  type LiveSession,
} from './live.repository.js';
import type { LiveSettings } from './settings.js';
import { eventFrame, LiveStream, type StreamOwner } from './stream.js';

/** Rows fetched per round trip by the hub. */
const PAGE = 500;
/** Events held back behind a running transaction (see pump): look again after this long, doubling up to HELD_MAX_MS. */
const HELD_MIN_MS = 10;
const HELD_MAX_MS = 1000;
/**
 * Under a stream of writes, fetches start at most this often (wakes in between wait and coalesce):
 * one round trip per fetch instead of one or two per write (a commit's own wake and its NOTIFY),
 * for a delay no one watching a map can see. An isolated wake fetches at once.
 */
const MIN_FETCH_GAP_MS = 10;

/** What a new stream's opening history holds: what happened to incidents (a feed), not positions. */
const RECENT_TYPES = ['incident.created', 'incident.updated'] as const;

export interface LiveHubOptions {
  /** The application's database (all the hub's reads and the pruning). */
  db: Kysely<DB>;
  /** The pool's connection settings open the hub's own LISTEN connection. */
  pool: pg.Pool;
  mode: DatabaseMode;
  settings: LiveSettings;
  log: FastifyBaseLogger;
  /** Sessions idle longer than this are over (the auth plugin's policy). */
  sessionIdleSeconds: number;
}

/**
 * The live hub of one API process. Event ids follow their writers' transaction ids, and a read
 * returns only the events whose transactions have all ended — a prefix of the id order that no
 * later commit can add to (live.repository.ts xactHorizon) — so the hub keeps the last id it has
 * broadcast and, on every wake, fetches the final events `id > lastId` in order and offers each
 * event to every stream, which sends what its owner may see (single flight; wakes during a fetch
 * coalesce into one more, started at most every MIN_FETCH_GAP_MS). Events behind a transaction
 * still running are fetched again on a short timer (their own commit's NOTIFY may have come before
 * the older transaction ended).
 * Wakes come from the local writers (`app.live.wake()` after commit), from PostgreSQL NOTIFY on an
 * external database (one dedicated LISTEN connection per process, reconnected with backoff, then a
 * catch-up from lastId), and from a slow safety poll. Writers do not NOTIFY (live.repository.ts
 * publishEvents: a notifying commit takes a database-wide lock): after a fetch round that followed
 * local writes, the hub announces them to the other processes' hubs with one NOTIFY. Heartbeats re-check the streams' sessions.
 */
export class LiveHub implements LiveBus {
  readonly settings: LiveSettings;
  private lastId = -1;
  private readonly streams = new Set<LiveStream>();
  private readonly perUser = new Map<string, number>();
  private pumping: Promise<void> | null = null;
  /** Local writers committed events since the last fetch round began: announce them to the other processes. */
  private written = false;
  private again = false;
  private failing = false;
  private listener: PgListener | undefined;
  private heldTimer: NodeJS.Timeout | undefined;
  private gapTimer: NodeJS.Timeout | undefined;
  private pumpStartedAt = 0;
  private heldDelay = HELD_MIN_MS;
  private timers: NodeJS.Timeout[] = [];
  private closed = false;
  private readonly db: Kysely<DB>;
  /** Times the LISTEN connection has been (re)established; for health and tests. */
  get listenCount(): number {
    return this.listener?.listenCount ?? 0;
  }

  constructor(private readonly opts: LiveHubOptions) {
    this.settings = opts.settings;
    this.db = opts.db;
  }

  start(): void {
    if (this.closed || this.timers.length) return;
    this.startTimers();
    if (this.opts.mode === 'external') this.connectListener();
    this.fetchSoon();
  }

  private startTimers(): void {
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(fn, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.settings.pollMs, () => this.fetchSoon());
    every(this.settings.heartbeatMs, () => void this.heartbeat());
  }

  /** Changes timings (tests use short heartbeats); restarts the poll and heartbeat timers of a started hub. */
  configure(changes: Partial<LiveSettings>): void {
    Object.assign(this.settings, changes);
    if (!this.timers.length || this.closed) return;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    this.startTimers();
  }

  get streamCount(): number {
    return this.streams.size;
  }

  /** True while the LISTEN connection is up (external database only). */
  get listening(): boolean {
    return this.listener?.listening ?? false;
  }

  /** The id of the last event broadcast (reads the table's newest id the first time). */
  async position(): Promise<number> {
    if (this.lastId < 0) {
      const id = await newestLiveEventId(this.db);
      if (this.lastId < 0) this.lastId = id;
    }
    return this.lastId;
  }

  /** A local writer committed events (LiveBus): deliver them here, and announce them to the other processes. */
  wake(): void {
    this.written = true;
    this.fetchSoon();
  }

  /** Fetches now, or once the running fetch and the gap after it are over (coalesced). */
  private fetchSoon(): void {
    if (this.closed) return;
    if (this.pumping || this.gapTimer) {
      this.again = true;
      return;
    }
    this.pumpStartedAt = performance.now();
    this.pumping = this.pump().finally(() => {
      this.pumping = null;
      if (!this.again || this.closed) return;
      const wait = this.pumpStartedAt + MIN_FETCH_GAP_MS - performance.now();
      if (wait <= 0) return this.fetchSoon();
      this.gapTimer = setTimeout(() => {
        this.gapTimer = undefined;
        this.fetchSoon();
      }, wait);
      this.gapTimer.unref();
    });
  }

  /**
   * Waits for the fetches already asked for (one running, one waiting out the gap): a stream opened
   * after this starts behind every event announced so far (a writer's wake after its commit), so a
   * new client is not sent what committed before it connected.
   */
  async settle(): Promise<void> {
    for (let i = 0; i < 3 && (this.pumping || this.gapTimer) && !this.closed; i++) {
      if (this.gapTimer) {
        clearTimeout(this.gapTimer);
        this.gapTimer = undefined;
        this.fetchSoon();
      }
      await this.pumping;
    }
  }

  private async pump(): Promise<void> {
    const announce = this.written && this.opts.mode === 'external';
    this.written = false;
    try {
      await this.position();
      for (;;) {
        this.again = false;
        const { events, held } = await liveEventsAfter(this.db, this.lastId, PAGE);
        for (const ev of events) {
          if (ev.id <= this.lastId) continue;
          this.lastId = ev.id;
          if (this.streams.size === 0) continue;
          const frame = eventFrame(ev);
          for (const s of this.streams) s.offer(ev, frame);
        }
        if (held) {
          this.retryHeld();
          break;
        }
        this.heldDelay = HELD_MIN_MS;
        if (events.length < PAGE || this.closed) break;
      }
      // After the fetch, so that this process has taken what it announces; the others fetch on their own.
      if (announce && !this.closed) await announceLiveEvents(this.db, this.lastId);
      if (this.failing) this.opts.log.info('live: event fetch works again');
      this.failing = false;
    } catch (err) {
      // The database is away: the next wake (NOTIFY after re-LISTEN, or the poll) catches up from lastId.
      this.again = false;
      if (announce) this.written = true;
      if (!this.failing) this.opts.log.warn({ err }, 'live: cannot fetch events; retrying on the next wake or poll');
      this.failing = true;
    }
  }

  /** Looks again soon for events held back behind a running transaction (backing off while it runs). */
  private retryHeld(): void {
    if (this.heldTimer || this.closed) return;
    const delay = this.heldDelay;
    this.heldDelay = Math.min(delay * 2, HELD_MAX_MS);
    this.heldTimer = setTimeout(() => {
      this.heldTimer = undefined;
      this.fetchSoon();
    }, delay);
    this.heldTimer.unref();
  }

  /** Why a new stream of `owner` is refused, or undefined when it may open. */
  refusal(owner: StreamOwner): string | undefined {
    if (this.streams.size >= this.settings.maxStreams) return `this server holds ${this.settings.maxStreams} live streams already`;
    if ((this.perUser.get(owner.id) ?? 0) >= this.settings.maxStreamsPerUser) {
      return `at most ${this.settings.maxStreamsPerUser} live streams per user`;
    }
    return undefined;
  }

  /** Registers a stream (buffering) at the current position; call `position()` first. */
  open(owner: StreamOwner, res: ServerResponse): LiveStream {
    if (this.lastId < 0) throw new Error('live hub: position() not read yet');
    const stream = new LiveStream(owner, res, this, this.lastId);
    this.streams.add(stream);
    this.perUser.set(owner.id, (this.perUser.get(owner.id) ?? 0) + 1);
    return stream;
  }

  remove(stream: LiveStream): void {
    if (!this.streams.delete(stream)) return;
    const n = (this.perUser.get(stream.owner.id) ?? 1) - 1;
    if (n > 0) this.perUser.set(stream.owner.id, n);
    else this.perUser.delete(stream.owner.id);
  }

  /**
   * Starts a registered stream: with `lastEventId`, replays the events after it that the owner may
   * see from the table (or sends `event: reset` when that id is no longer retained, or is unknown, or the
   * replay would be too long); without, sends the current position as `id:` so that a reconnect
   * resumes exactly from here — after `recent`, the opening history a new client asked for (its
   * incident events of the last `seconds`, at most `limit`, marked `recent: true` in their data).
   * A `: live` comment marks the end of the replay.
   */
  async attach(stream: LiveStream, lastEventId: number | undefined, recent?: { limit: number; seconds: number }): Promise<void> {
    const head = `retry: ${this.settings.retryMs}\n\n`;
    const live = ': live\n\n';
    if (lastEventId === undefined) {
      let history = '';
      if (recent && recent.limit > 0) {
        const rows = await recentLiveEvents(this.db, stream.owner, { throughId: stream.position, ...recent, types: RECENT_TYPES });
        for (const ev of rows) history += eventFrame(ev, true);
      }
      stream.go(`${head}${history}id: ${stream.position}\n\n${live}`, stream.position);
      return;
    }
    const reset = (reason: string) =>
      stream.go(`${head}id: ${stream.position}\nevent: reset\ndata: ${JSON.stringify({ type: 'reset', reason, lastEventId: String(lastEventId) })}\n\n${live}`, stream.position);
    const bounds = await liveEventBounds(this.db);
    // Ids are sparse (live.repository.ts publishEvents): an id no event had is fine as a position,
    // unless it is beyond every id stored or given (unknown) or below the newest one pruned (expired).
    if (lastEventId > Math.max(bounds.max ?? 0, bounds.prunedThrough)) {
      reset('unknown');
      return;
    }
    if (lastEventId < bounds.prunedThrough) {
      reset('expired');
      return;
    }
    const rows = await replayLiveEvents(this.db, stream.owner, lastEventId, this.settings.maxReplay + 1);
    if (rows.length > this.settings.maxReplay) {
      reset('too_many');
      return;
    }
    let frames = head;
    let last = lastEventId;
    for (const ev of rows) {
      frames += eventFrame(ev);
      last = ev.id;
    }
    stream.go(frames + live, last);
  }

  private async heartbeat(): Promise<void> {
    const streams = [...this.streams];
    if (!streams.length) return;
    for (const s of streams) if (s.started) s.write(': heartbeat\n\n');
    await this.checkSessions(streams);
  }

  /**
   * Ends the streams whose session is over (signed out, expired, idle past the policy, account
   * disabled) or whose user's role, area, responder or department changed; the client's reconnect
   * then gets 401 or the new scope. A database outage ends nothing.
   */
  async checkSessions(streams: LiveStream[] = [...this.streams]): Promise<void> {
    if (!streams.length) return;
    const ids = [...new Set(streams.map((s) => s.owner.sessionId))];
    let rows: LiveSession[];
    try {
      rows = await liveSessions(this.db, ids, this.opts.sessionIdleSeconds);
    } catch (err) {
      this.opts.log.debug({ err }, 'live: session check skipped (database unavailable)');
      return;
    }
    const valid = new Map(rows.map((r) => [r.sessionId, r]));
    for (const s of streams) {
      const v = valid.get(s.owner.sessionId);
      const same = v && v.role === s.owner.role && v.areaCode === s.owner.areaCode
        && v.responderId === s.owner.responderId && v.departmentCode === s.owner.departmentCode;
      if (!same) s.close();
    }
  }

  private connectListener(): void {
    if (this.closed) return;
    this.listener = new PgListener({
      pool: this.opts.pool, name: 'wangge-live', what: 'live', log: this.opts.log, channel: LIVE_CHANNEL,
      listen: listenForLiveEvents,
      onNotification: () => this.fetchSoon(),
      // Anything committed while we were not listening.
      onUp: () => this.fetchSoon(),
    });
    void this.listener.start();
  }

  /** Ends every stream (before the server closes, so it does not wait for them). */
  closeStreams(): void {
    for (const s of [...this.streams]) s.close();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    clearTimeout(this.heldTimer);
    clearTimeout(this.gapTimer);
    this.closeStreams();
    await this.listener?.close();
    await this.pumping?.catch(() => {});
  }
}
