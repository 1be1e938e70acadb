import { describe, expect, it } from 'vitest';
import { guide, guidesOf, snap, type Project } from './snapping';

// a plain projection: 1e-5° = 1 px
const project: Project = ([x, y]) => ({ x: x * 1e5, y: -y * 1e5 });
const near = (p: [number, number], px = 10): [number, number, number, number] => [p[0] - px * 1e-5, p[1] - px * 1e-5, p[0] + px * 1e-5, p[1] + px * 1e-5];

describe('snap', () => {
  const road = guide('road', [[0, 0], [0.001, 0]]);
  const boundary = guide('boundary', [[0.0005, 0.00005], [0.0005, 0.001]]);

  it('snaps to the nearest point of an edge within the tolerance', () => {
    const p: [number, number] = [0.0002, 0.00003];
    const s = snap(p, [road], project, 10, near(p));
    expect(s).toEqual({ at: [0.0002, 0], kind: 'road', vertex: false });
  });

  it('prefers a vertex within the tolerance to a nearer edge', () => {
    const p: [number, number] = [0.00049, 0.00002];
    const s = snap(p, [road, boundary], project, 10, near(p));
    expect(s?.vertex).toBe(true);
    expect(s?.at).toEqual([0.0005, 0.00005]);
    expect(s?.kind).toBe('boundary');
  });

  it('returns null beyond the tolerance, and skips what is asked', () => {
    const p: [number, number] = [0.0002, 0.0002];
    expect(snap(p, [road], project, 10, near(p))).toBeNull();
    const q: [number, number] = [0.00001, 0.00001];
    expect(snap(q, [road], project, 10, near(q))?.vertex).toBe(true);
    const s = snap(q, [road], project, 10, near(q), (pos) => pos[0] === 0 && pos[1] === 0);
    expect(s).toEqual({ at: [0.00001, 0], kind: 'road', vertex: false });
  });

  it('makes guides of lines and of polygon rings', () => {
    expect(guidesOf('border', { type: 'MultiPolygon', coordinates: [[[[0, 0], [1, 0], [1, 1], [0, 0]]], [[[2, 2], [3, 2], [3, 3], [2, 2]]]] })).toHaveLength(2);
    expect(guidesOf('road', { type: 'LineString', coordinates: [[0, 0], [1, 1]] })[0]!.box).toEqual([0, 0, 1, 1]);
    expect(guidesOf('road', null)).toEqual([]);
  });
});
