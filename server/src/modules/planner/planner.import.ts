/**
 * Reading a community's grids from a file for a draft (POST /api/planner/drafts/{id}/import): a
 * GeoJSON file or a zipped Shapefile → grids in WGS84 with `properties: {code, name}`, or a thrown
 * ApiError naming what is wrong (and where). Pure: bytes and options in, nothing read or written.
 *
 * - Format by content: a zip (`PK\x03\x04`) is a Shapefile, anything else must be GeoJSON text
 *   (UTF-8; a FeatureCollection or one Feature).
 * - Shapefile: unzipped here (but-unzip, with a budget on the inflated bytes), shapes and records
 *   read by shpjs (`parseShp`, `parseDbf`). The .prj is not handed to shpjs (which would reproject
 *   with it): the CRS is decided once, below, and converted once. Attribute encoding: the .cpg, else
 *   the .dbf's language driver id (GBK, Big5), else UTF-8 when the records are valid UTF-8, else GBK.
 * - CRS: the `crs` option (anything parseCrs reads) wins; else the GeoJSON's legacy `crs` member or
 *   the Shapefile's .prj (read by proj4); else WGS84. GCJ-02 / BD-09 (gcoord) and CGCS2000 with its
 *   Gauss–Krüger zones (proj4) are converted by geo-data's jsTransformToWgs84 — a .prj cannot say
 *   GCJ-02, so a GCJ-02 Shapefile needs `crs=GCJ02` (its .prj, if any, is then ignored).
 * - Each feature: Polygon or MultiPolygon, finite numbers, closed rings of ≥ 4 positions
 *   (geo-data's checkGeometry, on the input), in range after conversion, within the bounds of the
 *   plan schema; 9 decimals. Code and name from `codeField` / `nameField`, else the first of the
 *   usual names present in the file; a number becomes its decimal string. Codes unique in the file.
 *   A code that is not the community's code + 3 digits is not refused: validation reports it.
 */
import zlib from 'node:zlib';
import { iter as unzipEntries } from 'but-unzip';
import { parseDbf, parseShp, combine } from 'shpjs';
import {
  checkGeometry, CrsError, GeometryProblem, jsTransformToWgs84, parseCrs, parseGeoJsonText, REASONS, wktTransformToWgs84,
  type Geometry, type PointTransform,
} from '@wangge/geo-data';
import { ApiError } from '../../plugins/errors.js';
import { MAX_PLAN_GRIDS, MAX_PLAN_VERTICES, type PlanGridValue } from './planner.schemas.js';

/** The largest file the import takes (the route's multipart limit). */
export const MAX_IMPORT_BYTES = 20 * 1024 * 1024;
/** The most bytes the members of a zip may inflate to, in all (a zip bomb is refused, not inflated). */
export const MAX_UNZIPPED_BYTES = 64 * 1024 * 1024;
/**
 * The largest .shp read: a plan's 200,000 vertices take 3.2 MB as 2D points, 6.4 MB with Z and M; what
 * is larger holds more than a plan and is refused before its shapes are built.
 */
const MAX_SHP_BYTES = 32 * 1024 * 1024;

/** The properties tried, in order, for a grid's code and name when the caller names none. */
export const CODE_FIELDS = ['code', 'CODE', 'grid_code', '网格编码', '编码', 'WGBM'] as const;
export const NAME_FIELDS = ['name', 'NAME', 'grid_name', '网格名称', '名称', 'WGMC'] as const;

/** Bounds of the plan schema (planner.schemas.ts) that a drawn plan is held to: an imported one too. */
const MAX_RING_POSITIONS = 50_000;
const MAX_RINGS = 500;
const MAX_POLYGONS = 500;
const MAX_CODE = 40;
const MAX_NAME = 200;

export interface GridFileOptions {
  /** The file's name as uploaded (messages only: the format is read from the content). */
  filename?: string;
  /** The CRS of the coordinates (parseCrs); default the file's own (GeoJSON `crs` member, .prj), else WGS84. */
  crs?: string;
  codeField?: string;
  nameField?: string;
}

