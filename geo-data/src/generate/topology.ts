import { clipHalfPlane, cross, dot, normal, sub, type Pt } from './geometry.js';

/** OSM-like road classes, from the widest to a footpath. */
export type RoadClass = 'trunk' | 'primary' | 'secondary' | 'tertiary' | 'residential' | 'service' | 'footway';

/**
 * An infinite straight line that some cells use as an edge and that carries a road along the
 * parts of it that were used (`intervals`, in metres along `d` from `p`).
 */
export interface Line {
  id: number;
  p: Pt;
  /** Unit direction. */
  d: Pt;
  roadClass: RoadClass;
  name: string | null;
  /** Index of the district that owns the road, -1 for city-level lines until assigned. */
  district: number;
  oneway: boolean;
  intervals: [number, number][];
  /** Every cell vertex or road junction lying on the line. */
  points: Pt[];
  /** A drawn shape replacing the straight segment between the ends of its single interval (park paths). */
  curve?: Pt[];
}

/**
 * A convex cell as its cycle of edge lines, counter-clockwise. Vertex i is where edge i meets
 * edge i+1, so neighbouring cells built from the same lines share vertices bit for bit: that is
 * what makes children tile their parent exactly and roads meet at common vertices.
 */
export interface Cell {
  edges: number[];
  pts: Pt[];
}

/** Distances from a line to the vertices of a cell, and how the line would cut it. */
export interface Cut {
  pos: Pt[];
  neg: Pt[];
  /** Smallest distance from the line to a vertex of the cell. */
  clearance: number;
  /** Smallest sine of the angle between the line and the two edges it crosses. */
  sine: number;
}

export class Topology {
  readonly lines: Line[] = [];
  private readonly memo = new Map<number, Pt>();

  addLine(p: Pt, d: Pt, roadClass: RoadClass, district: number): Line {
    const len = Math.hypot(d.x, d.y);
    const line: Line = {
      id: this.lines.length,
      p,
      d: { x: d.x / len, y: d.y / len },
      roadClass,
      name: null,
      district,
      oneway: false,
      intervals: [],
      points: [],
    };
    this.lines.push(line);
    return line;
  }

  /** The crossing of two lines, computed once (in a fixed argument order) and shared by all users. */
  vertex(a: number, b: number): Pt {
    const [i, j] = a < b ? [a, b] : [b, a];
    const key = i * 1_000_003 + j;
    const known = this.memo.get(key);
    if (known) return known;
    const la = this.lines[i];
    const lb = this.lines[j];
    const s = cross(sub(lb.p, la.p), lb.d) / cross(la.d, lb.d);
    const pt = { x: la.p.x + la.d.x * s, y: la.p.y + la.d.y * s };
    this.memo.set(key, pt);
    la.points.push(pt);
    lb.points.push(pt);
    return pt;
  }

  /** Position of a point along a line. */
  along(line: Line, p: Pt): number {
    return dot(sub(p, line.p), line.d);
  }

  /** Records that the road on `line` runs between two of its points. */
  extend(line: Line, a: Pt, b: Pt): void {
    const ta = this.along(line, a);
    const tb = this.along(line, b);
    line.intervals.push([Math.min(ta, tb), Math.max(ta, tb)]);
  }

  /**
   * The cell's boundary including every vertex that lies on its edges (where neighbours' roads
   * meet them). Cells sharing an edge then share all its vertices: a clean coverage, whose union
   * is exact in any projection, not only in the one it was drawn in. Call once all roads exist.
   */
  ring(cell: Cell): Pt[] {
    const out: Pt[] = [];
    const k = cell.pts.length;
    for (let i = 0; i < k; i++) {
      const a = cell.pts[(i + k - 1) % k];
      const b = cell.pts[i];
      const line = this.lines[cell.edges[i]];
      const ta = this.along(line, a);
      const tb = this.along(line, b);
      const [lo, hi] = ta < tb ? [ta, tb] : [tb, ta];
      const between = [...new Set(line.points)]
        .map((p) => ({ p, t: this.along(line, p) }))
        .filter(({ t }) => t > lo + 1e-6 && t < hi - 1e-6)
        .sort((x, y) => (ta < tb ? x.t - y.t : y.t - x.t));
      out.push(a, ...between.map(({ p }) => p));
    }
    return out;
  }

  cell(edges: number[]): Cell {
    const pts = edges.map((e, i) => this.vertex(e, edges[(i + 1) % edges.length]));
    return { edges, pts };
  }

  /** How a line would cut a cell, without recording anything. */
  evaluate(cell: Cell, p: Pt, d: Pt): Cut {
    const n = normal(d);
    const c = dot(p, n);
    let clearance = Infinity;
    let sine = 1;
    const k = cell.pts.length;
    for (let i = 0; i < k; i++) {
      const a = cell.pts[(i + k - 1) % k];
      const b = cell.pts[i];
      const sa = dot(a, n) - c;
      const sb = dot(b, n) - c;
      clearance = Math.min(clearance, Math.abs(sb));
      if ((sa > 0) !== (sb > 0)) sine = Math.min(sine, Math.abs(cross(this.lines[cell.edges[i]].d, d)));
    }
    return { pos: clipHalfPlane(cell.pts, n, c), neg: clipHalfPlane(cell.pts, { x: -n.x, y: -n.y }, -c), clearance, sine };
  }

  /**
   * Runs the road of `line` across a cell from edge to edge without cutting the cell (an estate
   * road, a park path). Its ends become vertices of the edge roads so that the network connects.
   * Null when the line misses the cell, passes too close to a vertex or crosses an edge too obliquely.
   */
  through(cell: Cell, line: Line, clearance: number): [Pt, Pt] | null {
    const k = cell.pts.length;
    const hits: number[] = [];
    for (let i = 0; i < k; i++) {
      const sa = cross(line.d, sub(cell.pts[(i + k - 1) % k], line.p));
      const sb = cross(line.d, sub(cell.pts[i], line.p));
      if (Math.abs(sb) < clearance) return null;
      if ((sa > 0) !== (sb > 0)) {
        if (Math.abs(cross(line.d, this.lines[cell.edges[i]].d)) < 0.3) return null;
        hits.push(i);
      }
    }
    if (hits.length !== 2) return null;
    const a = this.vertex(line.id, cell.edges[hits[0]]);
    const b = this.vertex(line.id, cell.edges[hits[1]]);
    this.extend(line, a, b);
    return [a, b];
  }

  /** Cuts a cell in two along a line (left piece first) and extends the line's road across it. */
  split(cell: Cell, line: Line): [Cell, Cell] {
    const side = cell.pts.map((v) => cross(line.d, sub(v, line.p)) > 0);
    const pieces = [true, false].map((keep) => {
      const out: number[] = [];
      const k = cell.edges.length;
      // Edge i runs from vertex i-1 to vertex i: keep it if either end is kept, and follow the
      // edge where the cell is left by the cutting line.
      for (let i = 0; i < k; i++) {
        const inPrev = side[(i + k - 1) % k] === keep;
        const inCur = side[i] === keep;
        if (inPrev || inCur) out.push(cell.edges[i]);
        if (inPrev && !inCur) out.push(line.id);
      }
      return this.cell(out);
    }) as [Cell, Cell];
    const onLine = pieces[0].pts.filter((_, i) => {
      const e = pieces[0].edges;
      return e[i] === line.id || e[(i + 1) % e.length] === line.id;
    });
    if (onLine.length !== 2) throw new Error(`generator: line ${line.id} does not cut the cell in two`);
    this.extend(line, onLine[0], onLine[1]);
    return pieces;
  }
}
