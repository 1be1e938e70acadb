import { area, inset, randomPointIn, type Pt } from './geometry.js';
import type { Site } from './buildings.js';
import type { GridPlan, Layout } from './layout.js';
import type { Random } from './random.js';

export type ResponderKind = 'grid_worker' | 'patrol' | 'volunteer' | 'police';
export type ResponderStatus = 'available' | 'busy' | 'off_duty';

export interface ResponderPlan {
  kind: ResponderKind;
  name: string;
  phone: string;
  status: ResponderStatus;
  position: Pt | null;
  positionAt: Date | null;
  homeGrid: GridPlan;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Where things in a grid can be placed: the land of its blocks, weighted by area. */
export class GridLand {
  private readonly land = new Map<GridPlan, { polys: Pt[][]; weights: number[] }>();

  constructor(grids: GridPlan[], sites: Site[]) {
    const bySite = new Map<GridPlan, Pt[][]>();
    for (const s of sites) if (s.land.length) bySite.set(s.block.grid, [...(bySite.get(s.block.grid) ?? []), s.land]);
    for (const g of grids) {
      // A grid that is all road margin still has its own interior, a little inside its edges.
      const polys = bySite.get(g) ?? [inset(g.cell.pts, () => 3)];
      let total = 0;
      this.land.set(g, { polys, weights: polys.map((p) => (total += area(p))) });
    }
  }

  /** A uniform random point on the grid's land; always strictly inside the grid. */
  pointIn(grid: GridPlan, rng: Random): Pt {
    const { polys, weights } = this.land.get(grid)!;
    const r = rng.next() * weights[weights.length - 1];
    const i = Math.max(0, weights.findIndex((w) => r < w));
    return randomPointIn(polys[i], () => rng.next());
  }
}

/**
 * Responders: at least one 网格员 per grid where numbers allow, then patrols, volunteers and police
 * spread over the district. Positions are near the home grid and reported within the last hour
 * for most of those on duty; some are stale, and many off duty have none.
 */
export function placeResponders(layout: Layout, land: GridLand, count: number, now: Date, rng: Random): ResponderPlan[] {
  const grids = rng.shuffle(layout.grids);
  const workers = Math.round(count * 0.45);
  const byCommunity = new Map<GridPlan['community'], GridPlan[]>();
  for (const g of layout.grids) byCommunity.set(g.community, [...(byCommunity.get(g.community) ?? []), g]);
  const out: ResponderPlan[] = [];
  for (let i = 0; i < count; i++) {
    const kind: ResponderKind = i < workers ? 'grid_worker' : rng.weighted({ patrol: 0.36, volunteer: 0.45, police: 0.19 });
    const homeGrid = i < workers ? grids[i % grids.length] : rng.pick(grids);
    const status: ResponderStatus = rng.weighted({ available: 0.55, busy: 0.2, off_duty: 0.25 });
    let position: Pt | null = null;
    let age: number | null = null;
    if (status !== 'off_duty') {
      age = rng.chance(0.9) ? rng.range(0, 45 * MINUTE) : rng.range(2 * HOUR, 12 * HOUR);
    } else if (rng.chance(0.4)) {
      age = rng.range(6 * HOUR, 72 * HOUR);
    }
    if (age !== null) {
      // Patrols and police roam the neighbouring grids of their community.
      const roaming = (kind === 'patrol' || kind === 'police') && rng.chance(0.3);
      const where = roaming ? rng.pick(byCommunity.get(homeGrid.community)!) : homeGrid;
      position = land.pointIn(where, rng);
    }
    out.push({
      kind,
      name: layout.names.person(),
      phone: `1${rng.pick(['35', '36', '37', '38', '39', '50', '52', '58', '59', '86', '87', '88'])}${String(rng.int(0, 99_999_999)).padStart(8, '0')}`,
      status,
      position,
      positionAt: age === null ? null : new Date(now.getTime() - Math.round(age)),
      homeGrid,
    });
  }
  return out;
}
