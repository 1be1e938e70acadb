/**
 * Unit tests of the pure parts: the ranking ladder (rankCandidates) and the position batch check
 * (checkBatch), with fast-check properties where they fit.
 */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { rankCandidates, type CandidateInput, type LadderConfig } from '../../server/src/modules/responders/ranking.js';
import { checkBatch, haversineMetres, MAX_SPEED_KMH, type TrackPoint } from '../../server/src/modules/responders/positions.js';

const cfg: LadderConfig = { stalePenaltySeconds: 180, ownGridExtraSeconds: 300, neighbourExtraSeconds: 120, offNetworkKmh: 5 };

const candidate = (over: Partial<CandidateInput> & { responderId: string }): CandidateInput => ({
  name: over.responderId, kind: 'grid_worker', status: 'available', presence: 'online', positionAgeSeconds: 10,
  homeGridId: null, homeGridCode: null, tier: 'other', travelSeconds: 100, distanceMetres: 500, routed: true, ...over,
});

const arbCandidates = fc.uniqueArray(
  fc.record({
    responderId: fc.stringMatching(/^[a-f0-9]{6}$/),
    tier: fc.constantFrom('own_grid', 'neighbour_grid', 'other') as fc.Arbitrary<CandidateInput['tier']>,
    presence: fc.constantFrom('online', 'stale') as fc.Arbitrary<CandidateInput['presence']>,
    travelSeconds: fc.integer({ min: 0, max: 3000 }),
    routed: fc.boolean(),
  }),
  { minLength: 1, maxLength: 30, selector: (c) => c.responderId },
).map((xs) => xs.map((x) => candidate(x)));

describe('rankCandidates', () => {
  const eta = (c: CandidateInput) => c.travelSeconds + (c.presence === 'stale' ? cfg.stalePenaltySeconds : 0);

  test('property: a permutation; own-within first, then neighbour-within, then the rest; by ETA inside each group', () => {
    fc.assert(
      fc.property(arbCandidates, (cands) => {
        const ranked = rankCandidates(cands, cfg);
        expect(ranked.map((r) => r.responderId).sort()).toEqual(cands.map((c) => c.responderId).sort());
        const byId = new Map(cands.map((c) => [c.responderId, c]));
        const best = Math.min(...cands.map(eta));
        const group = (c: CandidateInput) =>
          c.tier === 'own_grid' && eta(c) <= best + cfg.ownGridExtraSeconds ? 0
            : c.tier === 'neighbour_grid' && eta(c) <= best + cfg.neighbourExtraSeconds ? 1 : 2;
        for (let i = 1; i < ranked.length; i++) {
          const a = byId.get(ranked[i - 1].responderId)!;
          const b = byId.get(ranked[i].responderId)!;
          expect(group(a) < group(b) || (group(a) === group(b) && eta(a) <= eta(b))).toBe(true);
        }
        for (const r of ranked) {
          const c = byId.get(r.responderId)!;
          expect(r.etaSeconds).toBe(Math.round(eta(c)));
          expect(r.reasonCode).toBe(
            group(c) === 0 ? 'own_grid_within_extra' : group(c) === 1 ? 'neighbour_within_extra'
              : c.tier === 'own_grid' ? 'own_grid_beyond_extra' : c.tier === 'neighbour_grid' ? 'neighbour_beyond_extra'
                : eta(c) === best ? 'fastest' : 'by_eta',
          );
          if (!c.routed) expect(r.route).toBeNull();
        }
      }),
      { numRuns: 300 },
    );
  });

  test('property: without own or neighbour workers the order is plain ETA order', () => {
    fc.assert(
      fc.property(arbCandidates, (cands) => {
        const others = cands.map((c) => ({ ...c, tier: 'other' as const }));
        const ranked = rankCandidates(others, cfg).map((r) => r.responderId);
        const sorted = [...others].sort((a, b) => eta(a) - eta(b) || (a.responderId < b.responderId ? -1 : 1)).map((c) => c.responderId);
        expect(ranked).toEqual(sorted);
      }),
    );
  });

  test('the ladder edges: exactly at the extra time is within, one second more is not', () => {
    const fast = candidate({ responderId: 'a', travelSeconds: 100 });
    expect(rankCandidates([fast, candidate({ responderId: 'b', tier: 'own_grid', travelSeconds: 400 })], cfg).map((r) => r.responderId)).toEqual(['b', 'a']);
    expect(rankCandidates([fast, candidate({ responderId: 'b', tier: 'own_grid', travelSeconds: 401 })], cfg).map((r) => r.responderId)).toEqual(['a', 'b']);
    expect(rankCandidates([fast, candidate({ responderId: 'b', tier: 'neighbour_grid', travelSeconds: 220 })], cfg).map((r) => r.responderId)).toEqual(['b', 'a']);
    expect(rankCandidates([fast, candidate({ responderId: 'b', tier: 'neighbour_grid', travelSeconds: 221 })], cfg).map((r) => r.responderId)).toEqual(['a', 'b']);
    // The stale penalty counts towards the extra time.
    expect(rankCandidates([fast, candidate({ responderId: 'b', tier: 'own_grid', travelSeconds: 250, presence: 'stale' })], cfg).map((r) => r.responderId)).toEqual(['a', 'b']);
    // An own-grid worker ahead of a neighbour ahead of an other, all within.
    expect(rankCandidates([
      candidate({ responderId: 'o', travelSeconds: 100 }),
      candidate({ responderId: 'n', tier: 'neighbour_grid', travelSeconds: 150 }),
      candidate({ responderId: 'g', tier: 'own_grid', travelSeconds: 200 }),
    ], cfg).map((r) => r.responderId)).toEqual(['g', 'n', 'o']);
    expect(rankCandidates([], cfg)).toEqual([]);
  });

  test('reasons in Chinese by default and in English', () => {
    const c = candidate({ responderId: 'a', tier: 'own_grid', travelSeconds: 312, distanceMetres: 1180, presence: 'stale', positionAgeSeconds: 400 });
    const [zh] = rankCandidates([c], cfg);
    expect(zh.reason).toBe('本网格网格员，路网行程约 5 分钟（1.2 公里）；位置已 7 分钟未更新，加计 3 分钟；本网格优先（比最快者慢不超过 5 分钟）');
    const [en] = rankCandidates([c], cfg, 'en');
    expect(en.reason).toBe('Grid worker (own grid), about 5 min by road (1.2 km); position 7 min old, 3 min added; own grid first (within 5 min of the fastest)');
    const [fb] = rankCandidates([candidate({ responderId: 'b', routed: false, fallback: 'unconnected', travelSeconds: 30, distanceMetres: 40 })], cfg);
    expect(fb.reason).toBe('其他网格网格员，直线估算（路网不连通）：40 米，按 5 公里/小时不到 1 分钟；用时最短');
  });
});

