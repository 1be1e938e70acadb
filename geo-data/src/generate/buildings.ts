import { add, area, centroid, clipHalfPlane, cross, dot, insideConvex, inset, lerp, mul, sub, type Pt } from './geometry.js';
import { fromFrame, frameOf, layRows, toFrame, type RowSpec } from './footprints.js';
import { boundingRoads, type BlockPlan, type GridPlan, type Layout } from './layout.js';
import type { Random } from './random.js';
import type { Line, RoadClass } from './topology.js';

export type BlockKind = 'lilong' | 'slab' | 'highrise' | 'tower' | 'commercial' | 'school' | 'park';

/** A block as built: what stands there, its address and the buildable land (set back from roads). */
export interface Site {
  block: BlockPlan;
  kind: BlockKind;
  /** Land between the setbacks; incidents and responders are placed on it too. */
  land: Pt[];
  name: string;
  front: Line;
  /** House or lane number on the front road. */
  number: number;
  buildings: BuildingPlan[];
}

export interface BuildingPlan {
  ring: Pt[];
  name: string;
  address: string;
  floors: number;
  heightM: number;
  households: number;
  grid: GridPlan;
  sourceId: string;
}

interface KindSpec extends RowSpec {
  floors: [number, number];
  storeyM: number;
  /** Width of one stairwell unit along the building (0: not residential). */
  unitWidthM: number;
  /** Households per floor per stairwell. */
  perUnit: [number, number];
  /** Width of the estate road kept free across the rows (0: none). */
  corridorM: number;
}

const KINDS: Record<Exclude<BlockKind, 'park'>, KindSpec> = {
  // 里弄: two- and three-storey terraces along narrow lanes.
  lilong: { depth: [10, 12], rowGap: [3.5, 5], length: [26, 44], gap: [3, 4], varied: true, max: 0, floors: [2, 3], storeyM: 3.4, unitWidthM: 4.5, perUnit: [1, 1], corridorM: 6 },
  // 新村: six-storey walk-up slabs of the 1980s–90s.
  slab: { depth: [10, 12], rowGap: [15, 19], length: [36, 60], gap: [8, 12], varied: false, max: 0, floors: [5, 7], storeyM: 2.9, unitWidthM: 13, perUnit: [2, 2], corridorM: 8 },
  highrise: { depth: [13, 16], rowGap: [24, 30], length: [30, 50], gap: [14, 18], varied: false, max: 0, floors: [11, 18], storeyM: 3, unitWidthM: 15, perUnit: [2, 3], corridorM: 8 },
  tower: { depth: [22, 28], rowGap: [28, 36], length: [22, 28], gap: [28, 36], varied: false, max: 0, floors: [18, 33], storeyM: 3, unitWidthM: 30, perUnit: [4, 8], corridorM: 0 },
  commercial: { depth: [20, 40], rowGap: [15, 25], length: [30, 58], gap: [12, 20], varied: false, max: 4, floors: [4, 28], storeyM: 4, unitWidthM: 0, perUnit: [0, 0], corridorM: 0 },
  school: { depth: [14, 16], rowGap: [20, 25], length: [40, 58], gap: [10, 15], varied: false, max: 3, floors: [3, 5], storeyM: 3.8, unitWidthM: 0, perUnit: [0, 0], corridorM: 0 },
};

/** Block mixes by the character of a community: old lanes, walk-up estates, or a newer high-rise quarter. */
const CHARACTERS: Record<'old' | 'estate' | 'modern', Record<BlockKind, number>> = {
  old: { lilong: 0.6, slab: 0.14, highrise: 0.04, tower: 0.02, commercial: 0.09, school: 0.04, park: 0.07 },
  estate: { lilong: 0.12, slab: 0.52, highrise: 0.14, tower: 0.04, commercial: 0.07, school: 0.05, park: 0.06 },
  modern: { lilong: 0.05, slab: 0.2, highrise: 0.22, tower: 0.25, commercial: 0.18, school: 0.04, park: 0.06 },
};

/** Buildings keep this far from a road's centreline, by class (half the carriageway plus a pavement). */
const SETBACK_M: Record<RoadClass, number> = { trunk: 16, primary: 13, secondary: 10, tertiary: 7, residential: 5, service: 3, footway: 2 };

