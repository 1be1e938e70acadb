/**
 * Point-to-point travel time with ngraph.path's A* on the same graph — the alternative to the one
 * bounded Dijkstra per request (server/src/routing/search.ts). Used to check the search and, in
 * the candidates benchmark, to measure "one A* per responder" against "one Dijkstra from the incident".
 * Heuristic: straight-line (equirectangular) distance at the fastest speed in the graph, which
 * never overestimates, so A* stays exact.
 */
import ngraphPath from 'ngraph.path';
import type { RoadGraph } from '../../server/src/routing/graph.js';

export function aStarSeconds(g: RoadGraph): (from: number, to: number) => number {
  let maxMps = 0;
  for (let e = 0; e < g.edgeCount; e++) if (g.edgeSeconds[e] > 0) maxMps = Math.max(maxMps, g.edgeMetres[e] / g.edgeSeconds[e]);
  const R = 6_371_008.8;
  const rad = Math.PI / 180;
  const finder = ngraphPath.aStar<number, number>(g.graph, {
    distance: (_a, _b, link) => g.edgeSeconds[link.data],
    heuristic: (a, b) => {
      if (maxMps === 0) return 0;
      const x = (g.nodeLon[b.id as number] - g.nodeLon[a.id as number]) * rad * Math.cos(((g.nodeLat[a.id as number] + g.nodeLat[b.id as number]) / 2) * rad);
      const y = (g.nodeLat[b.id as number] - g.nodeLat[a.id as number]) * rad;
      // 0.99: a margin for the equirectangular approximation against the geodesic edge lengths.
      return (0.99 * R * Math.hypot(x, y)) / maxMps;
    },
  });
  return (from, to) => {
    if (from === to) return 0;
    const nodes = finder.find(from, to);
    if (nodes.length === 0) return Infinity;
    // The nodes come from `to` back to `from`; the cheapest link of each step.
    let s = 0;
    for (let i = 1; i < nodes.length; i++) {
      let best = Infinity;
      for (const l of g.graph.getLinks(nodes[i].id) ?? []) {
        const joins = (l.fromId === nodes[i].id && l.toId === nodes[i - 1].id) || (l.toId === nodes[i].id && l.fromId === nodes[i - 1].id);
        if (joins && g.edgeSeconds[l.data] < best) best = g.edgeSeconds[l.data];
      }
      s += best;
    }
    return s;
  };
}
