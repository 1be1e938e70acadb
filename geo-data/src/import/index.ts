/**
 * GeoJSON import of buildings, roads, areas and grids: every valid feature lands whole, every
 * invalid one is rejected whole with a reason, in one transaction.
 *
 * Pipeline
 *  1. Read the file (FeatureCollection or Feature; bare NaN/Infinity tokens tolerated so that
 *     such features can be rejected one by one instead of failing the file).
 *  2. Resolve the CRS (option, else the file's legacy `crs` member, else EPSG:4326):
 *     GCJ02/BD09 are converted in JS (gcoord); an EPSG code the database knows is transformed in
 *     PostGIS (ST_Transform); a code it lacks falls back to proj4 (CGCS2000 defs in ../crs.ts);
 *     anything else is an error before any work is done.
 *  3. Per feature in JS: structure (geometry type for the layer, nesting, finite numbers, closed
 *     rings, ≥ 4 positions a ring, ≥ 2 a line, ≤ MAX_VERTICES), properties (attributes.ts), key,
 *     duplicate keys in the file.
 *  4. Per batch, one SQL statement (sql.ts): ST_GeomFromGeoJSON, transform, range / extent /
 *     ST_IsValid / parent checks, upsert of the rows that passed. Each batch runs in a savepoint;
 *     if the database still refuses something (a data error), the batch is bisected down to the
 *     feature responsible, which is rejected with the database's message; other errors abort.
 *  5. After roads: the network is re-noded (roads/noding.ts) in the same transaction. Buildings
 *     get their grid from the insert/update trigger; imported grids re-assign buildings and open
 *     incidents under them through the grids' statement triggers (migration 0001).
 *  6. A data_sources row (source, layer, attribution, counts), COMMIT, then the report file.
 *
 * Decisions
 *  - Key (idempotent re-import within one source): the feature's `id`, else `properties.osm_id`,
 *    else `properties.id`, else `geom:<sha1 of the input geometry>` (so files without ids still
 *    re-import idempotently; an exact duplicate geometry without id is rejected as a duplicate).
 *    Areas and grids are keyed by their code (unique in the database); their source_id keeps the id.
 *    Re-import upserts: features no longer in the file are not deleted.
 *  - Source: option `source`, default the file's base name without extension.
 *  - MultiLineString roads are split: part n (1-based) becomes a road keyed `<key>#part<n>`; the
 *    feature is imported only if every part is valid.
 *  - Rail, ferry and other non-road lines are rejected ("not a road: rail"), as are building parts
 *    ("not a building: building part", they duplicate a building's footprint).
 *  - Areas may have a null geometry (codes and names only); re-importing such a feature keeps an
 *    existing geometry. Areas are imported district → street → community so a file can hold all
 *    levels; a feature whose parent is missing is rejected ("parent area not found").
 *  - Size caps: MAX_VERTICES per feature; extent per layer (MAX_EXTENT_DEG).
 *  - Report: option `reportFile`, default `<file>.import-report.json` beside the input, or in the
 *    OS temp dir when that is not writable.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import type { Progress } from '../progress.js';
import { CrsError, jsTransformToWgs84, parseCrs, type CrsSpec, type PointTransform } from '../crs.js';
import { nodeRoadNetwork } from '../roads/noding.js';
import {
  AttributeProblem,
  areaAttributes,
  buildingAttributes,
  gridAttributes,
  roadAttributes,
  type Props,
} from './attributes.js';
import { checkGeometry, GeometryProblem, readGeoJsonFile, REASONS, type Geometry, type RawFeature } from './geojson.js';
import { AREAS_SQL, BUILDINGS_SQL, GRIDS_SQL, ROADS_SQL, type BatchRow } from './sql.js';

export const LAYERS = ['buildings', 'roads', 'areas', 'grids'] as const;
export type Layer = (typeof LAYERS)[number];

export interface ImportOptions {
  layer: Layer;
  file: string;
  /** GCJ02, BD09, WGS84 or EPSG:<code>; default the file's `crs` member, else EPSG:4326. */
  crs?: string;
  /** Namespace of the feature keys; default the file's base name without extension. */
  source?: string;
  /** Where to write the per-feature report; default `<file>.import-report.json`. */
  reportFile?: string;
  /**
   * Attribution the data requires, recorded in data_sources; default the file's top-level
   * `attribution` member, else "© OpenStreetMap contributors" when features carry OSM ids.
   */
  attribution?: string;
  onProgress?: Progress;
}

