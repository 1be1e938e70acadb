/**
 * The SQL of signing in: sessions (stored by the SHA-256 of their token) and the account lookup
 * by username (the attempt counters: throttle.repository.ts).
 */
import { sql } from 'kysely';
import type { Db } from '../db/transaction.js';
import { compiledOnce } from '../db/compiled.js';
import { viewerDepartment } from './scope.repository.js';
import type { Role } from './permissions.js';

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

// Interval arithmetic on the database clock: the builder has no interval values.
const secondsAgo = (seconds: number) => sql<Date>`now() - make_interval(secs => ${seconds})`;
const secondsFromNow = (seconds: number) => sql<Date>`now() + make_interval(secs => ${seconds})`;

/** Stores a session that ends `absoluteSeconds` from now; returns that moment. */
export async function insertSession(
  db: Db,
  s: { id: string; userId: string; absoluteSeconds: number; ip: string; userAgent?: string },
): Promise<Date> {
  const row = await db
    .insertInto('sessions')
    .values((eb) => ({
      id: s.id,
      user_id: s.userId,
      expires_at: secondsFromNow(s.absoluteSeconds),
      ip: s.ip,
      // Cut in SQL, where the limit counts characters rather than UTF-16 units.
      user_agent: eb.fn<string>('left', [eb.val(s.userAgent ?? null), eb.lit(500)]),
    }))
    .returning('expires_at')
    .executeTakeFirstOrThrow();
  return row.expires_at;
}

/** The session lookup (a miss of the session cache, auth/session-cache.ts): compiled once (db/compiled.ts). */
const sessionUserRow = compiledOnce((db: Db, [id, idleSeconds]: [string, number]) =>
  db
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .leftJoin('responders as r', 'r.user_id', 'u.id')
    .select((eb) => [
      'u.id', 'u.username', 'u.display_name', 'u.role', 'u.area_code',
      viewerDepartment(eb.ref('u.role'), eb.ref('u.department_code')).as('department_code'),
      'r.id as responder_id', 's.id as session_id',
      // Seconds on the database clock (epoch arithmetic the builder cannot say): the cache turns
      // them into deadlines on its own clock.
      sql<number>`extract(epoch FROM s.expires_at - now())`.as('expires_in'),
      sql<number>`extract(epoch FROM now() - s.last_seen_at)`.as('seen_ago'),
    ])
    .where('s.id', '=', id)
    .where('s.expires_at', '>', (eb) => eb.fn<Date>('now'))
    .where('s.last_seen_at', '>', secondsAgo(idleSeconds))
    .where('u.disabled', '=', false));

/** A live session's user and its clocks: seconds until its absolute end, seconds since it was last touched. */
export interface FoundSession {
  user: SessionUser;
  expiresInSeconds: number;
  seenSecondsAgo: number;
}

/**
 * The user of a live session: not past its absolute end, not idle longer than `idleSeconds`,
 * account enabled.
 */
export async function findSessionUser(db: Db, id: string, idleSeconds: number): Promise<FoundSession | undefined> {
  const [row] = await sessionUserRow(db, id, idleSeconds);
  if (!row) return undefined;
  return {
    expiresInSeconds: Number(row.expires_in),
    seenSecondsAgo: Math.max(0, Number(row.seen_ago)),
    user: {
      id: row.id,
      username: row.username,
      displayName: row.display_name,
      role: row.role as Role,
      areaCode: row.area_code,
      responderId: row.responder_id,
      departmentCode: row.department_code,
      sessionId: row.session_id,
    },
  };
}

/** Marks a session as used now (the idle clock restarts). */
export async function touchSession(db: Db, id: string): Promise<void> {
  await db.updateTable('sessions').set((eb) => ({ last_seen_at: eb.fn('now') })).where('id', '=', id).execute();
}

export async function deleteSession(db: Db, id: string): Promise<void> {
  await db.deleteFrom('sessions').where('id', '=', id).execute();
}

/**
 * The channel on which migration 0009's triggers say which cached sessions to drop: 's:<session
 * id>', 'u:<user id>' or '*' (auth/session-cache.ts).
 */
export const SESSION_CHANNEL = 'wangge_sessions';

/**
 * Subscribes `client` to SESSION_CHANNEL. A LISTEN belongs to one session: the session cache runs
 * it on its own connection and on each connection of the pool (a connection that commits a change
 * then hears of it before its COMMIT answers).
 */
export async function listenForSessionChanges(client: { query(text: string): Promise<unknown> }): Promise<void> {
  await client.query(`LISTEN ${SESSION_CHANNEL}`);
}

/** The account a sign-in names, with what checking it needs. */
export async function findAccount(
  db: Db,
  username: string,
): Promise<{ id: string; passwordHash: string; disabled: boolean } | undefined> {
  const row = await db
    .selectFrom('users')
    .select(['id', 'password_hash', 'disabled'])
    .where('username', '=', username)
    .executeTakeFirst();
  return row && { id: row.id, passwordHash: row.password_hash, disabled: row.disabled };
}
