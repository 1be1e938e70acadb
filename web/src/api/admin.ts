import { api, call, type ApiBody, type ApiQuery, type ApiResponse } from './http';

/** An account as `/api/users` lists it (admins only). */
export type ManagedUser = ApiResponse<'/api/users'>['users'][number];
export type UserPage = ApiResponse<'/api/users'>;
export type NewUser = ApiBody<'/api/users'>;
export type UserChange = ApiBody<'/api/users/{id}', 'patch'>;

/** One row of the audit log. `before`/`after` are whatever JSON the server recorded. */
export type AuditEntry = ApiResponse<'/api/audit'>['entries'][number];
export type AuditPage = ApiResponse<'/api/audit'>;
export type AuditFilter = Pick<ApiQuery<'/api/audit'>, 'action' | 'entity' | 'entityId' | 'actor' | 'from' | 'to'>;

/** Minimum password length the server accepts (server/src/auth/passwords.ts). */
export const MIN_PASSWORD_LENGTH = 10;

/** Valid area codes: '*' or 6/9/12-digit area codes or a 15-digit grid code. */
export const AREA_CODE_PATTERN = /^(\*|[0-9]{6}([0-9]{3}){0,3})$/;

/** Valid usernames (server/src/auth/users.ts). */
export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9_.-]{2,39}$/;

const blankToUndefined = (v: string | undefined) => (v && v.trim() ? v.trim() : undefined);

export function listUsers(opts: { limit: number; offset: number; q?: string }, signal?: AbortSignal): Promise<UserPage> {
  return call(api.GET('/api/users', { params: { query: { limit: opts.limit, offset: opts.offset, q: blankToUndefined(opts.q) } }, signal }));
}

export function createUser(user: NewUser): Promise<ManagedUser> {
  return call(api.POST('/api/users', { body: user }));
}

export function updateUser(id: string, change: UserChange): Promise<ManagedUser> {
  return call(api.PATCH('/api/users/{id}', { params: { path: { id } }, body: change }));
}

export async function resetPassword(id: string, password: string): Promise<void> {
  await call(api.POST('/api/users/{id}/password', { params: { path: { id } }, body: { password } }), { allowEmpty: true });
}

export function listAudit(filter: AuditFilter & { limit: number; offset: number }, signal?: AbortSignal): Promise<AuditPage> {
  return call(api.GET('/api/audit', {
    params: {
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
    },
    signal,
  }));
}
