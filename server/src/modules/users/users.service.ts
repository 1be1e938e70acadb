/**
 * Account management: the rules (valid fields, assignable areas, what ends sessions) around the
 * users repository, each write in one transaction with its audit row. Used by the API, the CLI
 * and the demo seed.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/types.js';
import { inTransaction, type Db } from '../../db/transaction.js';
import { ApiError } from '../../plugins/errors.js';
import { hashPassword, passwordProblem } from '../../auth/passwords.js';
import { isAreaCode, isRole, ROLES, type Role } from '../../auth/permissions.js';
import { inScope } from '../../auth/scope.js';
import type { SessionUser } from '../../auth/sessions.js';
import { appendAudit, type AuditContext } from '../audit/audit.repository.js';
import { departmentExists } from '../incidents/incidents.repository.js';
import * as repo from './users.repository.js';
import type { User } from './users.repository.js';

/** A field a person can fix: 400 INVALID_PARAMETER, or 409 CONFLICT for a taken username. The CLI prints its message. */
export class UserInputError extends ApiError {
  constructor(message: string, conflict = false) {
    super(conflict ? 409 : 400, conflict ? 'CONFLICT' : 'INVALID_PARAMETER', message);
  }
}

export interface NewUser {
  username: string;
  password: string;
  role: Role;
  areaCode: string;
  displayName?: string;
  /** The department a department account works for (its queue). */
  departmentCode?: string;
}

/** Checks a new account's fields; throws UserInputError with a message a person can act on. */
export function validateNewUser(u: NewUser): void {
  if (!/^[a-z0-9][a-z0-9_.-]{2,39}$/.test(u.username)) {
    throw new UserInputError('username: 3–40 characters, lower-case letters, digits, "_", "." or "-", starting with a letter or digit');
  }
  if (!isRole(u.role)) throw new UserInputError(`role must be one of ${ROLES.join(', ')}`);
  if (!isAreaCode(u.areaCode)) throw new UserInputError('area must be * or a 6/9/12-digit area code or a 15-digit grid code');
  if (u.areaCode === '*' && u.role !== 'admin') throw new UserInputError('only admins may have the whole installation (*) as their area');
  departmentRule(u.role, u.departmentCode);
  const weak = passwordProblem(u.password);
  if (weak) throw new UserInputError(weak);
}

/** A department account works for a department (its queue); no other role has one. */
function departmentRule(role: string, departmentCode: string | null | undefined): void {
  if (role === 'department' && !departmentCode) {
    throw new UserInputError('departmentCode: a department account needs its department (the codes: GET /api/meta, departments)');
  }
  if (role !== 'department' && departmentCode) throw new UserInputError(`departmentCode: only department accounts have a department (role ${role})`);
}

/** 422 UNKNOWN_DEPARTMENT unless `code` names a department. */
async function assertDepartment(db: Db, code: string | null | undefined): Promise<void> {
  if (code && !(await departmentExists(db, code))) throw new ApiError(422, 'UNKNOWN_DEPARTMENT', `no department "${code}"`);
}

/**
 * Creates an account in one transaction; a grid worker gets its responder record (linked to the
 * account, home grid when the area is a grid). With `audit`, the same transaction appends the
 * `user.create` row (the CLI and the demo seed create accounts unaudited).
 */
export async function createUser(db: Kysely<DB>, u: NewUser, audit?: AuditContext): Promise<User> {
  validateNewUser(u);
  const passwordHash = await hashPassword(u.password);
  return inTransaction(db, async (trx) => {
    if (await repo.findUserId(trx, u.username)) throw new UserInputError(`username "${u.username}" is taken`, true);
    if (u.areaCode !== '*' && !(await repo.areaOrGridExists(trx, u.areaCode))) {
      throw new UserInputError(`no area or grid with code ${u.areaCode}`);
    }
    await assertDepartment(trx, u.departmentCode);
    const id = await repo.insertUser(trx, { ...u, passwordHash });
    if (u.role === 'grid_worker') await repo.insertWorkerResponder(trx, id, u.displayName ?? u.username, u.areaCode);
    const user = (await repo.getUserUnscoped(trx, id))!;
    if (audit) await appendAudit(trx, audit, { action: 'user.create', entity: 'user', entityId: id, after: user });
    return user;
  });
}

/** Who manages accounts through the API, and the request's audit details. */
export interface Manager {
  user: SessionUser;
  ip: string;
  requestId: string;
}

/** An admin manages the accounts of their own area and assigns only areas under it. */
function assertAssignable(manager: Manager, areaCode: string): void {
  const scope = manager.user.areaCode;
  if (!inScope(scope, areaCode)) throw new ApiError(403, 'FORBIDDEN', `you may only assign areas under ${scope}`);
}

