import { sql, type SqlBool } from 'kysely';
import type { Db } from '../../db/transaction.js';

/** Layers whose rows can come from an import (and so carry a data source with an attribution). */
const IMPORTABLE = ['areas', 'grids', 'buildings', 'roads'] as const;
type ImportableLayer = (typeof IMPORTABLE)[number];

const isImportable = (layer: string): layer is ImportableLayer => (IMPORTABLE as readonly string[]).includes(layer);

/**
 * The attributions required by the data currently held in a layer (a collection or tile layer):
 * those of every recorded import source that still has rows there (e.g. "© OpenStreetMap
 * contributors" after an OSM import).
 */
export async function layerAttributions(db: Db, layer: string): Promise<string[]> {
  if (!isImportable(layer)) return [];
  const rows = await db
    .selectFrom('data_sources as ds')
    .select('ds.attribution')
    .distinct()
    .where('ds.layer', '=', layer)
    .where('ds.attribution', 'is not', null)
    // The table is one of four by value; the builder types one table, not a union of them.
    .where(sql<SqlBool>`EXISTS (SELECT 1 FROM ${sql.table(layer)} t WHERE t.source = ds.name)`)
    .orderBy('ds.attribution')
    .$narrowType<{ attribution: string }>()
    .execute();
  return rows.map((r) => r.attribution);
}
