import fp from 'fastify-plugin';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { clientClosed } from '../logging.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * How this route's schema-validation failures are answered where they differ from the default
     * (INVALID_PARAMETER; INVALID_LIMIT / INVALID_BBOX for those query parameters). The one error
     * handler below reads it; routes never map validation errors themselves.
     */
    validation?: ValidationHints;
  }
}

/** Route-specific codes for validation failures (see FastifyContextConfig.validation). */
export interface ValidationHints {
  /** The code of a bad body, query or header (default INVALID_PARAMETER). */
  code?: ProblemCode;
  /** A malformed path parameter is an unknown resource: 404 NOT_FOUND. */
  paramsNotFound?: boolean;
  /** Body paths (JSON pointer prefixes, e.g. '/location') whose failures are INVALID_GEOMETRY. */
  geometry?: readonly string[];
}

/** Stable machine codes of the API's problem responses. Later modules add theirs here. */
export type ProblemCode =
  | 'INVALID_BBOX'
  | 'INVALID_LIMIT'
  | 'INVALID_PARAMETER'
  | 'UNKNOWN_COLLECTION'
  | 'UNKNOWN_LAYER'
  | 'NOT_FOUND'
  | 'TILE_OUT_OF_RANGE'
  | 'INVALID_GEOMETRY'
  | 'INVALID_FILE'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'DATABASE_UNAVAILABLE'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'CSRF_REJECTED'
  | 'INVALID_CREDENTIALS'
  | 'RATE_LIMITED'
  | 'CONFLICT'
  | 'VALIDATION_FAILED'
  | 'OUTSIDE_ALL_GRIDS'
  | 'UNKNOWN_CATEGORY'
  | 'UNKNOWN_DEPARTMENT'
  | 'OUT_OF_SCOPE'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'INVALID_TRANSITION'
  | 'NOTE_REQUIRED'
  | 'ALREADY_ASSIGNED'
  | 'ALREADY_RATED'
  | 'VERSION_CONFLICT'
  | 'PROPOSAL_INVALID'
  | 'SUCCESSOR_REQUIRED'
  | 'RESPONDER_UNAVAILABLE'
  | 'TOO_MANY_PHOTOS'
  | 'INVALID_PHOTOS'
  | 'PHOTO_REQUIRED'
  | 'NO_RESPONDER'
  | 'INTERNAL_ERROR';

const TITLES: Record<ProblemCode, string> = {
  INVALID_BBOX: 'Invalid bounding box',
  INVALID_LIMIT: 'Invalid limit',
  INVALID_PARAMETER: 'Invalid parameter',
  UNKNOWN_COLLECTION: 'Unknown collection',
  UNKNOWN_LAYER: 'Unknown tile layer',
  NOT_FOUND: 'Not found',
  TILE_OUT_OF_RANGE: 'Tile address out of range',
  INVALID_GEOMETRY: 'Invalid geometry',
  INVALID_FILE: 'Invalid file',
  PAYLOAD_TOO_LARGE: 'Payload too large',
  UNSUPPORTED_MEDIA_TYPE: 'Unsupported media type',
  DATABASE_UNAVAILABLE: 'Database unavailable',
  UNAUTHENTICATED: 'Authentication required',
  FORBIDDEN: 'Forbidden',
  CSRF_REJECTED: 'Cross-site request rejected',
  INVALID_CREDENTIALS: 'Invalid credentials',
  RATE_LIMITED: 'Too many requests',
  CONFLICT: 'Conflict',
  VALIDATION_FAILED: 'Validation failed',
  OUTSIDE_ALL_GRIDS: 'Location outside every grid',
  UNKNOWN_CATEGORY: 'Unknown category',
  UNKNOWN_DEPARTMENT: 'Unknown department',
  OUT_OF_SCOPE: 'Outside your area',
  IDEMPOTENCY_KEY_REUSED: 'Idempotency key reused',
  INVALID_TRANSITION: 'Invalid transition',
  NOTE_REQUIRED: 'Note required',
  ALREADY_ASSIGNED: 'Already assigned',
  ALREADY_RATED: 'Already rated',
  VERSION_CONFLICT: 'Version conflict',
  PROPOSAL_INVALID: 'Proposal invalid',
  SUCCESSOR_REQUIRED: 'Successor required',
  RESPONDER_UNAVAILABLE: 'Responder unavailable',
  TOO_MANY_PHOTOS: 'Too many photos',
  INVALID_PHOTOS: 'Invalid photos',
  PHOTO_REQUIRED: 'Photo required',
  NO_RESPONDER: 'No responder record',
  INTERNAL_ERROR: 'Internal server error',
};