/** An account the manager may see; out of their area is unknown (404). */
async function managedUser(db: Db, manager: Manager, id: string): Promise<User> {
  const user = await repo.getUser(db, id, manager.user.areaCode);
  if (!user) throw new ApiError(404, 'NOT_FOUND', `no user "${id}"`);
  return user;
}

/** Creates an account on behalf of an admin, within the admin's area; audited. */
export async function addUser(db: Kysely<DB>, manager: Manager, u: NewUser): Promise<User> {
  assertAssignable(manager, u.areaCode);
  // Field by field: the request body may carry more than the API declares.
  const { username, password, role, areaCode, displayName, departmentCode } = u;
  return createUser(db, { username, password, role, areaCode, displayName, departmentCode }, manager);
}

/** What an admin may change of an account. */
export interface UserChange {
  role?: Role;
  areaCode?: string;
  /** A department account's department; leaving the role drops it. */
  departmentCode?: string;
  displayName?: string;
  disabled?: boolean;
}

/** Changes an account; a change of what it may do or see ends its sessions. Audited with before and after. */
export async function changeUser(db: Kysely<DB>, manager: Manager, id: string, change: UserChange): Promise<User> {
  return inTransaction(db, async (trx) => {
    const before = await managedUser(trx, manager, id);
    if (change.areaCode !== undefined) assertAssignable(manager, change.areaCode);
    const role = change.role ?? before.role;
    const areaCode = change.areaCode ?? before.areaCode;
    if (areaCode === '*' && role !== 'admin') throw new UserInputError('only admins may have the whole installation (*) as their area');
    // A department stays with a department account unless changed; another role has none.
    const kept = before.role === 'department' ? before.departmentCode : null;
    const departmentCode = change.departmentCode ?? (role === 'department' ? kept : null);
    departmentRule(role, departmentCode);
    await assertDepartment(trx, departmentCode);
    if (before.id === manager.user.id && (change.disabled || (change.role && change.role !== 'admin'))) {
      throw new ApiError(409, 'CONFLICT', 'you cannot disable or demote your own account');
    }
    await repo.updateUser(trx, before.id, { role, areaCode, departmentCode, displayName: change.displayName, disabled: change.disabled });
    const sees = role !== before.role || areaCode !== before.areaCode || departmentCode !== before.departmentCode;
    if (change.disabled || sees) await repo.endSessions(trx, before.id);
    const after = (await repo.getUserUnscoped(trx, before.id))!;
    await appendAudit(trx, manager, { action: 'user.update', entity: 'user', entityId: before.id, before, after });
    return after;
  });
}

async function hashNewPassword(password: string): Promise<string> {
  const weak = passwordProblem(password);
  if (weak) throw new UserInputError(weak);
  return hashPassword(password);
}

/** Stores a new password hash, ends the account's sessions and appends the audit row. */
async function storePassword(trx: Db, userId: string, passwordHash: string, ctx: AuditContext, after?: unknown): Promise<void> {
  await repo.setPasswordHash(trx, userId, passwordHash);
  await repo.endSessions(trx, userId);
  await appendAudit(trx, ctx, { action: 'user.reset_password', entity: 'user', entityId: userId, after });
}

/** An admin sets a new password for an account of their area; its sessions end. */
export async function resetPassword(db: Kysely<DB>, manager: Manager, id: string, password: string): Promise<void> {
  const user = await managedUser(db, manager, id);
  const passwordHash = await hashNewPassword(password);
  await inTransaction(db, (trx) => storePassword(trx, user.id, passwordHash, manager));
}

/** The CLI sets a new password by username; false when there is no such account. */
export async function resetPasswordByUsername(db: Kysely<DB>, username: string, password: string): Promise<boolean> {
  const passwordHash = await hashNewPassword(password);
  return inTransaction(db, async (trx) => {
    const id = await repo.findUserId(trx, username);
    if (!id) return false;
    await storePassword(trx, id, passwordHash, {}, { via: 'cli' });
    return true;
  });
}

/** The CLI disables an account by username and ends its sessions; false when there is no such account. */
export async function disableByUsername(db: Kysely<DB>, username: string): Promise<boolean> {
  return inTransaction(db, async (trx) => {
    const id = await repo.findUserId(trx, username);
    if (!id) return false;
    await repo.disableUser(trx, id);
    await repo.endSessions(trx, id);
    await appendAudit(trx, {}, { action: 'user.disable', entity: 'user', entityId: id, after: { disabled: true, via: 'cli' } });
    return true;
  });
}