export interface ImportResult {
  /** Features in the file. */
  features: number;
  imported: number;
  inserted: number;
  updated: number;
  rejected: number;
  rejectedByReason: Record<string, number>;
  reportFile: string;
}

export interface Rejection {
  index: number;
  id: string | null;
  reason: string;
  detail: string;
}

/** Per-feature vertex cap. */
export const MAX_VERTICES = 100_000;
/** Largest allowed extent (degrees of lon or lat) of one feature, by layer. */
export const MAX_EXTENT_DEG: Readonly<Record<Layer, number>> = {
  buildings: 0.05, // ~5 km
  roads: 1, // ~100 km
  grids: 0.5, // ~50 km
  areas: 10, // the largest counties span several degrees
};

const BATCH_FEATURES = 500;
const BATCH_VERTICES = 200_000;

const ALLOWED_TYPES: Record<Layer, Geometry['type'][]> = {
  buildings: ['Polygon', 'MultiPolygon'],
  roads: ['LineString', 'MultiLineString'],
  areas: ['Polygon', 'MultiPolygon'],
  grids: ['Polygon', 'MultiPolygon'],
};

const LAYER_SQL: Record<Layer, string> = { buildings: BUILDINGS_SQL, roads: ROADS_SQL, areas: AREAS_SQL, grids: GRIDS_SQL };

/** One element of a batch, as the SQL reads it. */
interface Part {
  i: number;
  k: string;
  s: string;
  g: Geometry | null;
  a: Record<string, unknown>;
}

/** A feature that passed the JS checks: one part, or several for a MultiLineString road. */
interface Work {
  index: number;
  id: string | null;
  parts: Part[];
  vertices: number;
  /** Areas: import order district → street → community. */
  level: number;
}

interface ResolvedCrs {
  spec: CrsSpec;
  /** SRID of the coordinates sent to the database. */
  srid: number;
  /** Round-trip tolerance in the units of `srid` (PostGIS path). */
  tolerance: number;
  /** Conversion done in JS before sending, if any. */
  transform: PointTransform | null;
  via: 'none' | 'gcoord' | 'postgis' | 'proj4';
}

