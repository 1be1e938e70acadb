import { ApiError, type ProblemCode } from '../../plugins/errors.js';

/** An incidents-module problem (codes and titles live in plugins/errors.ts with every other). */
export function incidentError(status: number, code: ProblemCode, detail: string, extra: Record<string, unknown> = {}): ApiError {
  return new ApiError(status, code, detail, extra);
}
