import { api, call, type ApiBody, type ApiResponse } from './http';

/** Roles an account may have (the body of `POST /api/users`), in the order the admin view lists them. */
export type Role = ApiBody<'/api/users'>['role'];
export const ROLES: readonly Role[] = ['admin', 'commander', 'planner', 'grid_worker', 'department', 'viewer'];

/** The signed-in user as `/api/auth/me` and `/api/auth/login` describe them. */
export type SessionUser = ApiResponse<'/api/auth/me'>;

export async function login(username: string, password: string): Promise<SessionUser> {
  const body = await call(api.POST('/api/auth/login', { body: { username, password } }));
  return body.user;
}

export async function logout(): Promise<void> {
  await call(api.POST('/api/auth/logout'), { allowEmpty: true });
}

/**
 * The signed-in user, or null (`/api/auth/session`: 200 either way, so a tab that is not signed in
 * makes no failed request — the browser logs every one on its console).
 */
export async function fetchSession(signal?: AbortSignal): Promise<SessionUser | null> {
  return (await call(api.GET('/api/auth/session', { signal }))).user;
}