/** An error a client can act on; rendered as RFC 9457 problem+json. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ProblemCode,
    detail: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail);
  }
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ProblemCode;
  instance?: string;
  [key: string]: unknown;
}

export function problem(status: number, code: ProblemCode, detail: string, extra: Record<string, unknown> = {}): Problem {
  return { type: `/api/problems/${code.toLowerCase().replace(/_/g, '-')}`, title: TITLES[code], status, detail, code, ...extra };
}

function sendProblem(reply: FastifyReply, request: FastifyRequest, p: Problem) {
  if (p.status === 503) reply.header('Retry-After', '5');
  if (p.status === 429 && typeof p.retryAfterSeconds === 'number') reply.header('Retry-After', String(p.retryAfterSeconds));
  return reply
    .code(p.status)
    .type('application/problem+json; charset=utf-8')
    .send({ ...p, instance: request.url.split('?')[0] });
}

const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08006']);

const ABORT_ERRORS = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED']);

/** The request's own socket closed under it (the client went away), not a failure of ours. */
function isClientAbort(error: FastifyError, request: FastifyRequest): boolean {
  return clientClosed(request) && (ABORT_ERRORS.has(String(error.code)) || error.message === 'aborted');
}

/** True for failures that mean "the database is not answering" rather than a bad query. */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (e?.code && CONNECTION_ERRORS.has(e.code)) return true;
  return /Connection terminated|timeout exceeded when trying to connect|connect ECONNREFUSED|Client has encountered a connection error/i.test(
    e?.message ?? '',
  );
}

/** Maps a validation failure to the most specific stable code, following the route's hints. */
function validationProblem(error: FastifyError, hints: ValidationHints = {}): Problem {
  const v = error.validation?.[0] as { instancePath?: string; params?: { missingProperty?: string } } | undefined;
  const path = v?.instancePath ?? '';
  const where = path.replace(/^\//, '') || v?.params?.missingProperty || '';
  const context = error.validationContext ?? 'request';
  const detail = `${context}${where ? ` "${where}"` : ''}: ${error.message.replace(/^(querystring|params|body|headers)\/?\S*\s/, '')}`;
  if (context === 'params' && hints.paramsNotFound) return problem(404, 'NOT_FOUND', detail);
  if (context === 'querystring' && where === 'limit') return problem(400, 'INVALID_LIMIT', detail);
  if (context === 'querystring' && where === 'bbox') return problem(400, 'INVALID_BBOX', detail);
  if (context === 'body' && hints.geometry?.some((prefix) => path.startsWith(prefix))) return problem(400, 'INVALID_GEOMETRY', detail);
  return problem(400, hints.code ?? 'INVALID_PARAMETER', detail);
}

/** One error shape for the whole API: RFC 9457 problem+json with a stable `code`; 5xx details hidden. */
export default fp(
  async function errors(app: FastifyInstance) {
    app.setErrorHandler((error: FastifyError, request, reply) => {
      // The client closed the connection before the answer and this error is that (e.g. an upload
      // cancelled: Node says ECONNRESET "aborted", as a dropped database connection would). No one
      // will read the answer; the onRequestAbort hook (app.ts) has logged it at the request level.
      // Not an outage, not an error.
      if (isClientAbort(error, request)) return sendProblem(reply, request, problem(400, 'INVALID_PARAMETER', 'the client closed the request'));
      if (error instanceof ApiError) {
        return sendProblem(reply, request, problem(error.status, error.code, error.message, error.extra));
      }
      if (error.validation) return sendProblem(reply, request, validationProblem(error, request.routeOptions.config?.validation));
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        return sendProblem(reply, request, problem(413, 'PAYLOAD_TOO_LARGE', `request body exceeds ${app.initialConfig.bodyLimit} bytes`));
      }
      if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
        return sendProblem(reply, request, problem(415, 'UNSUPPORTED_MEDIA_TYPE', 'unsupported Content-Type'));
      }
      // PostgreSQL "data exception" (class 22): a bound value it cannot take, e.g. a NUL character
      // in text or an out-of-range number. The client sent it; it can fix it.
      if (/^22[0-9A-Z]{3}$/.test(String((error as { code?: unknown }).code ?? ''))) {
        return sendProblem(reply, request, problem(400, 'INVALID_PARAMETER', 'a parameter holds a value the database cannot accept (e.g. a NUL character)'));
      }
      if (isDatabaseUnavailable(error)) {
        request.log.warn({ err: error, statusCode: 503 }, 'database unavailable');
        return sendProblem(reply, request, problem(503, 'DATABASE_UNAVAILABLE', 'the database is not answering; retry shortly'));
      }
      const status = error.statusCode ?? 500;
      if (status >= 400 && status < 500) {
        return sendProblem(reply, request, problem(status, 'INVALID_PARAMETER', error.message));
      }
      request.log.error({ err: error, statusCode: 500 }, 'unhandled error');
      return sendProblem(reply, request, problem(500, 'INTERNAL_ERROR', 'an unexpected error occurred; it has been logged'));
    });

    app.setNotFoundHandler((request, reply) =>
      sendProblem(reply, request, problem(404, 'NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0]}`)),
    );
  },
  { name: 'errors' },
);
