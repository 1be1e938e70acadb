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

/** GETs JSON from the API; throws {@link ApiProblem} for every non-2xx answer or network failure. */
export async function getJson<T>(path: string, opts: { query?: Query; signal?: AbortSignal } = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(absoluteUrl(path, opts.query), {
      headers: { Accept: 'application/json, application/geo+json, application/problem+json' },
      signal: opts.signal,
      credentials: 'same-origin',
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiProblem({ type: 'about:blank', title: 'Network error', status: 0, code: 'NETWORK_ERROR', detail: String(err) });
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (!response.ok) {
    if (isProblem(body)) throw new ApiProblem(body);
    throw new ApiProblem({ type: 'about:blank', title: response.statusText || 'HTTP error', status: response.status, code: 'HTTP_ERROR' });
  }
  if (body === undefined) {
    throw new ApiProblem({ type: 'about:blank', title: 'Invalid response', status: response.status, code: 'INVALID_RESPONSE' });
  }
  return body as T;
}
