import { ApiProblem } from '@/api/http';

/** Any failure as an {@link ApiProblem} (the stores show only those). */
export const asProblem = (err: unknown) =>
  err instanceof ApiProblem ? err : new ApiProblem({ type: 'about:blank', title: String(err), status: 0, code: 'CLIENT_ERROR' });

export const isAbort = (err: unknown) => err instanceof DOMException && err.name === 'AbortError';
