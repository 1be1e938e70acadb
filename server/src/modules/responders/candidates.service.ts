/**
 * Nearest-responder candidates for an incident (GET /api/incidents/{id}/candidates): the IO around
 * the pure ranking (ranking.ts).
 *
 * 1. One statement reads the incident (within the user's scope) and the road network's change marker.
 * 2. One statement picks the candidates in SQL — available responders in scope whose presence is
 *    not offline: the nearest few times k by KNN (`ORDER BY position <-> location`, GiST index), plus
 *    every such responder of the incident's own and neighbouring grids (so the ladder can prefer them
 *    even when KNN would not reach them) — with each one's tier and geodesic straight-line distance.
 * 3. The in-process road graph (routing/cache.ts, rebuilt when the marker changes) snaps the incident
 *    and the candidates onto the network (routing/snap.ts) and ONE bounded Dijkstra from the incident
 *    (routing/search.ts) gives every candidate's travel time, network distance and route.
 * 4. rankCandidates applies the stale penalty and the ladder; the first k are answered.
 *
 * Snapping: a point enters the network at its projection onto the nearest road edge, at most
 * MAX_SNAP_METRES away; the edge is entered at the projected point (the partial edge to each end
 * node costs its share of the edge's time), and the off-network leg (the snap distance) is covered
 * at CommandConfig.offNetworkKmh — the walking speed (5 km/h by default): from a doorway or a
 * courtyard to the street one walks, and the leg is at most 300 m. distanceMetres counts both
 * off-network legs plus the network path.
 *
 * Fallback (routed: false, and said so in the reason): when there are no roads, when the incident
 * or the responder is farther than MAX_SNAP_METRES from any road, or when no road path connects
 * them within MAX_SEARCH_SECONDS — the geodesic straight-line distance (ST_Distance on geography)
 * at offNetworkKmh.
 */
import type { Kysely } from 'kysely';
import type pg from 'pg';
import type { CommandConfig } from '../../config.js';
import type { DB } from '../../db/types.js';
import { RoadGraphCache } from '../../routing/cache.js';
import type { RoadGraph } from '../../routing/graph.js';
import { networkState } from '../../routing/routing.repository.js';
import { boundedDijkstra, edgeCoords, edgeSlice, pathTo, type SearchSource } from '../../routing/search.js';
import { snapToGraph } from '../../routing/snap.js';
import { candidateResponders, candidatesIncident, type CandidateRow, type CandidatesIncident, type StatementMode } from './candidates.query.js';
import { rankCandidates, type CandidateInput, type Fallback, type Lang, type RankedCandidate } from './ranking.js';

export const MAX_SNAP_METRES = 300;
/** The search stops at this travel time; a responder farther away is estimated by the straight line. */
export const MAX_SEARCH_SECONDS = 3 * 3600;
/** KNN prefilter: this many times k nearest (at least MIN_PREFILTER), before the own/neighbour grids' workers are added. */
export const PREFILTER_FACTOR = 4;
export const MIN_PREFILTER = 20;

export interface CandidatesResult {
  incidentId: string;
  networkVersion: number;
  generatedAt: string;
  candidates: RankedCandidate[];
}

export interface CandidatesTiming {
  /** The two SQL statements. */
  sqlMs: number;
  /** Waiting for the graph (0 when cached; the build when the network changed). */
  graphMs: number;
  /** The travel-time ranking: search, ladder, routes. */
  rankMs: number;
  graphBuilt: boolean;
}

/** A point's way onto the graph: edge index, metres from the edge's source, snap distance. */
interface Entry {
  edge: number;
  partial: number;
  snap: number;
  frac: number;
}

function entryOf(g: RoadGraph, lon: number, lat: number): Entry | undefined {
  const s = snapToGraph(g, lon, lat, MAX_SNAP_METRES);
  return s && { edge: s.edge, partial: s.partialM, snap: s.snapM, frac: s.frac };
}

/** What the candidates need of the database: the pool for the named statements, Kysely for the road graph. */
export interface CandidatesDeps {
  pool: pg.Pool;
  db: Kysely<DB>;
}

export class CandidatesService {
  readonly graphs: RoadGraphCache;
  private readonly mode: StatementMode;

  constructor(
    private readonly deps: CandidatesDeps,
    private readonly cfg: CommandConfig,
    /** Use named (per-connection prepared) statements: on an external database only (candidates.query.ts). */
    namedStatements = true,
  ) {
    this.graphs = new RoadGraphCache(deps.db, cfg);
    this.mode = { named: namedStatements };
  }

  /** The ranked candidates, or undefined when the incident does not exist in the user's scope. */
  async candidates(
    incidentId: string,
    opts: { k: number; routes: boolean; lang: Lang; scope: string },
  ): Promise<{ result: CandidatesResult; timing: CandidatesTiming } | undefined> {
    const t0 = performance.now();
    const incident = await candidatesIncident(this.deps.pool, this.mode, incidentId, opts.scope);
    if (!incident) return undefined;
    const rows = await candidateResponders(this.deps.pool, this.mode, incident, {
      areaCode: opts.scope,
      limit: Math.max(MIN_PREFILTER, PREFILTER_FACTOR * opts.k),
      onlineSeconds: this.cfg.onlineSeconds,
      offlineSeconds: this.cfg.offlineSeconds,
    });
    const t1 = performance.now();
    const state = networkState(incident.networkVersion, incident.nodedVersion);
    const before = this.graphs.builds;
    const g = await this.graphs.get(state.key);
    const t2 = performance.now();
    const inputs = this.travel(g, incident, rows, opts.routes);
    const ranked = rankCandidates(inputs, this.cfg, opts.lang).slice(0, opts.k);
    const t3 = performance.now();
    return {
      result: { incidentId: incident.id, networkVersion: state.version, generatedAt: new Date().toISOString(), candidates: ranked },
      timing: { sqlMs: t1 - t0, graphMs: t2 - t1, rankMs: t3 - t2, graphBuilt: this.graphs.builds !== before },
    };
  }