/** Builds every block: chooses what stands there, lays out footprints, estate roads and park paths. */
export function placeBuildings(layout: Layout, rng: Random): Site[] {
  // Characters are dealt from a deck in fixed shares (not drawn independently) so that building
  // counts vary little between seeds: old-lane blocks are four times as dense as the others.
  const n = layout.communities.length;
  const deck = rng.shuffle(layout.communities.map((_, i): keyof typeof CHARACTERS => (i < Math.round(0.35 * n) ? 'old' : i < Math.round(0.35 * n) + Math.round(0.2 * n) ? 'modern' : 'estate')));
  const character = new Map(layout.communities.map((c, i) => [c, deck[i]] as const));
  const perGrid = new Map<GridPlan, number>();
  return layout.blocks.map((block) => {
    const { topo } = layout;
    const cell = block.cell;
    const land = inset(cell.pts, (i) => SETBACK_M[topo.lines[cell.edges[(i + 1) % cell.edges.length]].roadClass] + rng.range(0, 2));
    const kind: BlockKind = land.length && area(land) > 2500 ? rng.weighted(CHARACTERS[character.get(block.grid.community)!]) : 'park';
    const front = boundingRoads(topo, cell)[0];
    const site: Site = { block, kind, land, name: '', front, number: houseNumber(layout, front, centroid(cell.pts)), buildings: [] };
    if (kind === 'park') {
      site.name = layout.names.site('park', front.name!);
      parkPath(layout, site, rng);
      return site;
    }
    const spec = KINDS[kind];
    const frame = frameOf(land);
    let buildable = land;
    let corridor: [number, number] | undefined;
    if (kind === 'school') {
      // The sports ground takes one half of a school site.
      buildable = clipHalfPlane(land, frame.u, dot(frame.origin, frame.u));
    } else if (spec.corridorM) {
      corridor = estateRoad(layout, site, frame, spec.corridorM, rng);
    }
    site.name = kind === 'lilong' ? layout.names.compound('lilong') : kind === 'commercial' || kind === 'school' ? layout.names.site(kind, front.name!) : layout.names.compound('estate');
    if (buildable.length < 3) return site;
    const footprints = layRows(buildable, frame, spec, rng, corridor);
    footprints.forEach((f, i) => {
      const floors = rng.int(...spec.floors);
      const stairwells = spec.unitWidthM ? Math.max(1, Math.round(f.lengthM / spec.unitWidthM)) : 0;
      const n = (perGrid.get(block.grid) ?? 0) + 1;
      perGrid.set(block.grid, n);
      site.buildings.push({
        ring: f.ring,
        name: buildingName(site, i, footprints.length),
        address: kind === 'commercial' || kind === 'school' ? `${front.name}${site.number}号` : `${front.name}${site.number}弄${i + 1}号`,
        floors,
        heightM: Math.round(floors * spec.storeyM * 10) / 10,
        households: floors * stairwells * rng.int(...spec.perUnit),
        grid: block.grid,
        sourceId: `${block.grid.code}-${String(n).padStart(4, '0')}`,
      });
    });
    return site;
  });
}

function buildingName(site: Site, i: number, count: number): string {
  switch (site.kind) {
    case 'lilong':
      return `${site.name}${i + 1}号`;
    case 'commercial':
      return count === 1 ? site.name : `${site.name}${'ABCD'[i]}座`;
    case 'school':
      return `${site.name}${['教学楼', '综合楼', '实验楼'][i] ?? '附属楼'}`;
    default:
      return `${site.name}${i + 1}号楼`;
  }
}

/**
 * Street numbers grow along a road, odd on its left and even on its right, about one number per
 * 12 m: blocks on the same road get distinct, plausible numbers.
 */
export function houseNumber(layout: Layout, road: Line, at: Pt): number {
  const start = Math.min(...road.intervals.map(([a]) => a));
  const k = Math.max(1, Math.round((layout.topo.along(road, at) - start) / 12));
  return cross(road.d, sub(at, road.p)) > 0 ? 2 * k - 1 : 2 * k;
}

/** The estate's internal road across the rows; returns the strip (along the block axis) to keep free. */
function estateRoad(layout: Layout, site: Site, frame: ReturnType<typeof frameOf>, width: number, rng: Random): [number, number] | undefined {
  const local = site.land.map((p) => toFrame(frame, p));
  const uMin = Math.min(...local.map((p) => p.x));
  const uMax = Math.max(...local.map((p) => p.x));
  if (uMax - uMin < 90) return undefined;
  const uc = (uMin + uMax) / 2 + rng.range(-0.1, 0.1) * (uMax - uMin);
  const line = layout.topo.addLine(fromFrame(frame, { x: uc, y: 0 }), frame.v, 'service', site.block.grid.district);
  if (!layout.topo.through(site.block.cell, line, 4)) return undefined;
  line.name = site.kind === 'lilong' ? `${site.front.name}${site.number}弄` : null;
  return [uc - width / 2, uc + width / 2];
}

/** A curved footpath across a park, drawn as a quadratic Bézier between two edge roads. */
function parkPath(layout: Layout, site: Site, rng: Random): void {
  const cell = site.block.cell;
  const c = centroid(cell.pts);
  const frame = frameOf(cell.pts);
  const d = add(mul(frame.u, Math.cos(rng.range(-0.6, 0.6))), mul(frame.v, Math.sin(rng.range(-0.6, 0.6))));
  const line = layout.topo.addLine(c, d, 'footway', site.block.grid.district);
  const ends = layout.topo.through(cell, line, 4);
  if (!ends) return;
  const bend = add(c, mul(frame.v, rng.range(-0.25, 0.25) * Math.sqrt(area(cell.pts))));
  const control = insideConvex(cell.pts, bend, 5) ? bend : c;
  const steps = 12;
  line.curve = Array.from({ length: steps + 1 }, (_, i) => {
    if (i === 0) return ends[0];
    if (i === steps) return ends[1];
    const t = i / steps;
    return lerp(lerp(ends[0], control, t), lerp(control, ends[1], t), t);
  });
}
