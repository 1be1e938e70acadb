/**
 * The SQL of the in-process road graph: the network's change marker, and the routable network
 * (road_nodes / road_edges, derived from roads by geo-data/src/roads/noding.ts) read in one snapshot.
 */
import { sql, type Kysely } from 'kysely';
import { stX, stY } from '../db/postgis.js';
import type { Db } from '../db/transaction.js';
import type { DB } from '../db/types.js';

export interface EdgeRow {
  /** road_edges.id */
  id: number;
  source: number;
  target: number;
  lengthM: number;
  roadClass: string;
  /** [lon, lat, lon, lat, …] from source to target; empty for a straight edge between its nodes. */
  coords: number[];
}

export interface NodeRow {
  id: number;
  lon: number;
  lat: number;
}

/** The marker as a graph key ("version:noded"), from the numbers or their text. */
export function networkState(version: string | number, noded: string | number): { version: number; key: string } {
  return { version: Number(version), key: `${version}:${noded}` };
}

/** The network's change marker: the roads version and the version the network was noded at. */
export async function readNetworkState(db: Db): Promise<{ version: number; key: string }> {
  const row = await db
    .selectFrom('road_network_state')
    .select(['version', 'noded_version'])
    .where('singleton', '=', true)
    .executeTakeFirst();
  return networkState(row?.version ?? 0, row?.noded_version ?? -1);
}

/** The routable network and the marker it belongs to. */
export interface RoadNetwork {
  state: { version: number; key: string };
  nodes: NodeRow[];
  edges: EdgeRow[];
}

/**
 * Reads nodes and edges in one read-only REPEATABLE READ snapshot together with the marker, so the
 * graph built from them is exactly the network of the version it is keyed by.
 */
export async function readRoadNetwork(db: Kysely<DB>): Promise<RoadNetwork> {
  return db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute(async (trx) => {
    const state = await readNetworkState(trx);
    const nodes = await trx.selectFrom('road_nodes').select((eb) => ['id', stX(eb.ref('geom')).as('lon'), stY(eb.ref('geom')).as('lat')]).execute();
    // Most edges are straight (two points, their ends exactly on the node points): only the others
    // carry their geometry, as GeoJSON text (the cheapest to read: ~3× faster than a float8[] of points).
    const edges = await trx
      .selectFrom('road_edges as e')
      .innerJoin('roads as r', 'r.id', 'e.road_id')
      .select(['e.id', 'e.source', 'e.target', 'e.length_m', 'r.class'])
      .select((eb) => sql<string | null>`CASE WHEN ST_NPoints(${eb.ref('e.geom')}) > 2 THEN ST_AsGeoJSON(${eb.ref('e.geom')}, 7) END`.as('g'))
      .execute();
    return {
      state,
      nodes,
      edges: edges.map((e) => ({
        id: e.id, source: e.source, target: e.target, lengthM: e.length_m, roadClass: e.class,
        coords: e.g ? (JSON.parse(e.g).coordinates as number[][]).flat() : [],
      })),
    };
  });
}
