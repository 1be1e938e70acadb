import { describe, expect, it } from 'vitest';
import { firstFramingBbox, isFramingBbox, isValidBbox } from './bbox';

describe('bbox', () => {
  it('accepts a small district box', () => {
    expect(isFramingBbox([121.47, 31.22, 121.5, 31.25])).toBe(true);
  });

  it('rejects the TileJSON default world bounds as framing', () => {
    expect(isValidBbox([-180, -85.0511287798066, 180, 85.0511287798066])).toBe(true);
    expect(isFramingBbox([-180, -85.0511287798066, 180, 85.0511287798066])).toBe(false);
  });

  it('rejects inverted, short and non-finite boxes', () => {
    expect(isValidBbox([2, 0, 1, 1])).toBe(false);
    expect(isValidBbox([0, 0, 1])).toBe(false);
    expect(isValidBbox([0, 0, Number.NaN, 1])).toBe(false);
    expect(isValidBbox(undefined)).toBe(false);
  });

  it('falls back to the next candidate', () => {
    expect(firstFramingBbox(null, [-180, -85, 180, 85], [1, 2, 3, 4])).toEqual([1, 2, 3, 4]);
    expect(firstFramingBbox(undefined)).toBeNull();
  });
});
