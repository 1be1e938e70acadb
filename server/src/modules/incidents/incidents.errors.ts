import { ApiError, type ProblemCode } from '../../plugins/errors.js';

/**
 * Problem codes of the incidents module (docs/command-centre-api.md). They are not (yet) members of
 * the shared ProblemCode union in plugins/errors.ts, so each carries its own title, which
 * overrides the generic one when the problem is rendered.
 */
const TITLES = {
  VALIDATION_FAILED: 'Validation failed',
  OUTSIDE_ALL_GRIDS: 'Location outside every grid',
  UNKNOWN_CATEGORY: 'Unknown category',
  UNKNOWN_DEPARTMENT: 'Unknown department',
  OUT_OF_SCOPE: 'Outside your area',
  IDEMPOTENCY_KEY_REUSED: 'Idempotency key reused',
  INVALID_TRANSITION: 'Invalid transition',
  NOTE_REQUIRED: 'Note required',
  VERSION_CONFLICT: 'Version conflict',
  RESPONDER_UNAVAILABLE: 'Responder unavailable',
  TOO_MANY_PHOTOS: 'Too many photos',
  INVALID_PHOTOS: 'Invalid photos',
} as const;
export type IncidentProblemCode = keyof typeof TITLES;

export function incidentError(status: number, code: IncidentProblemCode | ProblemCode, detail: string, extra: Record<string, unknown> = {}): ApiError {
  const title = (TITLES as Record<string, string>)[code];
  return new ApiError(status, code as ProblemCode, detail, title ? { title, ...extra } : extra);
}
