import crypto from 'node:crypto';
import type pg from 'pg';
import type { Role } from './permissions.js';

export const SESSION_COOKIE = 'wangge_session';

/** The signed-in user as routes see it. */
export interface SessionUser {
  id: string;
  username: string;
  displayName: string | null;
  role: Role;
  /** '*' or a 6/9/12/15-digit area/grid code: everything the user reads or writes lies under it. */
  areaCode: string;
  responderId: string | null;
  /** The department a department user works for (its queue; auth/scope.ts), else null. */
  departmentCode: string | null;
  sessionId: string;
}

export interface SessionPolicy {
  idleSeconds: number;
  absoluteSeconds: number;
}

const sha256 = (token: string) => crypto.createHash('sha256').update(token).digest('hex');

/** Creates a session and returns the token for the cookie (only its hash is stored). */
export async function createSession(
  pool: pg.Pool,
  userId: string,
  policy: SessionPolicy,
  meta: { ip: string; userAgent?: string },
): Promise<{ token: string; expiresAt: Date }> {
  const token = crypto.randomBytes(32).toString('base64url');
  const { rows } = await pool.query<{ expires_at: Date }>(
    `INSERT INTO sessions (id, user_id, expires_at, ip, user_agent)
     VALUES ($1, $2, now() + make_interval(secs => $3), $4, left($5, 500)) RETURNING expires_at`,
    [sha256(token), userId, policy.absoluteSeconds, meta.ip, meta.userAgent ?? null],
  );
  return { token, expiresAt: rows[0].expires_at };
}

/**
 * The user of a live session: not expired (absolute), not idle too long, account enabled. Touches
 * last_seen_at at most once a minute.
 */
export async function sessionUser(pool: pg.Pool, token: string, policy: SessionPolicy): Promise<SessionUser | undefined> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
  const id = sha256(token);
  const { rows } = await pool.query<SessionUser & { stale: boolean }>(
    `SELECT u.id::text AS id, u.username, u.display_name AS "displayName", u.role, u.area_code AS "areaCode",
            r.id::text AS "responderId", u.department_code AS "departmentCode", s.id AS "sessionId", s.last_seen_at < now() - interval '60 seconds' AS stale
       FROM sessions s
       JOIN users u ON u.id = s.user_id
       LEFT JOIN responders r ON r.user_id = u.id
      WHERE s.id = $1 AND s.expires_at > now()
        AND s.last_seen_at > now() - make_interval(secs => $2) AND NOT u.disabled`,
    [id, policy.idleSeconds],
  );
  const row = rows[0];
  if (!row) return undefined;
  if (row.stale) await pool.query('UPDATE sessions SET last_seen_at = now() WHERE id = $1', [id]);
  const { stale: _stale, ...user } = row;
  return user;
}

export async function deleteSession(pool: pg.Pool, token: string): Promise<void> {
  await pool.query('DELETE FROM sessions WHERE id = $1', [sha256(token)]);
}