describe('checkBatch', () => {
  const NOW = Date.parse('2026-11-26T08:00:00Z');
  const LAT = 31.23;
  const LON = 121.48;
  /** A valid stored track: points 30–300 s apart, at most ~100 km/h between neighbours. */
  const arbTrack = fc.array(fc.record({ dt: fc.integer({ min: 30, max: 300 }), north: fc.integer({ min: -500, max: 500 }) }), { maxLength: 8 })
    .map((steps) => {
      let t = NOW - 3600_000;
      let lat = LAT;
      return steps.map((s) => {
        t += s.dt * 1000;
        lat += (s.north * (s.dt / 30)) / 111_320 / 1.1;
        return { t, lon: LON, lat } as TrackPoint;
      });
    });
  const arbBatch = fc.array(
    fc.record({
      dt: fc.integer({ min: -4000, max: 400 }),
      north: fc.integer({ min: -20_000, max: 20_000 }),
      lon: fc.oneof(fc.constant(LON), fc.constant(LON), fc.constant(LON), fc.constant(200)),
    }),
    { minLength: 1, maxLength: 20 },
  ).map((ps) => ps.map((p) => ({ lon: p.lon, lat: LAT + p.north / 111_320, recordedAt: new Date(NOW + p.dt * 1000).toISOString() })));

  test('property: every point is accepted, a duplicate or rejected exactly once, and the resulting track never exceeds 150 km/h', () => {
    fc.assert(
      fc.property(arbTrack, arbBatch, (stored, batch) => {
        const v = checkBatch(batch, stored, NOW);
        const indexes = [...v.accepted.map((a) => a.index), ...v.rejected.map((r) => r.index)];
        expect(new Set(indexes).size).toBe(indexes.length);
        expect(indexes.length + v.duplicates).toBe(batch.length);
        const track = [...stored, ...v.accepted].sort((a, b) => a.t - b.t);
        for (let i = 1; i < track.length; i++) {
          expect(track[i].t).toBeGreaterThan(track[i - 1].t);
          const kmh = haversineMetres(track[i - 1], track[i]) / 1000 / ((track[i].t - track[i - 1].t) / 3_600_000);
          expect(kmh).toBeLessThanOrEqual(MAX_SPEED_KMH);
        }
        for (const r of v.rejected) {
          const p = batch[r.index];
          if (p.lon === 200) expect(r.code).toBe('OUT_OF_RANGE');
          else if (Date.parse(p.recordedAt) > NOW + 120_000) expect(r.code).toBe('FUTURE_TIMESTAMP');
          else expect(r.code).toBe('IMPOSSIBLE_SPEED');
        }
      }),
      { numRuns: 300 },
    );
  });

  test('a point exactly 150 km/h away is accepted; just above is not', () => {
    const base = { t: NOW - 60_000, lon: LON, lat: LAT };
    // 150 km/h for 60 s = 2500 m.
    const north = (m: number) => LAT + m / (haversineMetres({ lon: LON, lat: LAT }, { lon: LON, lat: LAT + 1 }));
    expect(checkBatch([{ lon: LON, lat: north(2499), recordedAt: new Date(NOW).toISOString() }], [base], NOW).accepted).toHaveLength(1);
    expect(checkBatch([{ lon: LON, lat: north(2502), recordedAt: new Date(NOW).toISOString() }], [base], NOW).rejected[0].code).toBe('IMPOSSIBLE_SPEED');
  });
});
