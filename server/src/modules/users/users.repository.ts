/** All SQL of accounts: reading them (scoped to an admin's area), creating, changing, disabling. */
import type { Db } from '../../db/transaction.js';
import { likeLiteral } from '../../db/text.js';
import { type AreaCode } from '../../auth/scope.js';
import { codeInScope } from '../../auth/scope.repository.js';
import type { Role } from '../../auth/permissions.js';
import type { Static } from 'typebox';
import type { User as UserSchema } from './users.schemas.js';

/** An account as the API answers it (users.schemas.ts). */
export type User = Static<typeof UserSchema>;

/** An account as `pnpm cli user list` prints it. */
export interface UserListing {
  username: string;
  role: string;
  areaCode: string;
  disabled: boolean;
  /** YYYY-MM-DD. */
  createdOn: string;
}

/** Accounts of `scope` (the one area rule, auth/scope.ts). */
const usersOf = (db: Db, scope: AreaCode) => db.selectFrom('users as u').where((eb) => codeInScope(eb.ref('u.area_code'), scope));

/** The columns of `User`, with the linked responder. */
const withUserColumns = (accounts: ReturnType<typeof usersOf>) =>
  accounts
    .leftJoin('responders as r', 'r.user_id', 'u.id')
    .select(['u.id', 'u.username', 'u.display_name', 'u.role', 'u.area_code', 'u.department_code', 'u.disabled', 'r.id as responder_id', 'u.created_at']);

type UserRow = Awaited<ReturnType<ReturnType<typeof withUserColumns>['executeTakeFirstOrThrow']>>;

const toUser = (r: UserRow): User => ({
  id: r.id,
  username: r.username,
  displayName: r.display_name,
  role: r.role,
  areaCode: r.area_code,
  disabled: r.disabled,
  responderId: r.responder_id,
  departmentCode: r.department_code,
  createdAt: r.created_at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
});

/** Accounts whose area lies under `scope`, by username; `q` matches username or display name literally, ignoring case. */
export async function listUsers(
  db: Db,
  scope: AreaCode,
  opts: { limit: number; offset: number; q?: string },
): Promise<{ users: User[]; numberMatched: number }> {
  let matching = usersOf(db, scope);
  if (opts.q !== undefined) {
    // The search text is matched literally: its own %, _ and \ are escaped (LIKE's default escape is \).
    const pattern = likeLiteral(opts.q);
    matching = matching.where((eb) => eb.or([eb('u.username', 'ilike', pattern), eb('u.display_name', 'ilike', pattern)]));
  }
  const [rows, count] = await Promise.all([
    withUserColumns(matching)
      .orderBy('u.username')
      .limit(opts.limit)
      .offset(opts.offset)
      .execute(),
    matching.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { users: rows.map(toUser), numberMatched: count.n };
}

/** One account, when its area lies under `scope`. */
export async function getUser(db: Db, id: string, scope: AreaCode): Promise<User | undefined> {
  const row = await withUserColumns(usersOf(db, scope).where('u.id', '=', id)).executeTakeFirst();
  return row && toUser(row);
}

/** An account by id whatever its area: the answer after an admin's own write. */
export async function getUserUnscoped(db: Db, id: string): Promise<User | undefined> {
  const row = await withUserColumns(db.selectFrom('users as u').where('u.id', '=', id)).executeTakeFirst();
  return row && toUser(row);
}

/** The id of the account named `username`, if there is one. */
export async function findUserId(db: Db, username: string): Promise<string | undefined> {
  const row = await db.selectFrom('users').select('id').where('username', '=', username).executeTakeFirst();
  return row?.id;
}

/** True when `code` names an area or a grid. */
export async function areaOrGridExists(db: Db, code: string): Promise<boolean> {
  const row = await db
    .selectFrom('areas')
    .select('code')
    .where('code', '=', code)
    .unionAll(db.selectFrom('grids').select('code').where('code', '=', code))
    .executeTakeFirst();
  return row !== undefined;
}

/** Stores a new account; returns its id. */
export async function insertUser(
  db: Db,
  u: { username: string; displayName?: string; passwordHash: string; role: Role; areaCode: string; departmentCode?: string },
): Promise<string> {
  const row = await db
    .insertInto('users')
    .values({
      username: u.username,
      display_name: u.displayName ?? null,
      password_hash: u.passwordHash,
      role: u.role,
      area_code: u.areaCode,
      department_code: u.departmentCode ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** The responder record of a grid worker's account, off duty, at home in the grid `homeGridCode` (none when it is not a grid's code). */
export async function insertWorkerResponder(db: Db, userId: string, name: string, homeGridCode: string): Promise<string> {
  const row = await db
    .insertInto('responders')
    .values((eb) => ({
      kind: 'grid_worker',
      name,
      status: 'off_duty',
      home_grid_id: eb.selectFrom('grids').select('id').where('code', '=', homeGridCode),
      user_id: userId,
    }))
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Sets role, area and department, and display name and disabled where given. */
export async function updateUser(
  db: Db,
  id: string,
  change: { role: string; areaCode: string; departmentCode: string | null; displayName?: string; disabled?: boolean },
): Promise<void> {
  await db
    .updateTable('users')
    .set((eb) => ({
      role: change.role,
      area_code: change.areaCode,
      department_code: change.departmentCode,
      ...(change.displayName !== undefined && { display_name: change.displayName }),
      ...(change.disabled !== undefined && { disabled: change.disabled }),
      updated_at: eb.fn('now'),
    }))
    .where('id', '=', id)
    .execute();
}

export async function disableUser(db: Db, id: string): Promise<void> {
  await db.updateTable('users').set((eb) => ({ disabled: true, updated_at: eb.fn('now') })).where('id', '=', id).execute();
}

export async function setPasswordHash(db: Db, id: string, passwordHash: string): Promise<void> {
  await db
    .updateTable('users')
    .set((eb) => ({ password_hash: passwordHash, password_changed_at: eb.fn('now'), updated_at: eb.fn('now') }))
    .where('id', '=', id)
    .execute();
}

/** Ends every session of an account. */
export async function endSessions(db: Db, userId: string): Promise<void> {
  await db.deleteFrom('sessions').where('user_id', '=', userId).execute();
}

/** Every account, by username (the CLI's list; not scoped). */
export async function listAllUsers(db: Db): Promise<UserListing[]> {
  const rows = await db
    .selectFrom('users')
    .select((eb) => [
      'username', 'role', 'area_code', 'disabled',
      // The day in the database's time zone.
      eb.fn<string>('to_char', ['created_at', eb.val('YYYY-MM-DD')]).as('created'),
    ])
    .orderBy('username')
    .execute();
  return rows.map((r) => ({ username: r.username, role: r.role, areaCode: r.area_code, disabled: r.disabled, createdOn: r.created }));
}