export async function importGeoJson(pool: pg.Pool, options: ImportOptions): Promise<ImportResult> {
  const { layer, file } = options;
  if (!(LAYERS as readonly string[]).includes(layer)) throw new Error(`unknown layer "${layer}": use one of ${LAYERS.join(', ')}`);
  const progress = options.onProgress ?? (() => {});
  const started = new Date();
  const source = options.source ?? path.basename(file, path.extname(file));
  if (!source.trim() || source.length > 200) throw new Error('source must be 1 to 200 characters');

  progress('read', 0, 1);
  const parsed = await readGeoJsonFile(file);
  progress('read', 1, 1);
  const crsInput = options.crs ?? parsed.crsName ?? 'EPSG:4326';
  const attribution = (options.attribution?.trim() || parsed.attribution || osmAttribution(parsed.features))?.slice(0, 500) ?? null;
  const crs = await resolveCrs(pool, crsInput);

  // 3. JS checks
  const rejections: Rejection[] = [];
  const works: Work[] = [];
  const seen = new Map<string, number>();
  const total = parsed.features.length;
  for (let index = 0; index < total; index++) {
    const raw = parsed.features[index];
    const result = prepareFeature(layer, raw, index, crs.transform);
    if ('reason' in result) {
      rejections.push(result);
      continue;
    }
    const dupKey = layer === 'areas' || layer === 'grids' ? (result.parts[0].a.code as string) : result.parts[0].k;
    const first = seen.get(dupKey);
    if (first !== undefined) {
      rejections.push({
        index,
        id: result.id,
        reason: REASONS.duplicate,
        detail: `key ${dupKey} was already used by feature ${first} in this file`,
      });
      continue;
    }
    seen.set(dupKey, index);
    works.push(result);
    if (index % 1000 === 999) progress('validate', index + 1, total);
  }
  progress('validate', total, total);
  if (layer === 'areas') works.sort((a, b) => a.level - b.level || a.index - b.index);

  // 4–6. one transaction
  const sql = LAYER_SQL[layer];
  const maxExtent = MAX_EXTENT_DEG[layer];
  let inserted = 0;
  let updated = 0;
  let network: { nodes: number; edges: number } | undefined;
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    let done = 0;
    progress('import', 0, works.length);
    for (const batch of batches(works)) {
      const rows = await runBatch(client, batch, (b) => execBatch(client, sql, b, source, crs, maxExtent));
      const byFeature = new Map<number, BatchRow[]>();
      for (const r of rows) {
        const list = byFeature.get(r.i);
        if (list) list.push(r);
        else byFeature.set(r.i, [r]);
      }
      for (const w of batch) {
        const partRows = byFeature.get(w.index) ?? [];
        const bad = partRows.find((r) => r.reason !== null);
        if (bad || partRows.length !== w.parts.length || partRows.some((r) => r.inserted === null)) {
          rejections.push({
            index: w.index,
            id: w.id,
            reason: bad?.reason ?? 'not imported',
            detail: bad ? `${w.parts.length > 1 ? `part ${bad.k}: ` : ''}${bad.detail ?? ''}` : 'the database returned no row for it',
          });
        } else if (partRows.every((r) => r.inserted === true)) inserted++;
        else updated++;
      }
      done += batch.length;
      progress('import', done, works.length);
    }
    if (layer === 'roads') network = await nodeRoadNetwork(client, progress);
    // Provenance (data_sources, migration 0001): one row per (source, layer).
    await client.query(
      `INSERT INTO data_sources (name, layer, attribution, imported_at, imported_count, rejected_count)
       VALUES ($1, $2, $3, now(), $4, $5)
       ON CONFLICT (name, layer) DO UPDATE
         SET attribution = coalesce(EXCLUDED.attribution, data_sources.attribution), imported_at = now(),
             imported_count = EXCLUDED.imported_count, rejected_count = EXCLUDED.rejected_count`,
      [source, layer, attribution, inserted + updated, total - inserted - updated],
    );
    await client.query('COMMIT');
  } catch (err) {
    // A connection that cannot even roll back is discarded rather than returned to the pool.
    await client.query('ROLLBACK').catch((e: Error) => (broken = e));
    throw err;
  } finally {
    client.release(broken);
  }

  rejections.sort((a, b) => a.index - b.index);
  const rejectedByReason: Record<string, number> = {};
  for (const r of rejections) rejectedByReason[r.reason] = (rejectedByReason[r.reason] ?? 0) + 1;
  const counts = { features: total, imported: inserted + updated, inserted, updated, rejected: rejections.length };
  const report = {
    file: path.resolve(file),
    layer,
    source,
    attribution,
    crs: crs.spec.label,
    crsConversion: crs.via,
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    counts,
    rejectedByReason,
    ...(network ? { roadNetwork: network } : {}),
    rejected: rejections,
  };
  const reportFile = await writeReport(options.reportFile ?? `${file}.import-report.json`, report);
  return { ...counts, rejectedByReason, reportFile };
}

// ---------------------------------------------------------------------------------------------

