/**
 * The pace of incident work, shared by the generator (the demo's past) and the demo simulator
 * (server/src/demo/simulator.ts, its present): how long a step takes relative to the time limit
 * of the status it leaves (incident_time_limits). Most steps end within their limit, at 15–90 %
 * of it. The command centre's own quick steps (accepting, dispatching) always do; of the long
 * ones in the field and at verification (LATE_STATUSES), LATE_SHARE take 1.5–3 times as long and
 * are overdue (and escalated, 督办) for the rest of that time. Taken by time, that leaves about
 * OVERDUE_SHARE of the open incidents overdue at any moment: with the default limits (30, 60, 60
 * minutes for the quick steps, 1440, 720, 1440 for the long ones, scaled alike per category)
 * 0.05 × 1.25 × 3600 / ((0.95 × 0.525 + 0.05 × 2.25) × 3600 + 0.525 × 150) ≈ 10 %.
 *
 * Deterministic per incident and status (a hash, no state): a restarted simulator keeps the plan,
 * and the generator leaves every open incident where the simulator's plan has it.
 */

/** Share of the long steps that run late. */
export const LATE_SHARE = 0.05;
/** The steps that can run late: handling, waiting for verification, waiting to be closed. */
export const LATE_STATUSES: readonly string[] = ['in_progress', 'resolved', 'verified'];
/** The share of open incidents overdue at a random moment under this pace (see the file comment). */
export const OVERDUE_SHARE = 0.1;
/** On-time steps end at this share of their limit [min, max). */
export const ON_TIME: readonly [number, number] = [0.15, 0.9];
/** Late steps end at this multiple of their limit [min, max). */
export const LATE: readonly [number, number] = [1.5, 3];

export interface StepPlan {
  /** The step overruns its limit. */
  late: boolean;
  /** When the step ends, as a multiple of the status's limit. */
  share: number;
}

/** FNV-1a (32 bit) of a string, finished with a murmur-style mix. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** How long the incident's step out of `status` takes (see the file comment). */
export function stepPlan(incidentId: string, status: string): StepPlan {
  const u = hash(`${incidentId}/${status}`) / 4294967296;
  const v = hash(`${status}#${incidentId}`) / 4294967296;
  const late = LATE_STATUSES.includes(status) && u < LATE_SHARE;
  const [lo, hi] = late ? LATE : ON_TIME;
  return { late, share: lo + (hi - lo) * v };
}

/** The average time a step takes, as a multiple of its limit (a long one; a quick one takes the on-time average). */
export function meanStepShare(status: string): number {
  const onTime = (ON_TIME[0] + ON_TIME[1]) / 2;
  return LATE_STATUSES.includes(status) ? (1 - LATE_SHARE) * onTime + LATE_SHARE * ((LATE[0] + LATE[1]) / 2) : onTime;
}
