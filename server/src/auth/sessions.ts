import crypto from 'node:crypto';
import type { Db } from '../db/transaction.js';
import * as repo from './auth.repository.js';
import type { SessionUser } from './auth.repository.js';
import type { SessionCache } from './session-cache.js';

/** The signed-in user as routes see it (defined beside the query that reads it). */
export type { SessionUser };

export const SESSION_COOKIE = 'wangge_session';

export interface SessionPolicy {
  idleSeconds: number;
  absoluteSeconds: number;
}

const sha256 = (token: string) => crypto.createHash('sha256').update(token).digest('hex');

/** Creates a session and returns the token for the cookie (only its hash is stored). */
export async function createSession(
  db: Db,
  userId: string,
  policy: SessionPolicy,
  meta: { ip: string; userAgent?: string },
): Promise<{ token: string; expiresAt: Date }> {
  const token = crypto.randomBytes(32).toString('base64url');
  const expiresAt = await repo.insertSession(db, { id: sha256(token), userId, absoluteSeconds: policy.absoluteSeconds, ...meta });
  return { token, expiresAt };
}

/** A session's last_seen_at is moved forward at most this often (its idle clock). */
const TOUCH_EVERY_MS = 60_000;
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/**
 * The user of a live session: not expired (absolute), not idle too long, account enabled (all
 * checked in SQL). Touches last_seen_at at most once a minute. With `cache` (auth/session-cache.ts)
 * a session read once is answered from memory until it is invalidated or one of its deadlines
 * passes; the once-a-minute touch of a cached session runs in the background.
 */
export async function sessionUser(db: Db, token: string, policy: SessionPolicy, cache?: SessionCache): Promise<SessionUser | undefined> {
  if (!TOKEN.test(token)) return undefined;
  const id = sha256(token);
  if (cache?.enabled) {
    const hit = cache.lookup(id);
    if (hit) {
      if (cache.now() - hit.touchedAt >= TOUCH_EVERY_MS) {
        cache.touched(hit);
        // A failed touch drops the entry: the next request asks the database.
        repo.touchSession(db, id).catch(() => cache.drop(id));
      }
      return hit.user;
    }
  }
  const generation = cache?.generation ?? 0;
  const found = await repo.findSessionUser(db, id, policy.idleSeconds);
  if (!found) return undefined;
  const stale = found.seenSecondsAgo * 1000 >= TOUCH_EVERY_MS;
  if (stale) await repo.touchSession(db, id);
  cache?.store(id, found, generation, stale);
  return found.user;
}

export async function deleteSession(db: Db, token: string): Promise<void> {
  await repo.deleteSession(db, sha256(token));
}