export interface ImportedGrids {
  format: 'geojson' | 'shapefile';
  /** The CRS the coordinates were read in: parseCrs's label (EPSG:4326, GCJ02, EPSG:4549 …) or the .prj's name. */
  crs: string;
  features: PlanGridValue[];
}

interface Source {
  format: ImportedGrids['format'];
  features: unknown[];
  /** The CRS the file declares: a name parseCrs reads (GeoJSON) or a WKT (.prj). */
  declared?: { kind: 'name'; name: string } | { kind: 'wkt'; wkt: string };
}

interface Crs {
  label: string;
  /** null: already WGS84. */
  transform: PointTransform | null;
}

const invalidFile = (detail: string, extra: Record<string, unknown> = {}) => new ApiError(400, 'INVALID_FILE', detail, extra);

/** The grids in the file (see the file comment), in file order; throws ApiError. */
export async function parseGridFile(bytes: Uint8Array, o: GridFileOptions = {}): Promise<ImportedGrids> {
  const explicit = o.crs === undefined ? undefined : namedCrs(o.crs, 'the crs parameter');
  if (bytes.length > MAX_IMPORT_BYTES) throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `the file has ${bytes.length} bytes; at most ${MAX_IMPORT_BYTES}`);
  const source = isZip(bytes) ? await readShapefile(bytes) : readGeoJson(bytes, o.filename);
  const crs = explicit ?? declaredCrs(source.declared) ?? { label: 'EPSG:4326', transform: null };
  return { format: source.format, crs: crs.label, features: grids(source.features, crs, o) };
}

// --- CRS ---------------------------------------------------------------------------------------

/** A CRS by name (the parameter, or a GeoJSON's `crs` member): 400 INVALID_PARAMETER "crs" when unknown or not convertible. */
function namedCrs(name: string, where: string): Crs {
  let spec;
  try {
    spec = parseCrs(name);
  } catch (err) {
    if (err instanceof CrsError) throw new ApiError(400, 'INVALID_PARAMETER', `${where}: ${err.message}`, { parameter: 'crs' });
    throw err;
  }
  if (spec.kind === 'wgs84') return { label: spec.label, transform: null };
  const transform = jsTransformToWgs84(spec);
  if (!transform) {
    throw new ApiError(400, 'INVALID_PARAMETER', `${where}: ${spec.label} cannot be converted here; use WGS84, GCJ02, BD09, CGCS2000 (EPSG:4490) or a CGCS2000 Gauss–Krüger zone (EPSG:4491–4554)`, { parameter: 'crs' });
  }
  return { label: spec.label, transform };
}

function declaredCrs(declared: Source['declared']): Crs | undefined {
  if (!declared) return undefined;
  if (declared.kind === 'name') return namedCrs(declared.name, `the file's crs member (${JSON.stringify(declared.name)}); name the CRS with the crs parameter`);
  try {
    const { label, transform } = wktTransformToWgs84(declared.wkt);
    return { label, transform };
  } catch (err) {
    if (err instanceof CrsError) throw invalidFile(`the Shapefile's .prj: ${err.message}; name the CRS with the crs parameter`);
    throw err;
  }
}

// --- GeoJSON -----------------------------------------------------------------------------------

function readGeoJson(bytes: Uint8Array, filename = 'the file'): Source {
  if (isBareShp(bytes)) throw invalidFile('a bare .shp: send the Shapefile as a .zip holding its .shp, .dbf and .prj (and .cpg)');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalidFile('neither a zip nor GeoJSON: GeoJSON must be UTF-8 text');
  }
  if (!/^\uFEFF?\s*\{/.test(text)) throw invalidFile('neither a zip (a zipped Shapefile) nor GeoJSON (a JSON object)');
  let parsed;
  try {
    parsed = parseGeoJsonText(text, filename);
  } catch (err) {
    throw invalidFile(err instanceof Error ? err.message : String(err));
  }
  return { format: 'geojson', features: parsed.features, declared: parsed.crsName === undefined ? undefined : { kind: 'name', name: parsed.crsName } };
}

// --- Shapefile ---------------------------------------------------------------------------------

