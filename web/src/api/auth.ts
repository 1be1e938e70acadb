import { getJson, postJson } from './http';

/** Roles of the API (server/src/auth/permissions.ts). */
export const ROLES = ['admin', 'commander', 'planner', 'grid_worker', 'department', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** The signed-in user as `/api/auth/me` and `/api/auth/login` describe them. */
export interface SessionUser {
  id: string;
  username: string;
  displayName: string | null;
  role: Role | string;
  /** '*' (everything) or a 6/9/12/15-digit area or grid code the user's data is limited to. */
  areaCode: string;
  responderId: string | null;
}

export async function login(username: string, password: string): Promise<SessionUser> {
  const body = await postJson<{ user: SessionUser }>('/api/auth/login', { username, password });
  return body.user;
}

export async function logout(): Promise<void> {
  await postJson<void>('/api/auth/logout');
}

export function fetchMe(signal?: AbortSignal): Promise<SessionUser> {
  return getJson<SessionUser>('/api/auth/me', { signal });
}
