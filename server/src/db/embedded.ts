import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { postgis } from '@electric-sql/pglite-postgis';
import { btree_gist } from '@electric-sql/pglite/contrib/btree_gist';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { lockDataDir, type DataDirOwner } from './data-lock.js';

/** A PGlite database with PostGIS, served over the PostgreSQL wire protocol on a Unix socket. */
export interface EmbeddedDatabase {
  /** Connection string for the ordinary `pg` driver (the socket in the data folder). */
  url: string;
  /**
   * Every NOTIFY the database delivers, whichever connection committed it: PGlite is one session, so
   * a notification goes to the connection that committed (another process's, say the CLI's), not
   * to the listeners of this process; the owner hears them all here.
   */
  onNotification(listener: (channel: string, payload: string) => void): () => void;
  close(): Promise<void>;
}

/** The socket's name in the data folder: what `pg` derives from host = the folder and the default port. */
const SOCKET_NAME = '.s.PGSQL.5432';
/** sun_path holds 108 bytes on Linux, the terminating NUL included. */
const MAX_SOCKET_PATH = 107;

/** The `pg` connection string of a socket in `dir`. */
function socketUrl(dir: string): string {
  return `postgres://postgres@localhost/postgres?host=${encodeURIComponent(dir)}`;
}

/**
 * Starts PGlite in `dataDir` (created on first use) and serves it on a Unix socket inside that
 * folder (mode 0600; never a TCP port: pglite-socket has no authentication), so the rest of the
 * code talks to it through `pg` exactly as to an external server. The opener owns the folder
 * (db/data-lock.ts): a second opener is refused while this one lives.
 */
export async function startEmbeddedDatabase(dataDir: string, options: { kind?: DataDirOwner['kind'] } = {}): Promise<EmbeddedDatabase> {
  const dir = path.resolve(dataDir);
  const socketPath = path.join(dir, SOCKET_NAME);
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    throw new Error(`the data folder's path is too long for its database socket (${socketPath}: at most ${MAX_SOCKET_PATH} bytes); choose a shorter DATA_DIR`);
  }
  const url = socketUrl(dir);
  const lock = lockDataDir(dir, options.kind ?? 'server', url);
  let db: PGlite | undefined;
  try {
    db = await PGlite.create({ dataDir: dir, extensions: { postgis, btree_gist } });
    await db.exec('CREATE EXTENSION IF NOT EXISTS postgis');
    // A socket left by a process that died: the folder is ours now.
    fs.rmSync(socketPath, { force: true });
    const server = new PGLiteSocketServer({ db, path: socketPath, maxConnections: 32 });
    const listeners = new Set<(channel: string, payload: string) => void>();
    keepExchangesTogether(server, (channel, payload) => {
      for (const f of listeners) f(channel, payload);
    });
    await server.start();
    fs.chmodSync(socketPath, 0o600);
    const opened = db;
    return {
      url,
      onNotification(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      async close() {
        await server.stop();
        await opened.close();
        fs.rmSync(socketPath, { force: true });
        lock.release();
      },
    };
  } catch (err) {
    await db?.close().catch(() => {});
    lock.release();
    throw err;
  }
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
function keepExchangesTogether(server: PGLiteSocketServer, onNotification: (channel: string, payload: string) => void): void {
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
                notificationsIn(data, onNotification);
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

const NOTIFICATION = 'A'.charCodeAt(0);

/**
 * The NotificationResponse messages ('A': length, pid, channel, payload) among the protocol messages
 * PGlite answered with. PGlite hands whole messages to onRawData; a chunk that does not parse is
 * left alone (the bytes still go to their connection).
 */
function notificationsIn(data: Uint8Array, deliver: (channel: string, payload: string) => void): void {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let at = 0; at + 5 <= data.length; ) {
    const type = data[at];
    const length = view.getInt32(at + 1);
    if (length < 4 || at + 1 + length > data.length) return;
    if (type === NOTIFICATION) {
      const body = data.subarray(at + 9, at + 1 + length);
      const end = body.indexOf(0);
      const end2 = end < 0 ? -1 : body.indexOf(0, end + 1);
      if (end >= 0 && end2 >= 0) {
        const text = new TextDecoder();
        deliver(text.decode(body.subarray(0, end)), text.decode(body.subarray(end + 1, end2)));
      }
    }
    at += 1 + length;
  }
}