  /** Travel time, distance and route of every candidate (one search from the incident). */
  travel(g: RoadGraph, incident: CandidatesIncident, rows: CandidateRow[], routes: boolean): CandidateInput[] {
    const mps = this.cfg.offNetworkKmh / 3.6;
    const base = (r: CandidateRow) => ({
      responderId: r.id, name: r.name, kind: r.kind, status: r.status, presence: r.presence,
      positionAgeSeconds: Math.round(r.ageSeconds), homeGridId: r.homeGridId, homeGridCode: r.homeGridCode, tier: r.tier,
    });
    const straight = (r: CandidateRow, fallback: Fallback): CandidateInput => ({
      ...base(r), travelSeconds: r.straightMetres / mps, distanceMetres: r.straightMetres, routed: false, fallback, route: null,
    });
    if (g.edgeCount === 0) return rows.map((r) => straight(r, 'no_network'));
    const from = entryOf(g, incident.lon, incident.lat);
    if (!from) return rows.map((r) => straight(r, 'off_network'));

    const secPerMetre = (e: number) => (g.edgeMetres[e] > 0 ? g.edgeSeconds[e] / g.edgeMetres[e] : 0);
    const s0 = secPerMetre(from.edge);
    const leg0 = from.snap / mps;
    const sources: SearchSource[] = [
      { node: g.edgeSource[from.edge], seconds: leg0 + from.partial * s0, metres: from.snap + from.partial },
      { node: g.edgeTarget[from.edge], seconds: leg0 + (g.edgeMetres[from.edge] - from.partial) * s0, metres: from.snap + g.edgeMetres[from.edge] - from.partial },
    ];
    const entries = rows.map((r) => entryOf(g, r.lon, r.lat));
    const targets: number[] = [];
    for (const en of entries) if (en) targets.push(g.edgeSource[en.edge], g.edgeTarget[en.edge]);
    const search = boundedDijkstra(g, sources, targets, MAX_SEARCH_SECONDS);

    return rows.map((r, i) => {
      const en = entries[i];
      if (!en) return straight(r, 'off_network');
      const s = secPerMetre(en.edge);
      const len = g.edgeMetres[en.edge];
      const leg = en.snap / mps;
      const src = g.edgeSource[en.edge];
      const tgt = g.edgeTarget[en.edge];
      // Three ways in: through the edge's source, through its target, or along the incident's own edge.
      const options: { seconds: number; metres: number; via: 'source' | 'target' | 'same' }[] = [
        { seconds: search.seconds(src) + en.partial * s + leg, metres: search.metres(src) + en.partial + en.snap, via: 'source' },
        { seconds: search.seconds(tgt) + (len - en.partial) * s + leg, metres: search.metres(tgt) + len - en.partial + en.snap, via: 'target' },
      ];
      if (en.edge === from.edge) {
        const along = Math.abs(en.partial - from.partial);
        options.push({ seconds: leg0 + along * s + leg, metres: from.snap + along + en.snap, via: 'same' });
      }
      const best = options.reduce((a, b) => (b.seconds < a.seconds ? b : a));
      if (!Number.isFinite(best.seconds)) return straight(r, 'unconnected');
      return {
        ...base(r),
        travelSeconds: best.seconds,
        distanceMetres: best.metres,
        routed: true,
        route: routes ? { type: 'LineString' as const, coordinates: this.route(g, search, incident, from, r, en, best.via) } : null,
      };
    });
  }

  /** The route from the responder to the incident: off-network leg, partial edge, network path, partial edge, leg. */
  private route(
    g: RoadGraph, search: ReturnType<typeof boundedDijkstra>, incident: CandidatesIncident, from: Entry,
    r: CandidateRow, en: Entry, via: 'source' | 'target' | 'same',
  ): [number, number][] {
    const line: [number, number][] = [[incident.lon, incident.lat]];
    if (via === 'same') {
      line.push(...edgeSlice(g, from.edge, from.frac, en.frac));
    } else {
      const node = via === 'source' ? g.edgeSource[en.edge] : g.edgeTarget[en.edge];
      const path = pathTo(g, search, node);
      // The path starts at one end of the incident's edge: walk the partial edge to it first.
      const first = path.length ? (path[0].forward ? g.edgeSource[path[0].edge] : g.edgeTarget[path[0].edge]) : node;
      line.push(...edgeSlice(g, from.edge, from.frac, first === g.edgeSource[from.edge] ? 0 : 1));
      for (const step of path) line.push(...edgeCoords(g, step.edge, step.forward));
      line.push(...edgeSlice(g, en.edge, via === 'source' ? 0 : 1, en.frac));
    }
    line.push([r.lon, r.lat]);
    // Drop consecutive repeats (edge ends meet at nodes), then travel order: responder → incident.
    const out: [number, number][] = [];
    for (const p of line) {
      const q = out[out.length - 1];
      if (!q || Math.abs(q[0] - p[0]) > 1e-9 || Math.abs(q[1] - p[1]) > 1e-9) out.push([Math.round(p[0] * 1e7) / 1e7, Math.round(p[1] * 1e7) / 1e7]);
    }
    if (out.length === 1) out.push(out[0]);
    return out.reverse();
  }
}
