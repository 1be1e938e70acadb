import { add, centroid, dist, distanceToBoundary, insideConvex, lerp, mul, normal, sub, type Pt } from './geometry.js';
import { houseNumber, type BuildingPlan, type Site } from './buildings.js';
import { AT_BUILDING, CATEGORY_TEXTS, CATEGORY_WEIGHTS, CHANNELS, PRIORITY_WEIGHTS, type Category, type Priority } from './incident-texts.js';
import type { GridPlan, Layout } from './layout.js';
import type { Random } from './random.js';
import type { GridLand } from './responders.js';

export type IncidentStatus = 'reported' | 'accepted' | 'dispatched' | 'in_progress' | 'resolved' | 'verified' | 'closed' | 'rejected';

/** A report as it came in: what, where, how. Its history (status, times, steps) is planned by histories.ts. */
export interface IncidentReport {
  category: Category;
  priority: Priority;
  location: Pt;
  address: string;
  description: string;
  /** How it came in (a key of CHANNELS): a grid worker's own finding is reported by that worker. */
  channel: string;
  reporterContact: string | null;
  nearBorder: boolean;
  grid: GridPlan;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Reports within this distance of a grid boundary are flagged: which grid owns them is often disputed. */
const NEAR_BORDER_M = 30;

/** The channel of a grid worker's own finding (no reporter contact; reported by the worker). */
export const GRID_WORKER_CHANNEL = '网格员巡查发现：';

/** Relative report rate by local (UTC+8) hour: quiet at night, busiest in office hours. */
export const HOURLY = [0.15, 0.1, 0.08, 0.08, 0.1, 0.2, 0.4, 0.8, 1, 1, 1, 1, 0.9, 1, 1, 1, 1, 0.9, 0.8, 0.7, 0.6, 0.5, 0.35, 0.25];

/**
 * Reports at buildings (weighted by households) or on streets and at crossings, with
 * category-typical priorities and texts.
 */
export function placeIncidents(layout: Layout, sites: Site[], land: GridLand, count: number, rng: Random): IncidentReport[] {
  const buildings = sites.flatMap((s) => s.buildings);
  const cumulative: number[] = [];
  let total = 0;
  for (const b of buildings) cumulative.push((total += b.households + 10));
  const pickBuilding = (): BuildingPlan => {
    const r = rng.next() * total;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid] > r) hi = mid;
      else lo = mid + 1;
    }
    return buildings[lo];
  };
  const out: IncidentReport[] = [];
  for (let i = 0; i < count; i++) {
    const category = rng.weighted(CATEGORY_WEIGHTS);
    const priority = rng.weighted(PRIORITY_WEIGHTS[category]);
    const spot = buildings.length && rng.chance(AT_BUILDING[category]) ? atBuilding(pickBuilding(), rng) : onStreet(layout, rng.pick(sites), land, category === 'traffic', rng);
    const channel = rng.weighted(CHANNELS);
    out.push({
      category,
      priority,
      location: spot.at,
      address: spot.address,
      description: `${channel}${spot.where}${rng.pick(CATEGORY_TEXTS[category])}`,
      channel,
      reporterContact: channel === GRID_WORKER_CHANNEL ? null : `${layout.names.surname()}${rng.chance(0.5) ? '先生' : '女士'} 1${rng.int(30, 99)}${String(rng.int(0, 99_999_999)).padStart(8, '0')}`,
      nearBorder: distanceToBoundary(spot.grid.cell.pts, spot.at) < NEAR_BORDER_M,
      grid: spot.grid,
    });
  }
  return out;
}

interface Spot {
  at: Pt;
  address: string;
  /** How the description names the place. */
  where: string;
  grid: GridPlan;
}

function atBuilding(b: BuildingPlan, rng: Random): Spot {
  // A point inside the footprint: bilinear in its rectangle.
  const [p0, p1, , p3] = b.ring;
  const at = add(p0, add(mul(sub(p1, p0), rng.range(0.1, 0.9)), mul(sub(p3, p0), rng.range(0.1, 0.9))));
  return { at, address: b.address, where: `${b.name}：`, grid: b.grid };
}

/** A spot at the kerb of a block, or near a crossing at one of its corners. */
function onStreet(layout: Layout, site: Site, land: GridLand, crossing: boolean, rng: Random): Spot {
  const { topo } = layout;
  const cell = site.block.cell;
  const k = cell.pts.length;
  const grid = site.block.grid;
  const i = rng.int(0, k - 1);
  if (crossing && rng.chance(0.5)) {
    // Vertex i joins edges i and i+1: the crossing of two roads.
    const at = lerp(cell.pts[i], centroid(cell.pts), Math.min(0.3, 8 / Math.max(1, dist(cell.pts[i], centroid(cell.pts)))));
    const a = topo.lines[cell.edges[i]].name;
    const b = topo.lines[cell.edges[(i + 1) % k]].name;
    if (insideConvex(cell.pts, at, 0.5)) return { at, address: `${a}与${b}交叉口`, where: `${a}${b}路口，`, grid };
  }
  const from = cell.pts[(i + k - 1) % k];
  const to = cell.pts[i];
  const road = topo.lines[cell.edges[i]];
  const len = dist(from, to);
  const at = add(lerp(from, to, rng.range(0.15, 0.85)), mul(normal(mul(sub(to, from), 1 / len)), 4));
  const address = `${road.name}${houseNumber(layout, road, at)}号`;
  if (len > 10 && insideConvex(cell.pts, at, 0.5)) return { at, address, where: `${address}附近，`, grid };
  const fallback = land.pointIn(grid, rng);
  return { at: fallback, address, where: `${address}附近，`, grid };
}

/** A report time within the last `days` days (none later than `latest`), by the hourly rate. */
export function reportTime(now: Date, days: number, rng: Random, latest = now.getTime()): Date {
  const earliest = now.getTime() - days * DAY;
  for (;;) {
    const t = earliest + rng.range(0, Math.max(0, latest - earliest));
    const hour = Math.floor((((t + 8 * HOUR) % DAY) + DAY) % DAY / HOUR);
    if (rng.next() < HOURLY[hour]) return new Date(Math.floor(t / 1000) * 1000);
  }
}
