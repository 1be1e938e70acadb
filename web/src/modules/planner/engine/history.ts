/**
 * Edits as JSON, applying them, and the undo/redo history kept with the draft on the server.
 * Every state made by `apply` remembers the state it came from, so `undo` is exact and costs nothing; a history
 * read back from the server is turned into states by `replay` from the base version (apply is deterministic).
 */
import { deleteVertexState, insertVertexState, moveVertexState } from './vertexEdits.js';
import { mergeGridsState, moveBlockState, recodeState, renameState, setGridsState, splitGridState } from './gridEdits.js';
import {
  fail,
  type DeleteVertexArgs,
  type Edit,
  type InsertVertexArgs,
  type MergeGridsArgs,
  type MoveBlockArgs,
  type MoveVertexArgs,
  type PlanState,
  type RecodeArgs,
  type RenameArgs,
  type SetGridsArgs,
  type SplitGridArgs,
} from './types.js';

function run(state: PlanState, edit: Edit): PlanState {
  switch (edit?.kind) {
    case 'moveVertex': return moveVertexState(state, edit);
    case 'insertVertex': return insertVertexState(state, edit);
    case 'deleteVertex': return deleteVertexState(state, edit);
    case 'splitGrid': return splitGridState(state, edit);
    case 'mergeGrids': return mergeGridsState(state, edit);
    case 'moveBlock': return moveBlockState(state, edit);
    case 'rename': return renameState(state, edit);
    case 'recode': return recodeState(state, edit);
    case 'setGrids': return setGridsState(state, edit);
    default: return fail('UNKNOWN_EDIT', `no edit of kind ${JSON.stringify((edit as { kind?: unknown } | null)?.kind)}`);
  }
}

/** Applies one edit; throws PlanEditError (with `code`) when it cannot be done. `edit` must not be changed later. */
export function apply(state: PlanState, edit: Edit): PlanState {
  const next = run(state, edit);
  return { ...next, prior: state, edit };
}

export const moveVertex = (state: PlanState, args: MoveVertexArgs) => apply(state, { kind: 'moveVertex', ...args });
export const insertVertex = (state: PlanState, args: InsertVertexArgs) => apply(state, { kind: 'insertVertex', ...args });
export const deleteVertex = (state: PlanState, args: DeleteVertexArgs) => apply(state, { kind: 'deleteVertex', ...args });
export const splitGrid = (state: PlanState, args: SplitGridArgs) => apply(state, { kind: 'splitGrid', ...args });
export const mergeGrids = (state: PlanState, args: MergeGridsArgs) => apply(state, { kind: 'mergeGrids', ...args });
export const moveBlock = (state: PlanState, args: MoveBlockArgs) => apply(state, { kind: 'moveBlock', ...args });
export const rename = (state: PlanState, args: RenameArgs) => apply(state, { kind: 'rename', ...args });
export const recode = (state: PlanState, args: RecodeArgs) => apply(state, { kind: 'recode', ...args });
export const setGrids = (state: PlanState, args: SetGridsArgs) => apply(state, { kind: 'setGrids', ...args });

/** The draft's history: edits done (oldest first) and edits undone (the next to redo last). JSON as it is. */
export interface History {
  readonly undo: readonly Edit[];
  readonly redo: readonly Edit[];
}

export const emptyHistory: History = Object.freeze({ undo: Object.freeze([]) as readonly Edit[], redo: Object.freeze([]) as readonly Edit[] });

export interface Step {
  history: History;
  state: PlanState;
}

/** Applies an edit and records it (the redo stack is dropped). */
export function commit(history: History, state: PlanState, edit: Edit): Step {
  return { history: { undo: [...history.undo, edit], redo: [] }, state: apply(state, edit) };
}

/** The state the edits make from `base`, in order. */
export function replay(base: PlanState, edits: readonly Edit[]): PlanState {
  let state = base;
  for (const e of edits) state = apply(state, e);
  return state;
}

function sameEdit(a: Edit | null, b: Edit): boolean {
  return a === b || (a !== null && JSON.stringify(a) === JSON.stringify(b));
}

/**
 * Undoes the last edit: the state `state` was made from, when `state` is the one that edit made; otherwise (say,
 * `state` came from elsewhere) the edits before it replayed from `base`.
 */
export function undo(history: History, state: PlanState, base?: PlanState): Step {
  const last = history.undo[history.undo.length - 1];
  if (!last) fail('NOTHING_TO_UNDO', 'nothing to undo');
  const remaining = history.undo.slice(0, -1);
  let prev: PlanState;
  if (state.prior && sameEdit(state.edit, last)) prev = state.prior;
  else if (base) prev = replay(base, remaining);
  else fail('UNDO_UNAVAILABLE', 'the state is not the one the last edit made; pass the base state');
  return { history: { undo: remaining, redo: [...history.redo, last] }, state: prev };
}

/** Redoes the last undone edit (applies it again: the result is the same state as before the undo). */
export function redo(history: History, state: PlanState): Step {
  const next = history.redo[history.redo.length - 1];
  if (!next) fail('NOTHING_TO_REDO', 'nothing to redo');
  return { history: { undo: [...history.undo, next], redo: history.redo.slice(0, -1) }, state: apply(state, next) };
}
