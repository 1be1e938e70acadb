import { describe, expect, it } from 'vitest';
import { commit, emptyHistory, fromGrids, redo, replay, toGrids, undo, vertices, PlanEditError, type Edit, type History } from './index.js';
import { codeOf, gridLayout, LAT0, LON0, snapshot } from './testFixtures.js';


describe('history', () => {
  const L = gridLayout(2, 2);
  const [A, B, , D] = L.grids.features.map((f) => f.properties.code) as [string, string, string, string];
  const base = fromGrids(L.grids);
  const node = vertices(base).find((v) => v.codes.length === 4)!;
  const edits: Edit[] = [
    { kind: 'moveVertex', arc: node.arc, index: node.index, to: [node.position[0]! + 2e-4, node.position[1]! + 1e-4], from: node.position as [number, number] },
    { kind: 'splitGrid', code: A, line: [[LON0 + 0.001, LAT0 - 0.001], [LON0 + 0.001, LAT0 + 0.004]], newCode: `${A}9`, newName: '新' },
    { kind: 'mergeGrids', codes: [B, D], code: B },
    { kind: 'rename', code: B, name: '合并' },
  ];

  it('undo and redo walk the edits exactly; the undo stack replays from the base', () => {
    let step = { history: emptyHistory as History, state: base };
    const states = [base];
    for (const e of edits) {
      step = commit(step.history, step.state, e);
      states.push(step.state);
    }
    expect(step.history.undo).toHaveLength(4);
    const end = step.state;
    expect(snapshot(replay(base, step.history.undo))).toEqual(snapshot(end));
    const json = JSON.parse(JSON.stringify(step.history)) as History;
    expect(json).toEqual(step.history);
    expect(snapshot(replay(base, json.undo))).toEqual(snapshot(end));
    for (let i = edits.length - 1; i >= 0; i--) {
      step = undo(step.history, step.state);
      expect(snapshot(step.state)).toEqual(snapshot(states[i]!));
    }
    expect(step.history.redo).toHaveLength(4);
    expect(toGrids(step.state)).toEqual(toGrids(base));
    expect(codeOf(() => undo(step.history, step.state))).toBe('NOTHING_TO_UNDO');
    for (let i = 1; i <= edits.length; i++) {
      step = redo(step.history, step.state);
      expect(snapshot(step.state)).toEqual(snapshot(states[i]!));
    }
    expect(codeOf(() => redo(step.history, step.state))).toBe('NOTHING_TO_REDO');
  });

  it('undoes by replay from the base when the state does not come from the last edit', () => {
    let step = { history: emptyHistory as History, state: base };
    for (const e of edits) step = commit(step.history, step.state, e);
    const loaded = { ...step.state, prior: null, edit: null }; // e.g. rebuilt from the draft's grids
    expect(codeOf(() => undo(step.history, loaded))).toBe('UNDO_UNAVAILABLE');
    const back = undo(step.history, loaded, base);
    expect(snapshot(back.state)).toEqual(snapshot(replay(base, edits.slice(0, -1))));
  });

  it('a new edit drops the redo stack; an unknown edit is refused', () => {
    let step = commit(emptyHistory, base, edits[0]!);
    step = undo(step.history, step.state);
    step = commit(step.history, step.state, edits[3]!);
    expect(step.history.redo).toHaveLength(0);
    expect(codeOf(() => commit(step.history, step.state, { kind: 'teleport' } as unknown as Edit))).toBe('UNKNOWN_EDIT');
    // a replayed moveVertex whose vertex is elsewhere is stale
    expect(codeOf(() => replay(commit(emptyHistory, base, edits[0]!).state, [edits[0]!]))).toBe('STALE_EDIT');
  });
});
