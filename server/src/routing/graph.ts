/**
 * The in-process road graph for travel-time routing, built from the routable network in the
 * database (road_nodes / road_edges, derived from roads by geo-data/src/roads/noding.ts: the noding
 * rules — shared vertices, same-level crossings, bridges and tunnels — are already in the data).
 *
 * Every edge is two-way. Our responders are grid workers, patrols and volunteers who walk or ride
 * e-bikes, and on foot or an e-bike a one-way street can be used in both directions (on the
 * pavement, or pushing the bike); ignoring `roads.oneway` also keeps the graph symmetric, so the
 * travel time from the incident to a responder equals the time from the responder to the incident
 * and one search from the incident serves every responder (search.ts).
 *
 * Cost of an edge = length_m / speed of its road class (CommandConfig.speedsKmh, defaultKmh for
 * classes not listed).
 *
 * The graph itself is an ngraph.graph (multigraph: two roads may join the same pair of nodes);
 * beside it, flat typed arrays hold what the hot loop of the search and the route geometry need
 * (node coordinates, per-edge seconds/metres, edge polylines) so a request allocates no objects
 * per edge.
 */
import createGraph, { type Graph } from 'ngraph.graph';
import type { Kysely } from 'kysely';
import type { DB } from '../db/types.js';
import { readRoadNetwork, type EdgeRow, type NodeRow } from './routing.repository.js';
import { buildEdgeIndex, type EdgeIndex } from './snap.js';

export interface SpeedConfig {
  speedsKmh: Record<string, number>;
  defaultKmh: number;
}

export interface RoadGraph {
  /** road_network_state version/noded_version this graph was read at ("v:n"). */
  key: string;
  version: number;
  graph: Graph<number, number>;
  nodeCount: number;
  edgeCount: number;
  /** Highest node id + 1: the size of per-node arrays (node ids are 1..n from the noding). */
  nodeSpan: number;
  nodeLon: Float64Array;
  nodeLat: Float64Array;
  /** Per edge index (0..edgeCount-1). */
  edgeId: Float64Array;
  edgeSource: Int32Array;
  edgeTarget: Int32Array;
  edgeMetres: Float64Array;
  edgeSeconds: Float64Array;
  /** Edge polylines: coordinates of edge i are coords[coordStart[i] .. coordStart[i+1]). */
  coordStart: Int32Array;
  coords: Float64Array;
  /** road_edges.id → edge index. */
  indexOfEdge: Map<number, number>;
  /**
   * Adjacency in compressed form (CSR), derived from the ngraph links: the neighbours of node u are
   * adjNode[adjStart[u] .. adjStart[u+1]) reached over edge adjEdge[…]. The search walks these.
   */
  adjStart: Int32Array;
  adjNode: Int32Array;
  adjEdge: Int32Array;
  /** Cell index of the edges' polylines, for snapping points (snap.ts). */
  edgeIndex: EdgeIndex;
  /** Milliseconds it took to read the rows and build. */
  buildMs: number;
}

export function speedKmh(speeds: SpeedConfig, roadClass: string): number {
  const v = Object.hasOwn(speeds.speedsKmh, roadClass) ? speeds.speedsKmh[roadClass] : speeds.defaultKmh;
  return v > 0 ? v : speeds.defaultKmh;
}

/** Builds the graph from rows (pure; loadRoadGraph reads the rows). */
export function buildRoadGraph(
  nodes: NodeRow[],
  edges: EdgeRow[],
  speeds: SpeedConfig,
  state: { version: number; key: string },
  startedAt = performance.now(),
): RoadGraph {
  const graph = createGraph<number, number>({ multigraph: true });
  let maxId = 0;
  for (const n of nodes) if (n.id > maxId) maxId = n.id;
  const nodeSpan = maxId + 1;
  const nodeLon = new Float64Array(nodeSpan);
  const nodeLat = new Float64Array(nodeSpan);
  for (const n of nodes) {
    graph.addNode(n.id, n.id);
    nodeLon[n.id] = n.lon;
    nodeLat[n.id] = n.lat;
  }
  const m = edges.length;
  const edgeId = new Float64Array(m);
  const edgeSource = new Int32Array(m);
  const edgeTarget = new Int32Array(m);
  const edgeMetres = new Float64Array(m);
  const edgeSeconds = new Float64Array(m);
  const coordStart = new Int32Array(m + 1);
  let totalCoords = 0;
  for (const e of edges) totalCoords += e.coords.length || 4;
  const coords = new Float64Array(totalCoords);
  const indexOfEdge = new Map<number, number>();
  let c = 0;
  for (let i = 0; i < m; i++) {
    const e = edges[i];
    edgeId[i] = e.id;
    edgeSource[i] = e.source;
    edgeTarget[i] = e.target;
    edgeMetres[i] = e.lengthM;
    edgeSeconds[i] = e.lengthM / (speedKmh(speeds, e.roadClass) / 3.6);
    coordStart[i] = c;
    // No coordinates given: a straight edge from its source node to its target node.
    const line = e.coords.length ? e.coords : [nodeLon[e.source], nodeLat[e.source], nodeLon[e.target], nodeLat[e.target]];
    coords.set(line, c);
    c += line.length;
    indexOfEdge.set(e.id, i);
    // Self-loops (a closed ring road) never shorten a path: kept on the edge arrays for snapping,
    // left out of the graph.
    if (e.source !== e.target) graph.addLink(e.source, e.target, i);
  }
  coordStart[m] = c;

  // CSR adjacency from the ngraph links, both directions of every link (two-way edges).
  const degree = new Int32Array(nodeSpan + 1);
  graph.forEachLink((link) => {
    degree[link.fromId as number]++;
    degree[link.toId as number]++;
  });
  const adjStart = new Int32Array(nodeSpan + 1);
  for (let u = 0; u < nodeSpan; u++) adjStart[u + 1] = adjStart[u] + degree[u];
  const fill = adjStart.slice(0, nodeSpan);
  const adjNode = new Int32Array(adjStart[nodeSpan]);
  const adjEdge = new Int32Array(adjStart[nodeSpan]);
  graph.forEachLink((link) => {
    const a = link.fromId as number;
    const b = link.toId as number;
    adjNode[fill[a]] = b;
    adjEdge[fill[a]++] = link.data;
    adjNode[fill[b]] = a;
    adjEdge[fill[b]++] = link.data;
  });

  const edgeIndex = buildEdgeIndex({ edgeCount: m, coordStart, coords });
  return {
    key: state.key,
    version: state.version,
    graph,
    nodeCount: nodes.length,
    edgeCount: m,
    nodeSpan,
    nodeLon,
    nodeLat,
    edgeId,
    edgeSource,
    edgeTarget,
    edgeMetres,
    edgeSeconds,
    coordStart,
    coords,
    indexOfEdge,
    adjStart,
    adjNode,
    adjEdge,
    edgeIndex,
    buildMs: performance.now() - startedAt,
  };
}


/** Reads the routable network in one snapshot (routing.repository.ts) and builds its graph. */
export async function loadRoadGraph(db: Kysely<DB>, speeds: SpeedConfig): Promise<RoadGraph> {
  const startedAt = performance.now();
  const network = await readRoadNetwork(db);
  return buildRoadGraph(network.nodes, network.edges, speeds, network.state, startedAt);
}
