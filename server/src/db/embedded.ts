import fs from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { postgis } from '@electric-sql/pglite-postgis';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/** A PGlite database with PostGIS, served over the PostgreSQL wire protocol on localhost. */
export interface EmbeddedDatabase {
  /** Connection string for the ordinary `pg` driver. */
  url: string;
  close(): Promise<void>;
}

/**
 * Starts PGlite in `dataDir` (created on first use) and exposes it on a loopback port so the
 * rest of the code talks to it through `pg` exactly as to an external server.
 * One process owns the folder.
 */
export async function startEmbeddedDatabase(dataDir: string, options: { port?: number } = {}): Promise<EmbeddedDatabase> {
  fs.mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create({ dataDir, extensions: { postgis } });
  await db.exec('CREATE EXTENSION IF NOT EXISTS postgis');
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: options.port ?? 0, maxConnections: 32 });
  keepExchangesTogether(server);
  await server.start();
  const port = await boundPort(server, options.port);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async close() {
      await server.stop();
      await db.close();
    },
  };
}

async function boundPort(server: PGLiteSocketServer, requested?: number): Promise<number> {
  // The socket server keeps its net.Server private; read the bound port from it.
  const inner = (server as unknown as { server?: { address(): { port: number } | string | null } }).server;
  const address = inner?.address();
  if (address && typeof address === 'object') return address.port;
  if (requested) return requested;
  throw new Error('embedded database: could not determine the listening port');
}

/** What pglite-socket 0.2.11 queues per protocol message (its QueryQueueManager, not exported). */
interface QueuedMessage {
  handlerId: number;
  message: Uint8Array;
  resolve(bytes: number): void;
  reject(err: unknown): void;
  onData(data: Uint8Array): void;
}
interface MessageQueue {
  queue: QueuedMessage[];
  processing: boolean;
  lastHandlerId: number | null;
  db: PGlite;
  processQueue(): Promise<void>;
  clearQueueForHandler(handlerId: number): void;
}

// Extended-query protocol messages: Parse, Bind, Describe, Execute, Close, Flush. An exchange of
// them ends with Sync ('S'); a simple Query ('Q') stands alone.
const EXTENDED = new Set(['P', 'B', 'D', 'E', 'C', 'H'].map((c) => c.charCodeAt(0)));
const SYNC = 'S'.charCodeAt(0);

/**
 * pglite-socket serves the messages of all connections from one queue, one message at a time, and
 * keeps a connection's messages together only inside a transaction. Outside one, the Parse/Bind/
 * Execute/Sync of two connections interleave on PGlite's single session — the unnamed statement
 * of one is replaced by the other's ("unnamed prepared statement does not exist", wrong parameter
 * types; electric-sql/pglite#1046) — and a failed message leaves its queue stuck for good. This
 * replaces the queue's scheduler: a connection that has started an extended-query exchange keeps
 * PGlite until its Sync, as does a connection inside a transaction; an error ends only that
 * message. The interleave was seen under the full app (22P02 in a session lookup, 26000 "unnamed
 * prepared statement does not exist") but not reproduced in isolation; tests/embedded/
 * concurrency.test.ts drives eight connections at once (reads, writes, failing statements,
 * transactions) through this scheduler.
 */
function keepExchangesTogether(server: PGLiteSocketServer): void {
  const queue = (server as unknown as { queryQueue?: MessageQueue }).queryQueue;
  if (!queue || typeof queue.processQueue !== 'function' || !Array.isArray(queue.queue)) {
    throw new Error('embedded database: pglite-socket internals changed; review keepExchangesTogether');
  }
  let exchangeOwner: number | null = null;
  const clear = queue.clearQueueForHandler.bind(queue);
  queue.clearQueueForHandler = (handlerId: number) => {
    if (exchangeOwner === handlerId) exchangeOwner = null;
    clear(handlerId);
  };
  queue.processQueue = async function processQueue(this: MessageQueue) {
    if (this.processing || this.queue.length === 0) return;
    this.processing = true;
    try {
      while (this.queue.length > 0) {
        const owner = exchangeOwner ?? (this.db.isInTransaction() && this.lastHandlerId ? this.lastHandlerId : null);
        let item: QueuedMessage | undefined;
        if (owner === null) item = this.queue.shift();
        else {
          const i = this.queue.findIndex((q) => q.handlerId === owner);
          // The owner's next message has not arrived yet: wait for it (enqueue restarts us).
          if (i === -1) break;
          item = this.queue.splice(i, 1)[0];
        }
        if (!item) break;
        const type = item.message[0];
        if (EXTENDED.has(type)) exchangeOwner = item.handlerId;
        else if (type === SYNC || exchangeOwner === item.handlerId) exchangeOwner = null;
        let bytes = 0;
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(item.message, {
              onRawData: (data: Uint8Array) => {
                bytes += data.length;
                item.onData(data);
              },
            }),
          );
        } catch (err) {
          item.reject(err);
          continue;
        }
        this.lastHandlerId = item.handlerId;
        item.resolve(bytes);
      }
    } finally {
      this.processing = false;
    }
  };
}
