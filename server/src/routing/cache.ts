/**
 * One road graph per process, keyed by the network's change marker (road_network_state: the roads
 * version, bumped by a trigger on every change to roads, and the version the network was noded at,
 * so a re-noding after the roads changed is seen too). The caller passes the marker it read — the
 * candidates query reads it in the same statement as the incident, so checking costs no extra
 * round trip and the next request after a change sees the new roads. Concurrent requests during a
 * rebuild share one build; a failed build is not cached.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/types.js';
import { loadRoadGraph, type RoadGraph, type SpeedConfig } from './graph.js';
import { readNetworkState } from './routing.repository.js';

export class RoadGraphCache {
  private current?: RoadGraph;
  private building?: { key: string; promise: Promise<RoadGraph> };
  /** How many graphs this cache has built (tests and the benchmark read it). */
  builds = 0;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly speeds: SpeedConfig,
  ) {}

  /** The graph for the network state `key` ("version:noded"); read from the database when unknown. */
  async get(key?: string): Promise<RoadGraph> {
    const wanted = key ?? (await readNetworkState(this.db)).key;
    if (this.current?.key === wanted) return this.current;
    if (this.building?.key === wanted) return this.building.promise;
    const promise = loadRoadGraph(this.db, this.speeds).then(
      (g) => {
        this.builds++;
        // Keep the newest: a slower build of an older state never replaces a newer graph.
        if (!this.current || g.version >= this.current.version) this.current = g;
        if (this.building?.promise === promise) this.building = undefined;
        return g;
      },
      (err) => {
        if (this.building?.promise === promise) this.building = undefined;
        throw err;
      },
    );
    this.building = { key: wanted, promise };
    return promise;
  }

  /** The graph in memory, if any (no database access). */
  peek(): RoadGraph | undefined {
    return this.current;
  }
}
