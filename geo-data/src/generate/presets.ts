import type { Random } from './random.js';

export const PRESETS = ['tiny', 'demo', 'city'] as const;
export type Preset = (typeof PRESETS)[number];

/** What a preset asks for; the layout follows from it. */
export interface PresetSpec {
  /** Grid counts per community, per street, per district. */
  plan(rng: Random): number[][][];
  /** Area of the whole city in m²: with the block mix, it sets the number of buildings (~520 per km²). */
  areaM2: number;
  /** Target block area in m² (blocks are cut from grids by residential roads). */
  blockAreaM2: number;
  responders: number;
  incidents: number;
  /** How many of them are open now (the rest closed): histories.ts plans them back from now. */
  openIncidents: number;
  /** How far back incidents go. */
  incidentDays: number;
}

/** Random composition of `total` into `parts` integers within [min, max]. */
function compose(rng: Random, total: number, parts: number, min: number, max: number): number[] {
  for (;;) {
    const out = Array.from({ length: parts }, () => rng.int(min, max));
    const diff = total - out.reduce((a, b) => a + b, 0);
    if (diff === 0) return out;
    const i = rng.int(0, parts - 1);
    const v = out[i] + diff;
    if (v >= min && v <= max) {
      out[i] = v;
      return out;
    }
  }
}

const times = <T>(n: number, f: () => T): T[] => Array.from({ length: n }, f);

export const PRESET_SPECS: Record<Preset, PresetSpec> = {
  // Small and fast: property tests run it with many seeds.
  tiny: {
    plan(rng) {
      const streets = rng.int(1, 2);
      const communities = rng.int(Math.max(2, streets), 3);
      const perStreet = streets === 1 ? [communities] : compose(rng, communities, streets, 1, 2);
      const perCommunity = communities === 2 ? [4, 6] : [3, 4];
      return [perStreet.map((c) => times(c, () => rng.int(perCommunity[0], perCommunity[1])))];
    },
    areaM2: 0.4e6,
    blockAreaM2: 15_000,
    responders: 20,
    incidents: 50,
    // Enough open ones that a tenth overdue is a whole incident (5–15 %).
    openIncidents: 12,
    incidentDays: 90,
  },
  // One district of 3 街道 and 12 社区, 60–108 grids.
  demo: {
    plan(rng) {
      return [compose(rng, 12, 3, 3, 5).map((c) => times(c, () => rng.int(5, 9)))];
    },
    areaM2: 9.6e6,
    blockAreaM2: 16_000,
    responders: 300,
    incidents: 2_000,
    openIncidents: 100,
    incidentDays: 90,
  },
  // Four districts × 7 街道 × 9 社区 × 8 grids = 2,016 grids, for benchmarks.
  city: {
    plan() {
      return times(4, () => times(7, () => times(9, () => 8)));
    },
    areaM2: 410e6,
    blockAreaM2: 16_000,
    responders: 20_000,
    incidents: 100_000,
    openIncidents: 5_000,
    incidentDays: 90,
  },
};
