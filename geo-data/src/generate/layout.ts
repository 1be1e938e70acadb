import { add, area, centroid, dist, insideConvex, mul, normal, sub, unit, LocalFrame, type Pt } from './geometry.js';
import { DISTRICT_NAMES, NameBook } from './names.js';
import { partition, type LevelRule, type PartitionContext } from './partition.js';
import type { PresetSpec } from './presets.js';
import type { Random } from './random.js';
import { Topology, type Cell, type Line, type RoadClass } from './topology.js';

/** A district, 街道 or 社区 with its code and polygon. */
export interface AreaPlan {
  code: string;
  name: string;
  cell: Cell;
  district: number;
}

export interface GridPlan extends AreaPlan {
  community: AreaPlan;
  blocks: BlockPlan[];
}

/** A city block: the land between roads inside one grid. */
export interface BlockPlan {
  cell: Cell;
  grid: GridPlan;
}

/** Everything laid out before buildings are placed. */
export interface Layout {
  topo: Topology;
  frame: LocalFrame;
  names: NameBook;
  districts: AreaPlan[];
  streets: AreaPlan[];
  communities: AreaPlan[];
  grids: GridPlan[];
  blocks: BlockPlan[];
  /** The diagonal avenue of each district (crosses the street pattern at grade, once by a bridge). */
  diagonals: Line[];
}

const RULES: Record<'district' | 'street' | 'community' | 'grid' | 'block', LevelRule> = {
  district: { roadClass: 'trunk', reuse: 0.5, diagonal: 0.1, slenderness: 0.5, clearance: 30 },
  street: { roadClass: 'primary', reuse: 0.5, diagonal: 0.2, slenderness: 0.5, clearance: 20 },
  community: { roadClass: 'secondary', reuse: 0.5, diagonal: 0.15, slenderness: 0.5, clearance: 15 },
  grid: { roadClass: 'tertiary', reuse: 0.6, diagonal: 0.05, slenderness: 0.55, clearance: 12 },
  block: { roadClass: 'residential', reuse: 0.4, diagonal: 0.05, slenderness: 0.5, clearance: 8 },
};

/** Centre of the generated city: central Shanghai (WGS84). */
const ORIGIN = { lon: 121.47, lat: 31.23 };
const pad3 = (n: number) => String(n).padStart(3, '0');

/** Lays out districts → 街道 → 社区 → grids → blocks as nested exact partitions of one convex outline. */
export function layoutCity(spec: PresetSpec, rng: Random): Layout {
  const plan = spec.plan(rng.fork(1));
  const topo = new Topology();
  const names = new NameBook(rng.fork(2));
  const geo = rng.fork(3);
  const cityAngle = geo.range(-0.3, 0.3);
  const outline = outlineCell(topo, geo, spec.areaM2, cityAngle, plan.length > 1 ? 'trunk' : 'primary');
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const ctx = (rule: LevelRule, orientation: number, district: number): PartitionContext => ({ topo, rng: geo, rule, orientation, district });

  const districtCells = partition(ctx(RULES.district, cityAngle, -1), outline, plan.map((d) => sum(d.flat())), true);
  const layout: Layout = { topo, frame: new LocalFrame(ORIGIN.lon, ORIGIN.lat), names, districts: [], streets: [], communities: [], grids: [], blocks: [], diagonals: [] };
  const districtNames = plan.length > 1 ? geo.shuffle(DISTRICT_NAMES) : DISTRICT_NAMES;
  plan.forEach((streetPlan, di) => {
    const angle = cityAngle + (plan.length > 1 ? geo.range(-0.25, 0.25) : 0);
    const district: AreaPlan = { code: `3101${99 - di}`, name: districtNames[di], cell: districtCells[di], district: di };
    layout.districts.push(district);
    const streetCells = partition(ctx(RULES.street, angle, di), district.cell, streetPlan.map(sum), true);
    const gridsOfDistrict: GridPlan[] = [];
    streetPlan.forEach((communityPlan, si) => {
      const street: AreaPlan = { code: district.code + pad3(si + 1), name: '', cell: streetCells[si], district: di };
      layout.streets.push(street);
      const communityCells = partition(ctx(RULES.community, angle, di), street.cell, communityPlan, true);
      communityPlan.forEach((gridCount, ci) => {
        const community: AreaPlan = { code: street.code + pad3(ci + 1), name: '', cell: communityCells[ci], district: di };
        layout.communities.push(community);
        const gridCells = partition(ctx(RULES.grid, angle, di), community.cell, Array(gridCount).fill(1), true);
        gridCells.forEach((cell, gi) => {
          gridsOfDistrict.push({ code: community.code + pad3(gi + 1), name: '', cell, district: di, community, blocks: [] });
        });
      });
    });
    const diagonal = cutDiagonal(topo, geo, district, gridsOfDistrict, angle);
    for (const grid of gridsOfDistrict) {
      // The diagonal may already have cut the grid in two; blocks are cut from each piece.
      const pieces = grid.blocks.length ? grid.blocks.map((b) => b.cell) : [grid.cell];
      grid.blocks = [];
      for (const piece of pieces) {
        const n = Math.max(1, Math.round(area(piece.pts) / spec.blockAreaM2));
        for (const cell of partition(ctx(RULES.block, angle, di), piece, Array(n).fill(1), false)) grid.blocks.push({ cell, grid });
      }
      layout.grids.push(grid);
      layout.blocks.push(...grid.blocks);
    }
    layout.diagonals.push(diagonal);
  });
  assignCityLines(layout);
  nameEverything(layout);
  return layout;
}

