import pg from 'pg';
import type { ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import type { DatabaseMode } from '../db/database.js';
import { withTransaction } from '../db/transaction.js';
import type { LiveBus } from './bus.js';
import { LIVE_CHANNEL } from './publish.js';
import type { LiveSettings } from './settings.js';

/** Advisory lock that lets one process at a time prune old live events. */
export const LIVE_RETENTION_LOCK = 7265002;

/** Rows fetched per round trip by the hub. */
const PAGE = 500;

/** A committed live event as the stream sends it. */
export interface LiveEvent {
  id: number;
  type: string;
  entityId: string;
  scopeCode: string;
  data: Record<string, unknown>;
  at: string;
}

/** Who holds a stream: fixed for the stream's life (a change of role or area ends it). */
export interface StreamOwner {
  userId: string;
  sessionId: string;
  role: string;
  areaCode: string;
}

/** An event is sent to a user whose area code is '*' or a prefix of the event's scope code. */
export function inScope(areaCode: string, scopeCode: string): boolean {
  return areaCode === '*' || scopeCode.startsWith(areaCode);
}

/** The SSE frame of one event: `id`, `event`, `data` (the event's data plus type, entityId, at). */
export function eventFrame(ev: LiveEvent): string {
  const data = JSON.stringify({ ...ev.data, type: ev.type, entityId: ev.entityId, at: ev.at });
  return `id: ${ev.id}\nevent: ${ev.type}\ndata: ${data}\n\n`;
}

const SELECT_EVENTS = `SELECT id, type, entity_id::text AS "entityId", scope_code AS "scopeCode", data, created_at AS at
  FROM live_events`;

interface EventRow extends Omit<LiveEvent, 'at'> {
  at: Date;
}

const toEvent = (r: EventRow): LiveEvent => ({ ...r, id: Number(r.id), at: r.at.toISOString() });

/**
 * One client's stream. It starts buffering (so nothing committed while its replay is read can be
 * missed), then `go()` writes the replay and everything buffered after it; from then on events are
 * written as the hub offers them. Ids only increase, so `lastSentId` removes duplicates.
 */
export class LiveStream {
  lastSentId = 0;
  closed = false;
  private pending: LiveEvent[] | null = [];

  constructor(
    readonly owner: StreamOwner,
    readonly res: ServerResponse,
    private readonly hub: LiveHub,
    /** The hub's position when the stream was registered: every later event will be offered to it. */
    readonly position: number,
  ) {}

  offer(ev: LiveEvent, frame: string): void {
    if (this.closed) return;
    if (this.pending) {
      this.pending.push(ev);
      // A replay that takes so long that this much arrives meanwhile: let the client come back.
      if (this.pending.length > this.hub.settings.maxReplay) this.close();
      return;
    }
    this.deliver(ev, frame);
  }

  private deliver(ev: LiveEvent, frame: string): void {
    if (ev.id <= this.lastSentId) return;
    this.lastSentId = ev.id;
    if (inScope(this.owner.areaCode, ev.scopeCode)) this.write(frame);
  }

  /** Ends buffering: writes `head` (replay, reset or position), then the buffered events after `lastId`. */
  go(head: string, lastId: number): void {
    this.lastSentId = lastId;
    this.write(head);
    const pending = this.pending ?? [];
    this.pending = null;
    for (const ev of pending) this.deliver(ev, eventFrame(ev));
  }

  get started(): boolean {
    return this.pending === null;
  }

  write(chunk: string): void {
    if (this.closed) return;
    this.res.write(chunk);
    // A client that does not read: drop it rather than buffer without bound; it reconnects and replays.
    if (this.res.writableLength > this.hub.settings.maxBufferedBytes) this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.hub.remove(this);
    this.res.end();
  }
}

export interface LiveHubOptions {
  pool: pg.Pool;
  mode: DatabaseMode;
  settings: LiveSettings;
  log: FastifyBaseLogger;
  /** Sessions idle longer than this are over (the auth plugin's policy). */
  sessionIdleSeconds: number;
}

/**
 * The live hub of one API process. Event ids are handed out in commit order (publish.ts), so the
 * hub keeps the last id it has broadcast and, on every wake, fetches `id > lastId` in order and
 * offers each event to every stream (single flight; wakes during a fetch coalesce into one more).
 * Wakes come from the local writers (`app.live.wake()` after commit), from PostgreSQL NOTIFY on an
 * external database (one dedicated LISTEN connection per process, reconnected with backoff, then a
 * catch-up from lastId), and from a slow safety poll. Heartbeats re-check the streams' sessions.
 */
export class LiveHub implements LiveBus {
  readonly settings: LiveSettings;
  private lastId = -1;
  private readonly streams = new Set<LiveStream>();
  private readonly perUser = new Map<string, number>();
  private pumping: Promise<void> | null = null;
  private again = false;
  private failing = false;
  private listener: pg.Client | undefined;
  private listeningNow = false;
  private reconnectDelay = 250;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private timers: NodeJS.Timeout[] = [];
  private closed = false;
  /** Times the LISTEN connection has been (re)established; for health and tests. */
  listenCount = 0;

  constructor(private readonly opts: LiveHubOptions) {
    this.settings = opts.settings;
  }

  start(): void {
    if (this.closed || this.timers.length) return;
    this.startTimers();
    if (this.opts.mode === 'external') this.connectListener();
    this.wake();
  }

  private startTimers(): void {
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(fn, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.settings.pollMs, () => this.wake());
    every(this.settings.heartbeatMs, () => void this.heartbeat());
    every(this.settings.retentionIntervalMs, () => void this.prune());
    // Also once soon after start, so that short-lived processes prune too.
    const first = setTimeout(() => void this.prune(), Math.min(60_000, this.settings.retentionIntervalMs));
    first.unref();
    this.timers.push(first);
  }

  /** Changes timings (tests use short heartbeats); restarts the timers of a started hub. */
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
    return this.listeningNow;
  }

  /** The id of the last event broadcast (reads the table's newest id the first time). */
  async position(): Promise<number> {
    if (this.lastId < 0) {
      const { rows } = await this.opts.pool.query<{ id: string | number }>('SELECT coalesce(max(id), 0) AS id FROM live_events');
      if (this.lastId < 0) this.lastId = Number(rows[0].id);
    }
    return this.lastId;
  }

  wake(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = this.pump().finally(() => {
      this.pumping = null;
      if (this.again) this.wake();
    });
  }

  private async pump(): Promise<void> {
    try {
      await this.position();
      for (;;) {
        this.again = false;
        const { rows } = await this.opts.pool.query<EventRow>(`${SELECT_EVENTS} WHERE id > $1 ORDER BY id LIMIT $2`, [this.lastId, PAGE]);
        for (const row of rows) {
          const ev = toEvent(row);
          if (ev.id <= this.lastId) continue;
          this.lastId = ev.id;
          if (this.streams.size === 0) continue;
          const frame = eventFrame(ev);
          for (const s of this.streams) s.offer(ev, frame);
        }
        if (rows.length < PAGE || this.closed) break;
      }
      if (this.failing) this.opts.log.info('live: event fetch works again');
      this.failing = false;
    } catch (err) {
      // The database is away: the next wake (NOTIFY after re-LISTEN, or the poll) catches up from lastId.
      this.again = false;
      if (!this.failing) this.opts.log.warn({ err }, 'live: cannot fetch events; retrying on the next wake or poll');
      this.failing = true;
    }
  }

  /** Why a new stream of `owner` is refused, or undefined when it may open. */
  refusal(owner: StreamOwner): string | undefined {
    if (this.streams.size >= this.settings.maxStreams) return `this server holds ${this.settings.maxStreams} live streams already`;
    if ((this.perUser.get(owner.userId) ?? 0) >= this.settings.maxStreamsPerUser) {
      return `at most ${this.settings.maxStreamsPerUser} live streams per user`;
    }
    return undefined;
  }

  /** Registers a stream (buffering) at the current position; call `position()` first. */
  open(owner: StreamOwner, res: ServerResponse): LiveStream {
    if (this.lastId < 0) throw new Error('live hub: position() not read yet');
    const stream = new LiveStream(owner, res, this, this.lastId);
    this.streams.add(stream);
    this.perUser.set(owner.userId, (this.perUser.get(owner.userId) ?? 0) + 1);
    return stream;
  }

  remove(stream: LiveStream): void {
    if (!this.streams.delete(stream)) return;
    const n = (this.perUser.get(stream.owner.userId) ?? 1) - 1;
    if (n > 0) this.perUser.set(stream.owner.userId, n);
    else this.perUser.delete(stream.owner.userId);
  }

  /**
   * Starts a registered stream: with `lastEventId`, replays the in-scope events after it from the
   * table (or sends `event: reset` when that id is no longer retained, or is unknown, or the
   * replay would be too long); without, sends the current position as `id:` so that a reconnect
   * resumes exactly from here. A `: live` comment marks the end of the replay.
   */
  async attach(stream: LiveStream, lastEventId: number | undefined): Promise<void> {
    const head = `retry: ${this.settings.retryMs}\n\n`;
    const live = ': live\n\n';
    if (lastEventId === undefined) {
      stream.go(`${head}id: ${stream.position}\n\n${live}`, stream.position);
      return;
    }
    const reset = (reason: string) =>
      stream.go(`${head}id: ${stream.position}\nevent: reset\ndata: ${JSON.stringify({ type: 'reset', reason, lastEventId: String(lastEventId) })}\n\n${live}`, stream.position);
    const { rows: [bounds] } = await this.opts.pool.query<{ min: number | null; max: number | null }>(
      'SELECT min(id) AS min, max(id) AS max FROM live_events',
    );
    // Retention keeps the newest event, so an empty table means no event was ever written.
    const expired = bounds.min === null || bounds.max === null
      ? lastEventId > 0
      : lastEventId < Number(bounds.min) - 1 || lastEventId > Number(bounds.max);
    if (expired) {
      reset(bounds.max !== null && lastEventId > Number(bounds.max) ? 'unknown' : 'expired');
      return;
    }
    const { rows } = await this.opts.pool.query<EventRow>(
      `${SELECT_EVENTS} WHERE id > $1 AND ($2 = '*' OR starts_with(scope_code, $2)) ORDER BY id LIMIT $3`,
      [lastEventId, stream.owner.areaCode, this.settings.maxReplay + 1],
    );
    if (rows.length > this.settings.maxReplay) {
      reset('too_many');
      return;
    }
    let frames = head;
    let last = lastEventId;
    for (const row of rows) {
      const ev = toEvent(row);
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
   * disabled) or whose user's role or area changed; the client's reconnect then gets 401 or the
   * new scope. A database outage ends nothing.
   */
  async checkSessions(streams: LiveStream[] = [...this.streams]): Promise<void> {
    if (!streams.length) return;
    const ids = [...new Set(streams.map((s) => s.owner.sessionId))];
    let rows: { id: string; role: string; area_code: string }[];
    try {
      ({ rows } = await this.opts.pool.query(
        `SELECT s.id, u.role, u.area_code FROM sessions s JOIN users u ON u.id = s.user_id
          WHERE s.id = ANY($1::text[]) AND s.expires_at > now()
            AND s.last_seen_at > now() - make_interval(secs => $2) AND NOT u.disabled`,
        [ids, this.opts.sessionIdleSeconds],
      ));
    } catch (err) {
      this.opts.log.debug({ err }, 'live: session check skipped (database unavailable)');
      return;
    }
    const valid = new Map(rows.map((r) => [r.id, r]));
    for (const s of streams) {
      const v = valid.get(s.owner.sessionId);
      if (!v || v.role !== s.owner.role || v.area_code !== s.owner.areaCode) s.close();
    }
  }

  private async prune(): Promise<void> {
    try {
      const n = await pruneLiveEvents(this.opts.pool, this.settings.retentionDays);
      if (n) this.opts.log.info(`live: pruned ${n} events older than ${this.settings.retentionDays} days`);
    } catch (err) {
      this.opts.log.warn({ err }, 'live: pruning old events failed; retrying later');
    }
  }

  private connectListener(): void {
    if (this.closed) return;
    const client = new pg.Client({ ...this.opts.pool.options, application_name: 'wangge-live', keepAlive: true });
    this.listener = client;
    let failed = false;
    const fail = (err?: Error) => {
      if (failed) return;
      failed = true;
      this.listeningNow = false;
      if (this.listener === client) this.listener = undefined;
      client.end().catch(() => {});
      if (this.closed) return;
      const delay = this.reconnectDelay;
      this.reconnectDelay = Math.min(this.reconnectDelay * 2, 5000);
      this.opts.log.warn({ err }, `live: LISTEN connection lost; reconnecting in ${delay} ms`);
      this.reconnectTimer = setTimeout(() => this.connectListener(), delay);
      this.reconnectTimer.unref();
    };
    client.on('error', fail);
    client.on('end', () => fail());
    client.on('notification', (msg) => {
      if (msg.channel === LIVE_CHANNEL) this.wake();
    });
    client
      .connect()
      .then(() => client.query(`LISTEN ${LIVE_CHANNEL}`))
      .then(() => {
        if (failed || this.closed) return;
        this.listeningNow = true;
        this.listenCount++;
        this.reconnectDelay = 250;
        // Anything committed while we were not listening.
        this.wake();
      }, fail);
  }

  /** Ends every stream (before the server closes, so it does not wait for them). */
  closeStreams(): void {
    for (const s of [...this.streams]) s.close();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    clearTimeout(this.reconnectTimer);
    this.closeStreams();
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => {});
    await this.pumping?.catch(() => {});
  }
}

/**
 * Deletes events older than `days`, keeping the newest event (so the table shows how far ids have
 * gone and an unknown Last-Event-ID can be told from an expired one). One process at a time: the
 * others skip (null).
 */
export async function pruneLiveEvents(pool: pg.Pool, days: number): Promise<number | null> {
  return withTransaction(pool, async (client) => {
    const { rows } = await client.query<{ got: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS got', [LIVE_RETENTION_LOCK]);
    if (!rows[0].got) return null;
    const res = await client.query(
      `DELETE FROM live_events
        WHERE created_at < now() - make_interval(days => $1) AND id < (SELECT max(id) FROM live_events)`,
      [days],
    );
    return res.rowCount ?? 0;
  });
}
