import { add, centroid, dist, distanceToBoundary, insideConvex, lerp, mul, normal, sub, type Pt } from './geometry.js';
import { houseNumber, type BuildingPlan, type Site } from './buildings.js';
import { AT_BUILDING, CATEGORY_TEXTS, CATEGORY_WEIGHTS, CHANNELS, PRIORITY_WEIGHTS, type Category, type Priority } from './incident-texts.js';
import type { GridPlan, Layout } from './layout.js';
import type { Random } from './random.js';
import type { GridLand } from './responders.js';

export type IncidentStatus = 'reported' | 'accepted' | 'dispatched' | 'in_progress' | 'resolved' | 'verified' | 'closed' | 'rejected';

export interface IncidentPlan {
  category: Category;
  priority: Priority;
  status: IncidentStatus;
  location: Pt;
  address: string;
  description: string;
  reporterContact: string | null;
  nearBorder: boolean;
  reportedAt: Date;
  /** When the current status began: the report, the closing, or a share of the way to now. */
  statusSince: Date;
  closedAt: Date | null;
  grid: GridPlan;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Reports within this distance of a grid boundary are flagged: which grid owns them is often disputed. */
const NEAR_BORDER_M = 30;

/**
 * Older reports are mostly closed; recent ones are spread over the open states. A rejection (退单)
 * is open work back with the command centre, so it is rare among old reports.
 */
const STATUS_BY_AGE: [number, Record<IncidentStatus, number>][] = [
  [0.25, { reported: 0.35, accepted: 0.2, dispatched: 0.2, in_progress: 0.2, resolved: 0.05, verified: 0, closed: 0, rejected: 0 }],
  [1, { reported: 0.1, accepted: 0.1, dispatched: 0.15, in_progress: 0.3, resolved: 0.2, verified: 0.05, closed: 0.07, rejected: 0.03 }],
  [3, { reported: 0.02, accepted: 0.02, dispatched: 0.05, in_progress: 0.15, resolved: 0.2, verified: 0.16, closed: 0.38, rejected: 0.02 }],
  [14, { reported: 0, accepted: 0, dispatched: 0, in_progress: 0.03, resolved: 0.05, verified: 0.07, closed: 0.845, rejected: 0.005 }],
  [Infinity, { reported: 0, accepted: 0, dispatched: 0, in_progress: 0, resolved: 0.005, verified: 0.015, closed: 0.978, rejected: 0.002 }],
];

/** How far into an open incident's life its current step began (share of its age), by status. */
const STEP_SHARE: Record<Exclude<IncidentStatus, 'closed'>, number> = {
  reported: 0, accepted: 0.3, dispatched: 0.5, in_progress: 0.6, resolved: 0.8, verified: 0.9, rejected: 0.7,
};

/** Time to close by priority, in hours [min, max]. */
const HANDLING_H: Record<Priority, [number, number]> = { urgent: [1, 8], high: [4, 48], normal: [12, 120], low: [24, 240] };

/** Relative report rate by local (UTC+8) hour: quiet at night, busiest in office hours. */
const HOURLY = [0.15, 0.1, 0.08, 0.08, 0.1, 0.2, 0.4, 0.8, 1, 1, 1, 1, 0.9, 1, 1, 1, 1, 0.9, 0.8, 0.7, 0.6, 0.5, 0.35, 0.25];

/**
 * Incidents over the last `days` days: at buildings (weighted by households) or on streets and at
 * crossings, with category-typical priorities and a status that follows their age.
 */
export function placeIncidents(layout: Layout, sites: Site[], land: GridLand, count: number, days: number, now: Date, rng: Random): IncidentPlan[] {
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
  const out: IncidentPlan[] = [];
  for (let i = 0; i < count; i++) {
    const category = rng.weighted(CATEGORY_WEIGHTS);
    const priority = rng.weighted(PRIORITY_WEIGHTS[category]);
    const spot = buildings.length && rng.chance(AT_BUILDING[category]) ? atBuilding(pickBuilding(), rng) : onStreet(layout, rng.pick(sites), land, category === 'traffic', rng);
    const reportedAt = reportTime(now, days, rng);
    const age = (now.getTime() - reportedAt.getTime()) / DAY;
    const status = rng.weighted(STATUS_BY_AGE.find(([limit]) => age < limit)![1]);
    const channel = rng.weighted(CHANNELS);
    // Only closed incidents have a closing time (a rejected one is open: back with the command centre).
    const closedAt = status === 'closed' ? closeTime(reportedAt, now, HANDLING_H[priority], rng) : null;
    const statusSince = closedAt ?? new Date(Math.floor((reportedAt.getTime() + (now.getTime() - reportedAt.getTime()) * STEP_SHARE[status as Exclude<IncidentStatus, 'closed'>]) / 1000) * 1000);
    out.push({
      category,
      priority,
      status,
      location: spot.at,
      address: spot.address,
      description: `${channel}${spot.where}${rng.pick(CATEGORY_TEXTS[category])}`,
      reporterContact: channel === '网格员巡查发现：' ? null : `${layout.names.surname()}${rng.chance(0.5) ? '先生' : '女士'} 1${rng.int(30, 99)}${String(rng.int(0, 99_999_999)).padStart(8, '0')}`,
      nearBorder: distanceToBoundary(spot.grid.cell.pts, spot.at) < NEAR_BORDER_M,
      reportedAt,
      statusSince,
      closedAt,
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

function reportTime(now: Date, days: number, rng: Random): Date {
  for (;;) {
    const t = now.getTime() - rng.range(0, days * DAY);
    const hour = Math.floor((((t + 8 * HOUR) % DAY) + DAY) % DAY / HOUR);
    if (rng.next() < HOURLY[hour]) return new Date(Math.floor(t / 1000) * 1000);
  }
}

function closeTime(reportedAt: Date, now: Date, hours: [number, number], rng: Random): Date {
  const t = reportedAt.getTime() + rng.range(hours[0], hours[1]) * HOUR;
  const latest = now.getTime() - 60_000;
  return new Date(Math.floor((t <= latest ? t : (reportedAt.getTime() + Math.max(reportedAt.getTime(), latest)) / 2) / 1000) * 1000);
}
