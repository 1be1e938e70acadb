import { getJson, patchJson, postJson } from './http';
import type { Role } from './auth';

/** An account as `/api/users` lists it (admins only). */
export interface ManagedUser {
  id: string;
  username: string;
  displayName: string | null;
  role: Role | string;
  /** '*' (admins only) or a 6/9/12-digit area code or a 15-digit grid code. */
  areaCode: string;
  disabled: boolean;
  responderId: string | null;
  createdAt: string;
}

export interface UserPage {
  users: ManagedUser[];
  numberMatched: number;
}

export interface NewUser {
  username: string;
  password: string;
  role: Role;
  areaCode: string;
  displayName?: string;
}

export interface UserChange {
  role?: Role;
  areaCode?: string;
  displayName?: string;
  disabled?: boolean;
}

/** One row of the audit log. `before`/`after` are whatever JSON the server recorded. */
export interface AuditEntry {
  id: number;
  at: string;
  actorId: string | null;
  actorUsername: string | null;
  actorRole: string | null;
  action: string;
  entity: string;
  entityId: string | null;
  before: unknown;
  after: unknown;
  ip: string | null;
}

export interface AuditPage {
  entries: AuditEntry[];
  numberMatched: number;
}

export interface AuditFilter {
  action?: string;
  entity?: string;
  entityId?: string;
  actor?: string;
  /** ISO date-times (UTC). */
  from?: string;
  to?: string;
}

/** Minimum password length the server accepts (server/src/auth/passwords.ts). */
export const MIN_PASSWORD_LENGTH = 10;

/** Valid area codes: '*' or 6/9/12-digit area codes or a 15-digit grid code. */
export const AREA_CODE_PATTERN = /^(\*|[0-9]{6}([0-9]{3}){0,3})$/;

/** Valid usernames (server/src/auth/users.ts). */
export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9_.-]{2,39}$/;

const blankToUndefined = (v: string | undefined) => (v && v.trim() ? v.trim() : undefined);

export function listUsers(opts: { limit: number; offset: number; q?: string }, signal?: AbortSignal): Promise<UserPage> {
  return getJson<UserPage>('/api/users', { query: { limit: opts.limit, offset: opts.offset, q: blankToUndefined(opts.q) }, signal });
}

export function createUser(user: NewUser): Promise<ManagedUser> {
  return postJson<ManagedUser>('/api/users', user);
}

export function updateUser(id: string, change: UserChange): Promise<ManagedUser> {
  return patchJson<ManagedUser>(`/api/users/${encodeURIComponent(id)}`, change);
}

export async function resetPassword(id: string, password: string): Promise<void> {
  await postJson<void>(`/api/users/${encodeURIComponent(id)}/password`, { password });
}

export function listAudit(filter: AuditFilter & { limit: number; offset: number }, signal?: AbortSignal): Promise<AuditPage> {
  return getJson<AuditPage>('/api/audit', {
    query: {
      limit: filter.limit,
      offset: filter.offset,
      action: blankToUndefined(filter.action),
      entity: blankToUndefined(filter.entity),
      entityId: blankToUndefined(filter.entityId),
      actor: blankToUndefined(filter.actor),
      from: filter.from,
      to: filter.to,
    },
    signal,
  });
}