async function resolveCrs(pool: pg.Pool, input: string): Promise<ResolvedCrs> {
  const spec = parseCrs(input);
  if (spec.kind === 'wgs84') return { spec, srid: 4326, tolerance: 0, transform: null, via: 'none' };
  if (spec.kind === 'gcj02' || spec.kind === 'bd09')
    return { spec, srid: 4326, tolerance: 0, transform: jsTransformToWgs84(spec), via: 'gcoord' };
  const { rows } = await pool.query<{ srid: number; geographic: boolean }>(
    `SELECT srid, coalesce(proj4text, '') LIKE '%+proj=longlat%' AS geographic FROM spatial_ref_sys
      WHERE (upper(auth_name) = 'EPSG' AND auth_srid = $1) OR srid = $1
      ORDER BY (srid = $1) DESC LIMIT 1`,
    [spec.code],
  );
  // Round trip within 1e-8° or 1 mm (projected units are metres or feet).
  if (rows.length)
    return { spec, srid: rows[0].srid, tolerance: rows[0].geographic ? 1e-8 : 1e-3, transform: null, via: 'postgis' };
  const js = jsTransformToWgs84(spec);
  if (js) return { spec, srid: 4326, tolerance: 0, transform: js, via: 'proj4' };
  throw new CrsError(
    `unknown CRS ${spec.label}: the database's spatial_ref_sys has no such code and there is no built-in definition for it`,
  );
}

/** OpenStreetMap data must be attributed; features with OSM ids are taken to be OSM data. */
function osmAttribution(features: unknown[]): string | undefined {
  const osm = features.some((f) => {
    const p = (f as RawFeature | null)?.properties as Props | undefined;
    return !!p && typeof p === 'object' && (p.osm_id !== undefined || p['@id'] !== undefined);
  });
  return osm ? '© OpenStreetMap contributors' : undefined;
}

function featureId(f: RawFeature, props: Props): string | null {
  for (const v of [f.id, props.osm_id, props.id]) {
    if ((typeof v === 'string' && v.trim() !== '') || (typeof v === 'number' && Number.isFinite(v))) return String(v).trim();
  }
  return null;
}

function prepareFeature(layer: Layer, raw: unknown, index: number, transform: PointTransform | null): Work | Rejection {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw) || (raw as RawFeature).type !== 'Feature')
    return { index, id: null, reason: REASONS.notAFeature, detail: 'expected an object with "type": "Feature"' };
  const f = raw as RawFeature;
  const props: Props =
    f.properties && typeof f.properties === 'object' && !Array.isArray(f.properties) ? (f.properties as Props) : {};
  const id = featureId(f, props);
  try {
    let attrs: Record<string, unknown>;
    let level = 0;
    switch (layer) {
      case 'buildings':
        attrs = { ...buildingAttributes(props) };
        break;
      case 'roads':
        attrs = { ...roadAttributes(props) };
        break;
      case 'areas': {
        const a = areaAttributes(props);
        attrs = { ...a };
        level = a.code.length;
        break;
      }
      case 'grids':
        attrs = { ...gridAttributes(props) };
        break;
    }
    if (layer === 'areas' && (f.geometry === null || f.geometry === undefined)) {
      const code = attrs.code as string;
      return { index, id, level, vertices: 0, parts: [{ i: index, k: code, s: id ?? code, g: null, a: attrs }] };
    }
    const { geometry, vertices } = checkGeometry(f.geometry, ALLOWED_TYPES[layer], MAX_VERTICES, transform);
    const key = id ?? `geom:${crypto.createHash('sha1').update(JSON.stringify(f.geometry)).digest('hex')}`;
    if (layer === 'areas' || layer === 'grids') {
      const code = attrs.code as string;
      return { index, id, level, vertices, parts: [{ i: index, k: code, s: id ?? code, g: geometry, a: attrs }] };
    }
    if (layer === 'roads') {
      const reverse = attrs.reverse === true;
      delete attrs.reverse;
      const lines = geometry.type === 'MultiLineString' ? geometry.coordinates : [geometry.coordinates as [number, number][]];
      const parts = lines.map((coords, n) => {
        const k = geometry.type === 'MultiLineString' ? `${key}#part${n + 1}` : key;
        const g: Geometry = { type: 'LineString', coordinates: reverse ? [...coords].reverse() : coords };
        return { i: index, k, s: k, g, a: attrs };
      });
      return { index, id, level, vertices, parts };
    }
    return { index, id, level, vertices, parts: [{ i: index, k: key, s: key, g: geometry, a: attrs }] };
  } catch (err) {
    if (err instanceof GeometryProblem || err instanceof AttributeProblem)
      return { index, id, reason: err.reason, detail: err.detail };
    throw err;
  }
}