const isZip = (b: Uint8Array) => b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && ((b[2] === 3 && b[3] === 4) || (b[2] === 5 && b[3] === 6));
/** A .shp's file code (9994, big-endian) at its start. */
const isBareShp = (b: Uint8Array) => b.length >= 100 && b[0] === 0 && b[1] === 0 && b[2] === 0x27 && b[3] === 0x0a;

async function readShapefile(bytes: Uint8Array): Promise<Source> {
  const members = await unzip(bytes);
  const byExtension = (name: string, ext: string) => members.get(`${name.toLowerCase()}.${ext}`);
  const layers = [...members.keys()].filter((k) => k.endsWith('.shp')).map((k) => k.slice(0, -4));
  if (!layers.length) throw invalidFile('the zip holds no .shp: zip a Shapefile\'s .shp, .dbf and .prj (and .cpg)');
  if (layers.length > 1) throw invalidFile(`the zip holds ${layers.length} Shapefiles (${layers.map((l) => `${l}.shp`).join(', ')}): zip one`);
  const [layer] = layers;
  const shp = byExtension(layer, 'shp')!;
  const dbf = byExtension(layer, 'dbf');
  if (!dbf) throw invalidFile(`the zip holds ${layer}.shp but no ${layer}.dbf, where the grids' codes and names are`);
  const cpg = byExtension(layer, 'cpg');
  const prj = byExtension(layer, 'prj');
  if (shp.length < 100 || !isBareShp(shp)) throw invalidFile(`${layer}.shp is not a Shapefile (no Shapefile header)`);
  if (dbf.length < 33) throw invalidFile(`${layer}.dbf is not a dBASE file (${dbf.length} bytes)`);
  // Counted before anything is built: shpjs and parsedbf make an object per record as the headers say.
  const tooMany = (n: number) => new ApiError(413, 'PAYLOAD_TOO_LARGE', `the Shapefile has ${n} records or more; a plan has at most ${MAX_PLAN_GRIDS} grids`);
  if (shp.length > MAX_SHP_BYTES) throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `${layer}.shp has ${shp.length} bytes: more than a plan's ${MAX_PLAN_VERTICES} vertices`);
  const shpRecords = countShpRecords(shp);
  if (shpRecords > MAX_PLAN_GRIDS) throw tooMany(shpRecords);
  const view = new DataView(dbf.buffer, dbf.byteOffset, dbf.byteLength);
  const [dbfRecords, headerLength, recordLength] = [view.getUint32(4, true), view.getUint16(8, true), view.getUint16(10, true)];
  if (dbfRecords > MAX_PLAN_GRIDS) throw tooMany(dbfRecords);
  if (headerLength < 33 || recordLength < 1 || headerLength + dbfRecords * recordLength > dbf.length) {
    throw invalidFile(`${layer}.dbf is cut short or not a dBASE file (${dbfRecords} records of ${recordLength} bytes after ${headerLength}, in ${dbf.length} bytes)`);
  }
  let shapes: ReturnType<typeof parseShp>;
  let records: ReturnType<typeof parseDbf>;
  try {
    shapes = parseShp(shp);
    records = parseDbf(dbf, dbfEncoding(dbf, cpg === undefined ? undefined : text(cpg)));
  } catch (err) {
    throw invalidFile(`${layer}: the Shapefile cannot be read (${err instanceof Error ? err.message : String(err)})`);
  }
  if (prj !== undefined && prj.length > 64 * 1024) throw invalidFile(`${layer}.prj is not a CRS (${prj.length} bytes); name the CRS with the crs parameter`);
  const wkt = prj === undefined ? '' : text(prj).trim();
  return { format: 'shapefile', features: combine([shapes, records]).features, declared: wkt ? { kind: 'wkt', wkt } : undefined };
}

/** The records of a .shp, by their headers (stops counting past MAX_PLAN_GRIDS); a negative length is a broken file. */
function countShpRecords(shp: Uint8Array): number {
  const view = new DataView(shp.buffer, shp.byteOffset, shp.byteLength);
  let n = 0;
  for (let offset = 100; offset + 8 <= shp.length && n <= MAX_PLAN_GRIDS; n++) {
    const length = view.getInt32(offset + 4) * 2;
    if (length < 0) throw invalidFile(`the .shp's record ${n} has a negative length`);
    offset += 8 + length;
  }
  return n;
}

