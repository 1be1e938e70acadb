import { sql, type Kysely } from 'kysely';
import type { DB } from '../db/types.js';

/** Layers whose rows can come from an import (and so carry a data source with an attribution). */
const IMPORTABLE = { areas: 'areas', grids: 'grids', buildings: 'buildings', roads: 'roads' } as const;

/**
 * The attributions required by the data currently held in a layer: those of every recorded import
 * source that still has rows there (e.g. "© OpenStreetMap contributors" after an OSM import).
 */
export async function layerAttributions(db: Kysely<DB>, layer: string): Promise<string[]> {
  const table = IMPORTABLE[layer as keyof typeof IMPORTABLE];
  if (!table) return [];
  const { rows } = await sql<{ attribution: string }>`
    SELECT DISTINCT ds.attribution
      FROM data_sources ds
     WHERE ds.layer = ${layer} AND ds.attribution IS NOT NULL
       AND EXISTS (SELECT 1 FROM ${sql.table(table)} t WHERE t.source = ds.name)
     ORDER BY ds.attribution`.execute(db);
  return rows.map((r) => r.attribution);
}
