/**
 * Timing helpers for the planner benchmark (the issue asks: rebuilding the grids an edit touches against
 * rebuilding the whole community ≤ 0.2×). No assertions here: the benchmark decides.
 */
import { gridsUsing, rebuildAll, rebuildTouched } from './state.js';
import type { PlanState } from './types.js';

export interface RebuildTiming {
  /** ms per rebuild of the grids that use `arcs` */
  touchedMs: number;
  /** ms per rebuild of every grid */
  fullMs: number;
  /** touchedMs / fullMs */
  ratio: number;
  grids: number;
  touchedGrids: number;
}

function timeIt(fn: () => unknown, repeat: number): number {
  fn(); // warm up
  const t0 = performance.now();
  for (let i = 0; i < repeat; i++) fn();
  return (performance.now() - t0) / repeat;
}

/** Times `rebuildTouched(state, arcs)` against `rebuildAll(state)`, each `repeat` times (after one warm-up). */
export function timeRebuild(state: PlanState, arcs: readonly number[], repeat = 50): RebuildTiming {
  const touchedMs = timeIt(() => rebuildTouched(state, arcs), repeat);
  const fullMs = timeIt(() => rebuildAll(state), repeat);
  return { touchedMs, fullMs, ratio: fullMs > 0 ? touchedMs / fullMs : 0, grids: state.features.length, touchedGrids: gridsUsing(state, arcs).length };
}

/** Times any edit (e.g. one `moveVertex`) per call, in ms. */
export function timeEdit(run: () => unknown, repeat = 50): number {
  return timeIt(run, repeat);
}
