/**
 * The embedded database's folder has one owner: the process that opened PGlite in it. Two
 * processes opening one folder lose each other's writes and can leave it unopenable, so the opener
 * takes `DATA_DIR/owner.lock` — a file created exclusively, holding the owner's pid, what it is (the
 * server, the CLI, the tests) and, for a server, the URL of the Unix socket it serves the database
 * on. A lock whose pid is gone (a process killed with -9) is taken over; a live owner is reported
 * with what to do (db/embedded.ts; the CLI's `user` commands then go through the server's socket).
 */
import fs from 'node:fs';
import path from 'node:path';

export const LOCK_FILE = 'owner.lock';

/** What owns a data folder. */
export interface DataDirOwner {
  pid: number;
  kind: 'server' | 'cli' | 'tests';
  /** The connection string of the database the owner serves on its Unix socket. */
  url?: string;
  since: string;
}

/** The folder is owned by another live process. */
export class DataDirOwnedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly owner: DataDirOwner,
  ) {
    super(
      `the data folder ${dataDir} is in use by ${owner.kind === 'server' ? 'a running wangge server' : `another wangge process (${owner.kind})`} ` +
        `(pid ${owner.pid}, since ${owner.since}). Stop it first${owner.kind === 'server' ? ' (Ctrl-C in its terminal)' : ''}, or use another DATA_DIR. ` +
        `If no such process is running, delete ${path.join(dataDir, LOCK_FILE)}.`,
    );
    this.name = 'DataDirOwnedError';
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, owned by another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function read(file: string): DataDirOwner | undefined {
  try {
    const owner = JSON.parse(fs.readFileSync(file, 'utf8')) as DataDirOwner;
    return typeof owner?.pid === 'number' ? owner : undefined;
  } catch {
    return undefined;
  }
}

/** The live owner of `dataDir`, if any (not this process). */
export function dataDirOwner(dataDir: string): DataDirOwner | undefined {
  const owner = read(path.join(dataDir, LOCK_FILE));
  return owner && owner.pid !== process.pid && alive(owner.pid) ? owner : undefined;
}

/** A held lock: `release` gives the folder up. */
export interface DataDirLock {
  release(): void;
}

/**
 * Takes the folder for this process (created when missing), or throws DataDirOwnedError. The lock
 * appears whole or not at all (written aside, then hard-linked into place: link fails when a lock
 * exists), so another opener never reads a half-written one. A lock left by a dead process (or one
 * that does not parse: not written by this code) is taken over.
 */
export function lockDataDir(dataDir: string, kind: DataDirOwner['kind'], url?: string): DataDirLock {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, LOCK_FILE);
  const aside = `${file}.${process.pid}`;
  const owner: DataDirOwner = { pid: process.pid, kind, url, since: new Date().toISOString() };
  fs.writeFileSync(aside, JSON.stringify(owner), { mode: 0o600 });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        fs.linkSync(aside, file);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw err;
        const held = read(file);
        if (held && held.pid !== process.pid && alive(held.pid)) throw new DataDirOwnedError(dataDir, held);
        // The owner is gone: take over.
        fs.rmSync(file, { force: true });
      }
    }
  } finally {
    fs.rmSync(aside, { force: true });
  }
  const release = () => {
    if (read(file)?.pid === process.pid) fs.rmSync(file, { force: true });
    process.off('exit', release);
  };
  // Also when the process ends without closing the database (an uncaught error, process.exit).
  process.on('exit', release);
  return { release };
}
