import crypto from 'node:crypto';
import type { Db } from '../db/transaction.js';
import * as repo from './auth.repository.js';
import type { SessionUser } from './auth.repository.js';

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

/**
 * The user of a live session: not expired (absolute), not idle too long, account enabled (all
 * checked in SQL). Touches last_seen_at at most once a minute.
 */
export async function sessionUser(db: Db, token: string, policy: SessionPolicy): Promise<SessionUser | undefined> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
  const id = sha256(token);
  const found = await repo.findSessionUser(db, id, policy.idleSeconds);
  if (!found) return undefined;
  if (found.stale) await repo.touchSession(db, id);
  return found.user;
}

export async function deleteSession(db: Db, token: string): Promise<void> {
  await repo.deleteSession(db, sha256(token));
}