const text = (b: Uint8Array) => new TextDecoder().decode(b).replace(/^\uFEFF/, '');

/**
 * The zip's .shp, .dbf, .prj and .cpg by lower-cased path (a layer's files share its folder and
 * name), without macOS resource forks; the inflated bytes within MAX_UNZIPPED_BYTES in all (413
 * beyond). Not a zip: 400 INVALID_FILE.
 */
async function unzip(bytes: Uint8Array): Promise<Map<string, Uint8Array>> {
  // but-unzip looks for the end record backwards from the end and, when a file shorter than 64 kB
  // starts with "P" and has none, searches forever (lastIndexOf from -1 starts again at the end):
  // it only sees zips that have one.
  if (endOfCentralDirectory(bytes) < 0) throw invalidFile('not a readable zip (no end of central directory: cut short?)');
  let budget = MAX_UNZIPPED_BYTES;
  const inflate = (raw: Uint8Array) => {
    const out = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(1, budget) });
    budget -= out.length;
    return out;
  };
  const members = new Map<string, Uint8Array>();
  try {
    for (const entry of unzipEntries(bytes, inflate)) {
      const name = entry.filename.replace(/\\/g, '/');
      if (name.endsWith('/') || name.includes('__MACOSX/') || /(^|\/)\._/.test(name)) continue;
      const ext = /\.(shp|dbf|prj|cpg)$/i.exec(name)?.[1];
      if (!ext) continue;
      members.set(`${name.slice(0, -ext.length - 1).toLowerCase()}.${ext.toLowerCase()}`, await entry.read());
    }
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `the zip's files inflate to more than ${MAX_UNZIPPED_BYTES} bytes`);
    }
    throw invalidFile(`not a readable zip (${err instanceof Error ? err.message : String(err)})`);
  }
  return members;
}

/** Where the zip's end-of-central-directory record starts (its signature, within the last 64 kB + 22 bytes), or -1. */
function endOfCentralDirectory(b: Uint8Array): number {
  for (let i = b.length - 22; i >= 0 && i >= b.length - 22 - 0xffff; i--) {
    if (b[i] === 0x50 && b[i + 1] === 0x4b && b[i + 2] === 5 && b[i + 3] === 6) return i;
  }
  return -1;
}

/** The .dbf's text encoding: the .cpg, else its language driver id, else UTF-8 if the records are valid UTF-8, else GBK. */
function dbfEncoding(dbf: Uint8Array, cpg: string | undefined): string {
  const named = cpg?.trim();
  if (named) return named;
  if (dbf.length < 32) return 'utf-8';
  const ldid = dbf[29];
  if (ldid === 0x4d || ldid === 0x7a) return 'gbk';
  if (ldid === 0x4f || ldid === 0x78) return 'big5';
  const headerLength = dbf[8] | (dbf[9] << 8);
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(dbf.subarray(Math.min(headerLength, dbf.length)));
    return 'utf-8';
  } catch {
    return 'gbk';
  }
}

// --- Features ----------------------------------------------------------------------------------

type Props = Record<string, unknown>;

const propsOf = (f: unknown): Props => {
  const p = (f as { properties?: unknown } | null)?.properties;
  return p && typeof p === 'object' && !Array.isArray(p) ? (p as Props) : {};
};

/** The property holding a field: the one named, else the first of the usual names any feature has. */
function fieldFor(features: unknown[], named: string | undefined, candidates: readonly string[]): string | undefined {
  if (named !== undefined) return named;
  return candidates.find((c) => features.some((f) => Object.hasOwn(propsOf(f), c)));
}

/** A property's value as text: a string trimmed, a finite number as its decimal string; anything else undefined. */
function textOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim() || undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return Number.isInteger(v) ? BigInt(v).toString() : String(v);
  return undefined;
}

