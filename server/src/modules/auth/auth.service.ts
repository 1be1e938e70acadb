/** Signing in and out: throttle, password check, session, audit row. */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/types.js';
import type { Db } from '../../db/transaction.js';
import { ApiError } from '../../plugins/errors.js';
import { verifyPassword } from '../../auth/passwords.js';
import { createSession, deleteSession, sessionUser, type SessionPolicy, type SessionUser } from '../../auth/sessions.js';
import { reserveSignInAttempt, signInSucceeded } from '../../auth/throttle.js';
import { appendAudit } from '../audit/audit.repository.js';
import { findAccount } from '../../auth/auth.repository.js';
import type { LoginPolicy } from '../../auth/login-policy.js';

/** A sign-in attempt and where it comes from. */
export interface SignInRequest {
  username: string;
  password: string;
  ip: string;
  userAgent?: string;
  requestId: string;
  /** The session token the client presented, if any: it ends (no fixation). */
  presentedToken?: string;
}

/**
 * Checks a username and password and opens a session: 429 RATE_LIMITED (with the seconds to
 * wait) while the throttle refuses the attempt (auth/throttle.ts), 401 INVALID_CREDENTIALS for an
 * unknown username, a wrong password or a disabled account (the same answer and the same hashing
 * work for each).
 */
export async function signIn(db: Kysely<DB>, policy: SessionPolicy, login: LoginPolicy, r: SignInRequest): Promise<{ token: string; expiresAt: Date; user: SessionUser }> {
  const name = r.username.trim().toLowerCase();
  // Counted before the password is checked (auth/throttle.ts): concurrent guesses cannot pass the limit.
  const wait = await reserveSignInAttempt(db, name, r.ip, login);
  if (wait > 0) {
    throw new ApiError(429, 'RATE_LIMITED', 'too many failed sign-ins; try again later', { retryAfterSeconds: wait });
  }
  const account = await findAccount(db, name);
  // Unknown usernames are checked against a decoy hash: same work, same answer.
  const ok = (await verifyPassword(account?.passwordHash, r.password)) && account !== undefined && !account.disabled;
  if (!ok) {
    throw new ApiError(401, 'INVALID_CREDENTIALS', 'unknown username or wrong password');
  }
  await signInSucceeded(db, name, r.ip);
  if (r.presentedToken) await deleteSession(db, r.presentedToken);
  const { token, expiresAt } = await createSession(db, account.id, policy, { ip: r.ip, userAgent: r.userAgent });
  const user = (await sessionUser(db, token, policy))!;
  await appendAudit(db, { user, ip: r.ip, requestId: r.requestId }, { action: 'auth.login', entity: 'user', entityId: user.id });
  return { token, expiresAt, user };
}

/** Ends the presented session; a signed-in user's sign-out is audited. */
export async function signOut(
  db: Db,
  token: string | undefined,
  ctx: { user?: SessionUser; ip: string; requestId: string },
): Promise<void> {
  if (token) await deleteSession(db, token);
  if (ctx.user) await appendAudit(db, ctx, { action: 'auth.logout', entity: 'user', entityId: ctx.user.id });
}
