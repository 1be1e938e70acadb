/**
 * Shortest travel times on the road graph.
 *
 * Ranking responders needs the travel time from ONE point (the incident) to MANY points (the
 * candidate responders). We do it with one bounded single-source Dijkstra from the incident over the
 * whole two-way graph, which stops as soon as every node a candidate is snapped to is settled (or
 * the time bound is passed), rather than one A* (ngraph.path) per responder:
 *  - the graph is symmetric (two-way edges, graph.ts), so incident → responder = responder → incident;
 *  - one search settles each node at most once, whatever the number of candidates, while k A*
 *    searches each re-explore the area around the incident; the stop rule keeps the one search to
 *    the disc that reaches the farthest candidate;
 *  - the predecessor tree of that search gives every candidate's route geometry for free.
 * Measured on the city preset (89k nodes, 135k edges; tests/bench/candidates.bench.ts runs both side
 * by side on the same incidents and the 20 KNN-nearest responders): one bounded Dijkstra 0.14–0.17 ms
 * p50 (p95 0.8–1.5 ms) against 0.6–0.8 ms p50 (p95 over 50 ms) for 20 ngraph.path A* searches with an
 * admissible straight-line heuristic — 4–5× faster at the median and far steadier in the tail (an A*
 * towards a responder across a river or around a barrier explores much of the graph), with identical
 * times. Its work grows with the farthest candidate, not with their number.
 * The arrays of a search are allocated once per graph and reused (stamped per search), so a search
 * costs the nodes it touches, not the size of the graph (0.7 ms → 0.15 ms at p50).
 *
 * Sources may be several (the incident entering its road edge at the projected point: each end node
 * starts with the cost of the partial edge to it). The search keeps, per node, the time, the
 * metres along that fastest path and the edge it was reached by.
 */
import type { RoadGraph } from './graph.js';

export interface SearchSource {
  node: number;
  seconds: number;
  metres: number;
}

/**
 * The answer of one search. Only settled nodes have answers (Infinity / -1 elsewhere). The arrays
 * behind it are reused by the next search on the same graph (a search allocates nothing of the
 * graph's size), so read it before searching again — the candidates service does, synchronously.
 */
export interface SearchResult {
  /** Seconds from the sources; Infinity where not settled (unconnected, or beyond the stop). */
  seconds(node: number): number;
  /** Metres along that fastest path. */
  metres(node: number): number;
  /** Edge index the node was reached by; -1 for a source or an unsettled node. */
  prevEdge(node: number): number;
  settled(node: number): boolean;
  settledCount: number;
  /** The search stopped at the time bound before settling every target. */
  hitBound: boolean;
}

/** Per-graph search state, valid for a node only where its stamp is the current search's. */
interface Workspace {
  search: number;
  stamp: Uint32Array;
  settledStamp: Uint32Array;
  targetStamp: Uint32Array;
  seconds: Float64Array;
  metres: Float64Array;
  prev: Int32Array;
  heap: MinHeap;
}
const workspaces = new WeakMap<RoadGraph, Workspace>();

function workspace(g: RoadGraph): Workspace {
  let w = workspaces.get(g);
  if (!w || w.search >= 0xfffffff0) {
    const n = g.nodeSpan;
    w = {
      search: 0, stamp: new Uint32Array(n), settledStamp: new Uint32Array(n), targetStamp: new Uint32Array(n),
      seconds: new Float64Array(n), metres: new Float64Array(n), prev: new Int32Array(n), heap: new MinHeap(),
    };
    workspaces.set(g, w);
  }
  w.search++;
  w.heap.size = 0;
  return w;
}

/** A binary min-heap of (key, node) with lazy deletion: stale entries are skipped on pop. */
class MinHeap {
  private keys: Float64Array;
  private vals: Int32Array;
  size = 0;
  constructor(capacity = 1024) {
    this.keys = new Float64Array(capacity);
    this.vals = new Int32Array(capacity);
  }
  push(key: number, val: number) {
    if (this.size === this.keys.length) {
      const k = new Float64Array(this.size * 2);
      k.set(this.keys);
      this.keys = k;
      const v = new Int32Array(this.size * 2);
      v.set(this.vals);
      this.vals = v;
    }
    let i = this.size++;
    const keys = this.keys;
    const vals = this.vals;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (keys[p] <= key) break;
      keys[i] = keys[p];
      vals[i] = vals[p];
      i = p;
    }
    keys[i] = key;
    vals[i] = val;
  }
  /** Removes the minimum; its key and value are in `topKey` / `topVal`. */
  topKey = 0;
  topVal = 0;
  pop() {
    const keys = this.keys;
    const vals = this.vals;
    this.topKey = keys[0];
    this.topVal = vals[0];
    const n = --this.size;
    if (n === 0) return;
    const key = keys[n];
    const val = vals[n];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && keys[c + 1] < keys[c]) c++;
      if (keys[c] >= key) break;
      keys[i] = keys[c];
      vals[i] = vals[c];
      i = c;
    }
    keys[i] = key;
    vals[i] = val;
  }
}

