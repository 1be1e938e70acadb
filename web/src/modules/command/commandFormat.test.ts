import { describe, expect, it } from 'vitest';
import { duplicateWindow, haversineMetres, possibleDuplicates, pushRecent, type DuplicateCandidate } from './commandFormat';

describe('haversineMetres', () => {
  it('measures a degree of latitude as about 111.2 km and is symmetric', () => {
    expect(haversineMetres([121.49, 31], [121.49, 32])).toBeCloseTo(111_195, -1);
    const a: [number, number] = [121.4901, 31.2402];
    const b: [number, number] = [121.4907, 31.2398];
    expect(haversineMetres(a, b)).toBeCloseTo(haversineMetres(b, a), 9);
    expect(haversineMetres(a, a)).toBe(0);
  });
});

describe('possibleDuplicates', () => {
  const base: DuplicateCandidate = {
    id: 'self', category: 'dispute', status: 'reported', description: 'x', reportedAt: '2026-01-02T10:00:00Z', coordinates: [121.49, 31.24],
  };
  // ~1.11 m per 1e-5 degree of latitude.
  const at = (id: string, dLatE5: number, patch: Partial<DuplicateCandidate> = {}): DuplicateCandidate => ({
    ...base, id, coordinates: [121.49, 31.24 + dLatE5 * 1e-5], ...patch,
  });

  it('keeps the same category within 50 m and 24 h either way, nearest first, not itself', () => {
    const others = [
      base,
      at('far', 50),
      at('near', 10),
      at('nearest', 2),
      at('edge', 44),
      at('other-category', 1, { category: 'fire' }),
      at('old', 1, { reportedAt: '2026-01-01T09:59:00Z' }),
      at('later', 3, { reportedAt: '2026-01-03T09:00:00Z', status: 'closed' }),
    ];
    expect(possibleDuplicates(base, others).map((d) => d.id)).toEqual(['nearest', 'later', 'near', 'edge']);
  });

  it('returns at most the given number', () => {
    const others = Array.from({ length: 20 }, (_, i) => at(`n${i}`, i % 5));
    expect(possibleDuplicates(base, others, 10)).toHaveLength(10);
  });

  it('looks for them in the 48-hour window around the report', () => {
    expect(duplicateWindow('2026-01-02T10:00:00Z')).toEqual({ from: '2026-01-01T10:00:00.000Z', to: '2026-01-03T10:00:00.000Z' });
  });
});

describe('pushRecent', () => {
  it('puts the newest first, replaces an entry of the same key and keeps the bound', () => {
    let list: { k: string; v: number }[] = [];
    for (let i = 0; i < 5; i++) list = pushRecent(list, { k: `k${i}`, v: i }, (x) => x.k, 3);
    expect(list.map((x) => x.k)).toEqual(['k4', 'k3', 'k2']);
    list = pushRecent(list, { k: 'k2', v: 9 }, (x) => x.k, 3);
    expect(list).toEqual([{ k: 'k2', v: 9 }, { k: 'k4', v: 4 }, { k: 'k3', v: 3 }]);
  });
});