function* batches(works: Work[]): Generator<Work[]> {
  let batch: Work[] = [];
  let vertices = 0;
  let level = works[0]?.level;
  for (const w of works) {
    // A new batch when full, and at every change of area level (parents must be committed
    // to the statement's snapshot before their children are checked).
    if (batch.length && (batch.length >= BATCH_FEATURES || vertices + w.vertices > BATCH_VERTICES || w.level !== level)) {
      yield batch;
      batch = [];
      vertices = 0;
    }
    batch.push(w);
    vertices += w.vertices;
    level = w.level;
  }
  if (batch.length) yield batch;
}

async function execBatch(
  client: pg.PoolClient,
  sql: string,
  batch: Work[],
  source: string,
  crs: ResolvedCrs,
  maxExtent: number,
): Promise<BatchRow[]> {
  const parts = batch.flatMap((w) => w.parts);
  const params = [JSON.stringify(parts), source, crs.srid, maxExtent, crs.tolerance];
  // Sent as one simple-protocol statement with the values inlined as literals: through
  // pglite-socket an error in an extended-protocol (parameterised) statement inside a
  // transaction desynchronises the connection ("unexpected parseComplete message"), and errors
  // are exactly what the bisection below has to survive.
  const text = sql.replace(/\$([1-5])(?![0-9])/g, (_, n: string) => {
    const v = params[Number(n) - 1];
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new Error(`non-finite parameter $${n}`);
      return String(v);
    }
    return client.escapeLiteral(v);
  });
  const { rows } = await client.query<BatchRow>(text);
  return rows;
}

/** SQLSTATE classes that blame the data (and so one feature): data exception, integrity, PostGIS/internal, raise. */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && /^(22|23|XX|P0)/.test(code);
}

/**
 * Runs one batch inside a savepoint. On a data error it rolls the batch back and bisects it until
 * the feature responsible is alone; that feature is rejected with the database's message.
 */
async function runBatch(
  client: pg.PoolClient,
  batch: Work[],
  exec: (b: Work[]) => Promise<BatchRow[]>,
): Promise<BatchRow[]> {
  await client.query('SAVEPOINT import_batch');
  try {
    const rows = await exec(batch);
    await client.query('RELEASE SAVEPOINT import_batch');
    return rows;
  } catch (err) {
    await client.query('ROLLBACK TO SAVEPOINT import_batch');
    await client.query('RELEASE SAVEPOINT import_batch');
    if (!isDataError(err)) throw err;
    if (batch.length === 1) {
      const message = err instanceof Error ? err.message : String(err);
      // PostGIS/PROJ refusing a coordinate ("transform: Point outside of projection domain").
      const reason = /^transform:/i.test(message) ? REASONS.outOfRange : `rejected by the database: ${message}`;
      return batch[0].parts.map((p) => ({ i: p.i, k: p.k, reason, detail: message, inserted: null }));
    }
    const mid = batch.length >> 1;
    return [...(await runBatch(client, batch.slice(0, mid), exec)), ...(await runBatch(client, batch.slice(mid), exec))];
  }
}

async function writeReport(target: string, report: unknown): Promise<string> {
  const text = JSON.stringify(report, null, 2);
  try {
    await fs.writeFile(target, text);
    return path.resolve(target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS' && code !== 'ENOENT' && code !== 'EISDIR') throw err;
    const fallback = path.join(os.tmpdir(), `${path.basename(target, '.json')}-${Date.now()}.json`);
    await fs.writeFile(fallback, text);
    return fallback;
  }
}

export { CrsError };