function grids(features: unknown[], crs: Crs, o: GridFileOptions): PlanGridValue[] {
  if (features.length > MAX_PLAN_GRIDS) {
    throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `the file has ${features.length} features; a plan has at most ${MAX_PLAN_GRIDS} grids`);
  }
  const codeField = fieldFor(features, o.codeField, CODE_FIELDS);
  const nameField = fieldFor(features, o.nameField, NAME_FIELDS);
  const seen = new Map<string, number>();
  let vertices = 0;
  return features.map((f, i) => {
    if (!f || typeof f !== 'object' || Array.isArray(f) || (f as { type?: unknown }).type !== 'Feature') {
      throw invalidFile(`feature ${i} is not a GeoJSON Feature`, { feature: i });
    }
    const props = propsOf(f);
    const value = (field: 'code' | 'name', property: string | undefined, candidates: readonly string[], max: number) => {
      const v = property === undefined ? undefined : textOf(props[property]);
      const param = field === 'code' ? 'codeField' : 'nameField';
      if (v === undefined) {
        const where = property === undefined
          ? `no feature has a property ${candidates.join(', ')}: name the one holding the grid's ${field} with the ${param} parameter`
          : `its ${field} (property ${JSON.stringify(property)}) is missing or empty`;
        throw new ApiError(400, 'INVALID_PARAMETER', `feature ${i}: ${where}`, { parameter: 'file', feature: i, field, property: property ?? null });
      }
      if (v.length > max) {
        throw new ApiError(400, 'INVALID_PARAMETER', `feature ${i}: its ${field} (property ${JSON.stringify(property)}) is longer than ${max} characters`, { parameter: 'file', feature: i, field, property });
      }
      return v;
    };
    const code = value('code', codeField, CODE_FIELDS, MAX_CODE);
    const name = value('name', nameField, NAME_FIELDS, MAX_NAME);
    const first = seen.get(code);
    if (first !== undefined) {
      throw new ApiError(400, 'INVALID_PARAMETER', `feature ${i}: the code ${code} is feature ${first}'s too; codes are unique in a plan`, { parameter: 'file', feature: i, field: 'code', duplicateOf: first });
    }
    seen.set(code, i);
    let checked;
    try {
      checked = checkGeometry((f as { geometry?: unknown }).geometry, ['Polygon', 'MultiPolygon'], MAX_PLAN_VERTICES - vertices, crs.transform);
    } catch (err) {
      if (!(err instanceof GeometryProblem)) throw err;
      if (err.reason === REASONS.tooManyVertices) throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `feature ${i}: the plan has more than ${MAX_PLAN_VERTICES} vertices`, { feature: i });
      throw new ApiError(400, 'INVALID_GEOMETRY', `feature ${i} (${code}): ${err.reason}: ${err.detail}`, { feature: i, reason: err.reason });
    }
    vertices += checked.vertices;
    return { type: 'Feature' as const, properties: { code, name }, geometry: finish(checked.geometry, i, code) };
  });
}

const round9 = (v: number) => Math.round(v * 1e9) / 1e9 + 0;

/** In range (after conversion), within the plan schema's bounds, and 9 decimals. */
function finish(g: Geometry, i: number, code: string): PlanGridValue['geometry'] {
  const bad = (detail: string) => new ApiError(400, 'INVALID_GEOMETRY', `feature ${i} (${code}): ${detail}`, { feature: i });
  const polygons = g.type === 'Polygon' ? [g.coordinates] : (g.coordinates as [number, number][][][]);
  if (polygons.length > MAX_POLYGONS) throw bad(`more than ${MAX_POLYGONS} polygons`);
  const out = polygons.map((rings, p) => {
    if (rings.length > MAX_RINGS) throw bad(`polygon ${p} has more than ${MAX_RINGS} rings`);
    return rings.map((ring, r) => {
      if (ring.length > MAX_RING_POSITIONS) throw bad(`polygon ${p} ring ${r} has more than ${MAX_RING_POSITIONS} positions`);
      return ring.map(([x, y], k) => {
        if (!(Math.abs(x) <= 180 && Math.abs(y) <= 90)) {
          throw bad(`${REASONS.outOfRange}: polygon ${p} ring ${r} position ${k} is [${x}, ${y}] in WGS84 (is the CRS right?)`);
        }
        return [round9(x), round9(y)] as [number, number];
      });
    });
  });
  return g.type === 'Polygon' ? { type: 'Polygon', coordinates: out[0] } : { type: 'MultiPolygon', coordinates: out };
}