/** An irregular convex outline of the given area; each side is a road. */
function outlineCell(topo: Topology, rng: Random, targetArea: number, angle: number, roadClass: RoadClass): Cell {
  const k = rng.int(6, 9);
  const aspect = rng.range(1.0, 1.35);
  const raw: Pt[] = [];
  for (let i = 0; i < k; i++) {
    const t = ((i + rng.range(-0.25, 0.25)) / k) * 2 * Math.PI;
    const r = rng.range(0.92, 1.08);
    const p = { x: Math.cos(t) * aspect * r, y: (Math.sin(t) * r) / aspect };
    raw.push({ x: p.x * Math.cos(angle) - p.y * Math.sin(angle), y: p.x * Math.sin(angle) + p.y * Math.cos(angle) });
  }
  const hull = convexHull(raw);
  const scale = Math.sqrt(targetArea / area(hull));
  const pts = hull.map((p) => mul(p, scale));
  const edges = pts.map((p, i) => topo.addLine(p, sub(pts[(i + 1) % pts.length], p), roadClass, -1).id);
  const cell = topo.cell(edges);
  cell.edges.forEach((e, i) => topo.extend(topo.lines[e], cell.pts[(i + cell.pts.length - 1) % cell.pts.length], cell.pts[i]));
  return cell;
}

function convexHull(points: Pt[]): Pt[] {
  const pts = points.slice().sort((a, b) => a.x - b.x || a.y - b.y);
  const half = (list: Pt[]) => {
    const out: Pt[] = [];
    for (const p of list) {
      while (out.length >= 2 && (out[out.length - 1].x - out[out.length - 2].x) * (p.y - out[out.length - 2].y) - (out[out.length - 1].y - out[out.length - 2].y) * (p.x - out[out.length - 2].x) <= 0) out.pop();
      out.push(p);
    }
    out.pop();
    return out;
  };
  return [...half(pts), ...half(pts.slice().reverse())];
}

/**
 * A diagonal avenue across the district, cut into every grid it passes (grids stay whole; their
 * blocks do not). Chosen so it passes no vertex closely and crosses edges at a fair angle.
 */
function cutDiagonal(topo: Topology, rng: Random, district: AreaPlan, grids: GridPlan[], angle: number): Line {
  const c = centroid(district.cell.pts);
  const width = Math.sqrt(area(district.cell.pts));
  let best: { p: Pt; d: Pt; bad: number } | null = null;
  for (let attempt = 0; attempt < 40 && (!best || best.bad > 0); attempt++) {
    const d = unit(angle + (rng.chance(0.5) ? 1 : -1) * rng.range(0.55, 0.9));
    const p = add(c, mul(normal(d), rng.range(-0.2, 0.2) * width));
    let bad = 0;
    for (const g of grids) {
      const cut = topo.evaluate(g.cell, p, d);
      if (cut.pos.length >= 3 && cut.neg.length >= 3 && (cut.clearance < 15 || cut.sine < 0.35)) bad++;
    }
    if (!best || bad < best.bad) best = { p, d, bad };
  }
  const line = topo.addLine(best!.p, best!.d, 'secondary', district.district);
  for (const g of grids) {
    const cut = topo.evaluate(g.cell, line.p, line.d);
    if (cut.pos.length < 3 || cut.neg.length < 3 || cut.clearance < 15 || cut.sine < 0.35) continue;
    g.blocks = topo.split(g.cell, line).map((cell) => ({ cell, grid: g }));
  }
  return line;
}

/** Roads on district borders belong to the district on their left. */
function assignCityLines(layout: Layout): void {
  for (const line of layout.topo.lines) {
    if (line.district >= 0 || !line.intervals.length) continue;
    const [t0, t1] = line.intervals[0];
    const mid = add(line.p, mul(line.d, (t0 + t1) / 2));
    const probe = add(mid, normal(line.d));
    const owner = layout.districts.find((d) => insideConvex(d.cell.pts, probe)) ?? layout.districts.find((d) => insideConvex(d.cell.pts, sub(mid, normal(line.d))));
    line.district = owner?.district ?? 0;
  }
}

const NAMED: Partial<Record<RoadClass, 'major' | 'minor' | 'lane'>> = { trunk: 'major', primary: 'major', secondary: 'major', tertiary: 'minor', residential: 'lane' };
const RANK: Record<RoadClass, number> = { trunk: 0, primary: 1, secondary: 2, tertiary: 3, residential: 4, service: 5, footway: 6 };

/** The roads along a cell's edges, widest and longest first. */
export function boundingRoads(topo: Topology, cell: Cell): Line[] {
  const k = cell.pts.length;
  return cell.edges
    .map((e, i) => ({ line: topo.lines[e], len: dist(cell.pts[(i + k - 1) % k], cell.pts[i]) }))
    .sort((a, b) => RANK[a.line.roadClass] - RANK[b.line.roadClass] || b.len - a.len)
    .map((x) => x.line);
}

function nameEverything(layout: Layout): void {
  const { topo, names } = layout;
  for (const line of topo.lines) {
    const kind = NAMED[line.roadClass];
    if (kind && line.intervals.length) line.name = names.road(kind);
  }
  for (const d of layout.diagonals) d.name = d.name!.replace(/路$/, '大道');
  for (const s of layout.streets) s.name = names.street(boundingRoads(topo, s.cell)[0]?.name ?? null);
  for (const c of layout.communities) c.name = names.community(boundingRoads(topo, c.cell).slice(0, 4).map((l) => l.name!).filter(Boolean));
  for (const g of layout.grids) g.name = `${g.community.name}第${Number(g.code.slice(12))}网格`;
}