/**
 * Dijkstra on travel time from `sources`, stopping once every node in `targets` is settled or the
 * next node is farther than `maxSeconds`.
 */
export function boundedDijkstra(g: RoadGraph, sources: SearchSource[], targets: Iterable<number>, maxSeconds = Infinity): SearchResult {
  const n = g.nodeSpan;
  const w = workspace(g);
  const cur = w.search;
  const { stamp, settledStamp, targetStamp, seconds, metres, prev, heap } = w;
  let remaining = 0;
  for (const t of targets) {
    if (t > 0 && t < n && targetStamp[t] !== cur) {
      targetStamp[t] = cur;
      remaining++;
    }
  }
  for (const s of sources) {
    if (s.node <= 0 || s.node >= n) continue;
    if (stamp[s.node] !== cur || s.seconds < seconds[s.node]) {
      stamp[s.node] = cur;
      seconds[s.node] = s.seconds;
      metres[s.node] = s.metres;
      prev[s.node] = -1;
      heap.push(s.seconds, s.node);
    }
  }
  const { adjStart, adjNode, adjEdge, edgeSeconds, edgeMetres } = g;
  let settledCount = 0;
  let hitBound = false;
  while (heap.size > 0 && remaining > 0) {
    heap.pop();
    const u = heap.topVal;
    const du = heap.topKey;
    if (settledStamp[u] === cur || du > seconds[u]) continue;
    if (du > maxSeconds) {
      hitBound = true;
      break;
    }
    settledStamp[u] = cur;
    settledCount++;
    if (targetStamp[u] === cur) remaining--;
    const mu = metres[u];
    for (let j = adjStart[u], end = adjStart[u + 1]; j < end; j++) {
      const v = adjNode[j];
      if (settledStamp[v] === cur) continue;
      const e = adjEdge[j];
      const dv = du + edgeSeconds[e];
      if (stamp[v] !== cur || dv < seconds[v]) {
        stamp[v] = cur;
        seconds[v] = dv;
        metres[v] = mu + edgeMetres[e];
        prev[v] = e;
        heap.push(dv, v);
      }
    }
  }
  // Tentative values of nodes reached but not settled are not answers.
  const ok = (v: number) => v > 0 && v < n && settledStamp[v] === cur && w.search === cur;
  return {
    seconds: (v) => (ok(v) ? seconds[v] : Infinity),
    metres: (v) => (ok(v) ? metres[v] : Infinity),
    prevEdge: (v) => (ok(v) ? prev[v] : -1),
    settled: ok,
    settledCount,
    hitBound,
  };
}

/**
 * The edges of the fastest path from the sources to `node` (in the search's tree), in travel order
 * from the source to `node`, each with the direction it is travelled in.
 */
export function pathTo(g: RoadGraph, r: SearchResult, node: number): { edge: number; forward: boolean }[] {
  const out: { edge: number; forward: boolean }[] = [];
  let v = node;
  for (let guard = 0; guard < g.nodeSpan && r.prevEdge(v) >= 0; guard++) {
    const e = r.prevEdge(v);
    const forward = g.edgeTarget[e] === v; // travelled source → target
    out.push({ edge: e, forward });
    v = forward ? g.edgeSource[e] : g.edgeTarget[e];
  }
  return out.reverse();
}

/** The coordinates of edge `e` ([lon, lat] pairs), optionally reversed. */
export function edgeCoords(g: RoadGraph, e: number, forward = true): [number, number][] {
  const out: [number, number][] = [];
  for (let i = g.coordStart[e]; i < g.coordStart[e + 1]; i += 2) out.push([g.coords[i], g.coords[i + 1]]);
  return forward ? out : out.reverse();
}

/** The part of edge `e` between fractions a and b of its length (a > b walks it backwards). */
export function edgeSlice(g: RoadGraph, e: number, a: number, b: number): [number, number][] {
  const pts = edgeCoords(g, e);
  if (pts.length < 2) return pts;
  // Cumulative planar lengths in degrees, as ST_LineLocatePoint measures the fraction of a snap.
  const cum = [0];
  for (let i = 1; i < pts.length; i++) cum.push(cum[i - 1] + Math.hypot(pts[i][0] - pts[i - 1][0], pts[i][1] - pts[i - 1][1]));
  const total = cum[cum.length - 1];
  const at = (f: number): [number, number] => {
    if (total === 0) return pts[0];
    const d = Math.min(Math.max(f, 0), 1) * total;
    let i = 1;
    while (i < pts.length - 1 && cum[i] < d) i++;
    const seg = cum[i] - cum[i - 1];
    const t = seg === 0 ? 0 : (d - cum[i - 1]) / seg;
    return [pts[i - 1][0] + (pts[i][0] - pts[i - 1][0]) * t, pts[i - 1][1] + (pts[i][1] - pts[i - 1][1]) * t];
  };
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  const inner = pts.filter((_, i) => total > 0 && cum[i] / total > lo && cum[i] / total < hi);
  const slice = [at(lo), ...inner, at(hi)];
  return a <= b ? slice : slice.reverse();
}
