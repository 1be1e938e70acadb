/**
 * A process's own LISTEN connection to an external database, kept up: a dedicated pg client (not
 * one of the pool's, which come and go) that runs `listen` once connected, hands every
 * notification of `channel` to `onNotification`, and on any error or end tells `onDown` and
 * reconnects with backoff (250 ms doubling to 5 s), telling `onUp` each time it listens again.
 * The live hub (NOTIFY of new events) and the session cache (NOTIFY of ended sessions) use one each.
 */
import pg from 'pg';
import type { FastifyBaseLogger } from 'fastify';

export interface ListenerOptions {
  /** The pool whose connection settings the listener uses. */
  pool: pg.Pool;
  /** application_name of the connection (it shows in pg_stat_activity). */
  name: string;
  channel: string;
  /** Runs the LISTEN (a repository function: no SQL here). */
  listen(client: pg.ClientBase): Promise<void>;
  onNotification(payload: string | undefined): void;
  /** Listening (again): anything sent while it was down was missed. */
  onUp(): void;
  /** The connection is lost; a reconnect is on its way. */
  onDown?(): void;
  log: FastifyBaseLogger;
  /** Words for the log line when the connection is lost, e.g. 'live'. */
  what: string;
}

export class PgListener {
  private client: pg.Client | undefined;
  private up = false;
  private delay = 250;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Times the connection has been (re)established; for health and tests. */
  listenCount = 0;

  constructor(private readonly opts: ListenerOptions) {}

  /** True while the LISTEN connection is up. */
  get listening(): boolean {
    return this.up;
  }

  /** Connects; resolves once the first attempt has listened or failed (later attempts run on their own). */
  start(): Promise<void> {
    return new Promise<void>((resolve) => this.connect(resolve));
  }

  private connect(started?: () => void): void {
    if (this.closed) return started?.();
    const client = new pg.Client({ ...this.opts.pool.options, application_name: this.opts.name, keepAlive: true });
    this.client = client;
    let failed = false;
    const fail = (err?: Error) => {
      if (failed) return;
      failed = true;
      this.up = false;
      if (this.client === client) this.client = undefined;
      client.end().catch(() => {});
      this.opts.onDown?.();
      started?.();
      if (this.closed) return;
      const delay = this.delay;
      this.delay = Math.min(this.delay * 2, 5000);
      this.opts.log.warn({ err }, `${this.opts.what}: LISTEN connection lost; reconnecting in ${delay} ms`);
      this.timer = setTimeout(() => this.connect(), delay);
      this.timer.unref();
    };
    client.on('error', fail);
    client.on('end', () => fail());
    client.on('notification', (msg) => {
      if (msg.channel === this.opts.channel) this.opts.onNotification(msg.payload);
    });
    client
      .connect()
      .then(() => this.opts.listen(client))
      .then(() => {
        if (failed || this.closed) return started?.();
        this.up = true;
        this.listenCount++;
        this.delay = 250;
        this.opts.onUp();
        started?.();
      }, fail);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    this.up = false;
    await client?.end().catch(() => {});
  }
}
