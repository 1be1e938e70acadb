/**
 * The one HTTP client of the web app: same-origin JSON over fetch, errors turned into
 * {@link ApiProblem} from the server's RFC 9457 problem+json bodies.
 */

/** An RFC 9457 problem as the server sends it, with its stable machine `code`. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: string;
  instance?: string;
  [key: string]: unknown;
}

/** A failed request: the server's problem, or one made up for network and parse failures. */
export class ApiProblem extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title);
    this.name = 'ApiProblem';
  }

  get status(): number {
    return this.problem.status;
  }

  get code(): string {
    return this.problem.code;
  }
}

export type Query = Record<string, string | number | boolean | undefined>;

/** An absolute same-origin URL for an API path (MapLibre needs absolute URLs for its sources). */
export function absoluteUrl(path: string, query?: Query): string {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined) url.searchParams.set(k, String(v));
  }
  return url.href;
}

function isProblem(body: unknown): body is Problem {
  return typeof body === 'object' && body !== null && 'status' in body && 'code' in body;
}

/**
 * What the app does when the API answers 401 UNAUTHENTICATED (the session ended) or 403 FORBIDDEN
 * (the role may not do this): set once by the session store, so that every request and every
 * map tile reports it the same way.
 */
export interface AuthFailureHandlers {
  unauthenticated(problem: ApiProblem): void;
  forbidden(problem: ApiProblem): void;
}

let authFailureHandlers: AuthFailureHandlers | null = null;

export function onAuthFailure(handlers: AuthFailureHandlers | null): void {
  authFailureHandlers = handlers;
}

/** Paths whose 401 is an answer about credentials, not a lost session. */
const AUTH_PATHS = ['/api/auth/login', '/api/auth/logout', '/api/auth/me'];

/** Passes a failure on to the handlers (401 → the session ended, 403 → not allowed). */
export function reportAuthFailure(problem: ApiProblem, path?: string): void {
  if (path && AUTH_PATHS.some((p) => path.startsWith(p))) return;
  if (problem.status === 401) authFailureHandlers?.unauthenticated(problem);
  else if (problem.status === 403 && problem.code === 'FORBIDDEN') authFailureHandlers?.forbidden(problem);
}

/** Seconds from a Retry-After header (delta-seconds or an HTTP date), or undefined. */
export function retryAfterSeconds(value: string | null): number | undefined {
  if (!value) return undefined;
  const n = Number(value);
  if (Number.isFinite(n)) return Math.max(0, Math.ceil(n));
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** What {@link sendRequest} sends: a query, a JSON or raw body, extra headers. */
export interface RequestOptions {
  query?: Query;
  /** A JSON body. */
  json?: unknown;
  /** A raw body (a photo), sent with `contentType` or the blob's own type. */
  raw?: Blob;
  contentType?: string;
  /** Extra headers (Idempotency-Key, Accept-Language). */
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** An empty answer (204) resolves to undefined instead of failing. */
  allowEmpty?: boolean;
}

/**
 * The one same-origin request of the web app (so the server's CSRF check passes): every non-2xx
 * answer or network failure becomes an {@link ApiProblem}, a 401 ends the session client-side.
 */
export async function sendRequest<T>(method: 'GET' | 'POST' | 'PATCH' | 'PUT', path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = {
    Accept: 'application/json, application/geo+json, application/problem+json',
    ...opts.headers,
  };
  let body: BodyInit | undefined;
  if (opts.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.raw) {
    headers['Content-Type'] = opts.contentType ?? (opts.raw.type || 'application/octet-stream');
    body = opts.raw;
  }
  let response: Response;
  try {
    response = await fetch(absoluteUrl(path, opts.query), { method, headers, body, signal: opts.signal, credentials: 'same-origin' });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiProblem({ type: 'about:blank', title: 'Network error', status: 0, code: 'NETWORK_ERROR', detail: String(err) });
  }
  const parsed: unknown = response.status === 204 ? undefined : await response.json().catch(() => undefined);
  if (!response.ok) {
    const problem = isProblem(parsed)
      ? new ApiProblem(parsed)
      : new ApiProblem({ type: 'about:blank', title: response.statusText || 'HTTP error', status: response.status, code: 'HTTP_ERROR' });
    const wait = retryAfterSeconds(response.headers.get('Retry-After'));
    if (wait !== undefined && typeof problem.problem.retryAfterSeconds !== 'number') problem.problem.retryAfterSeconds = wait;
    reportAuthFailure(problem, path);
    throw problem;
  }
  if (parsed === undefined) {
    if (opts.allowEmpty) return undefined as T;
    throw new ApiProblem({ type: 'about:blank', title: 'Invalid response', status: response.status, code: 'INVALID_RESPONSE' });
  }
  return parsed as T;
}

/** GETs JSON from the API; throws {@link ApiProblem} for every non-2xx answer or network failure. */
export function getJson<T>(path: string, opts: { query?: Query; signal?: AbortSignal } = {}): Promise<T> {
  return sendRequest<T>('GET', path, opts);
}

/** POSTs JSON (same origin, so the server's CSRF check passes); an empty answer (204) is undefined. */
export function postJson<T>(path: string, body?: unknown, opts: { signal?: AbortSignal } = {}): Promise<T> {
  return sendRequest<T>('POST', path, { json: body, signal: opts.signal, allowEmpty: true });
}

/** PATCHes JSON (same origin, like {@link postJson}). */
export function patchJson<T>(path: string, body: unknown, opts: { signal?: AbortSignal } = {}): Promise<T> {
  return sendRequest<T>('PATCH', path, { json: body, signal: opts.signal });
}
