/**
 * The live event of grid plans: `grids.changed`, when a version takes effect — maps reload the
 * layers drawn from grids at the new generation (their tile URLs' `v`). Seen by the users whose
 * area holds the community (auth/scope.ts eventVisible).
 */
import type { LiveEventInput } from '../../live/events.js';

export function gridsChanged(c: { communityId: string; communityCode: string; districtId: string | null; version: number; generation: number }): LiveEventInput {
  return {
    type: 'grids.changed',
    entityId: c.communityId,
    scopeCode: c.communityCode,
    districtId: c.districtId,
    data: { communityCode: c.communityCode, version: c.version, generation: c.generation },
  };
}
