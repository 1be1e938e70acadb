/**
 * Reading a GeoJSON file and checking each feature's geometry structure in JS, before anything
 * reaches the database: geometry type, nesting, finite numeric coordinates, closed rings, enough
 * points, a vertex cap. Validity in the OGC sense (self-intersections …) is checked in PostGIS.
 */
import fs from 'node:fs/promises';
import type { PointTransform } from '../crs.js';

export type Position = [number, number];
export type Geometry =
  | { type: 'Polygon'; coordinates: Position[][] }
  | { type: 'MultiPolygon'; coordinates: Position[][][] }
  | { type: 'LineString'; coordinates: Position[] }
  | { type: 'MultiLineString'; coordinates: Position[][] };

export interface RawFeature {
  type?: unknown;
  id?: unknown;
  properties?: unknown;
  geometry?: unknown;
}

export interface ParsedFile {
  features: unknown[];
  /** The legacy GeoJSON `crs` member's name, if the file has one. */
  crsName?: string;
  /** A top-level `attribution` string (as in the project's real-data files), if any. */
  attribution?: string;
}

/** Reason strings, stable so that counts by reason can be compared across runs. */
export const REASONS = {
  notAFeature: 'not a GeoJSON feature',
  missingGeometry: 'missing geometry',
  wrongType: (t: string) => `wrong geometry type: ${t}`,
  invalidCoordinate: 'invalid coordinate: not a finite number',
  tooFewPoints: 'too few points',
  unclosedRing: 'unclosed ring',
  empty: 'empty geometry',
  tooManyVertices: 'too many vertices',
  outOfRange: 'coordinates out of range',
  tooLarge: 'too large',
  duplicate: 'duplicate feature key',
} as const;

export class GeometryProblem extends Error {
  constructor(
    readonly reason: string,
    readonly detail: string,
  ) {
    super(reason);
  }
}

/** Reads and parses the file. Tolerates the bare NaN / Infinity tokens some writers emit (Python's json). */
export async function readGeoJsonFile(file: string): Promise<ParsedFile> {
  return parseGeoJsonText(await fs.readFile(file, 'utf8'), file);
}

/**
 * Parses GeoJSON text (a FeatureCollection or a Feature; a leading BOM and bare NaN / Infinity
 * tokens tolerated); `file` names it in the messages of the errors it throws.
 */
export function parseGeoJsonText(text: string, file: string): ParsedFile {
  let doc: unknown;
  try {
    doc = JSON.parse(stripBom(text));
  } catch (err) {
    const lenient = quoteNonFiniteTokens(stripBom(text));
    try {
      doc = JSON.parse(lenient);
    } catch {
      throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
    }
  }
  if (!doc || typeof doc !== 'object') throw new Error(`${file}: not a GeoJSON object`);
  const o = doc as Record<string, unknown>;
  const crsName = legacyCrsName(o.crs);
  const attribution = typeof o.attribution === 'string' && o.attribution.trim() ? o.attribution.trim() : undefined;
  if (o.type === 'FeatureCollection') {
    if (!Array.isArray(o.features)) throw new Error(`${file}: FeatureCollection without a features array`);
    return { features: o.features, crsName, attribution };
  }
  if (o.type === 'Feature') return { features: [o], crsName, attribution };
  throw new Error(`${file}: expected a GeoJSON FeatureCollection or Feature, found type ${JSON.stringify(o.type)}`);
}

function stripBom(s: string): string {
  return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
}

function legacyCrsName(crs: unknown): string | undefined {
  if (!crs || typeof crs !== 'object') return undefined;
  const props = (crs as { properties?: { name?: unknown } }).properties;
  return typeof props?.name === 'string' ? props.name : undefined;
}

/** Replaces bare NaN, Infinity, -Infinity outside strings by the strings "NaN", "Infinity", "-Infinity". */
export function quoteNonFiniteTokens(text: string): string {
  let out = '';
  let last = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
      continue;
    }
    if (c === 34) {
      inString = true;
      continue;
    }
    for (const token of ['-Infinity', 'Infinity', 'NaN']) {
      if (text.startsWith(token, i)) {
        out += text.slice(last, i) + `"${token}"`;
        i += token.length - 1;
        last = i + 1;
        break;
      }
    }
  }
  return out + text.slice(last);
}

export interface CheckedGeometry {
  geometry: Geometry;
  vertices: number;
}

/**
 * Checks the structure of a geometry of one of the allowed types, converts its coordinates with
 * `transform` (if any) and returns a clean 2D copy. Throws GeometryProblem with a reason.
 */
export function checkGeometry(
  g: unknown,
  allowed: readonly Geometry['type'][],
  maxVertices: number,
  transform: PointTransform | null,
): CheckedGeometry {
  if (g === null || g === undefined) throw new GeometryProblem(REASONS.missingGeometry, 'the feature has no geometry');
  if (typeof g !== 'object') throw new GeometryProblem(REASONS.missingGeometry, 'geometry is not an object');
  const type = (g as { type?: unknown }).type;
  if (typeof type !== 'string') throw new GeometryProblem(REASONS.missingGeometry, 'geometry has no type');
  if (!(allowed as readonly string[]).includes(type))
    throw new GeometryProblem(REASONS.wrongType(type), `expected ${allowed.join(' or ')}`);
  const coords = (g as { coordinates?: unknown }).coordinates;
  const counter = { n: 0, max: maxVertices };
  switch (type as Geometry['type']) {
    case 'LineString':
      return { geometry: { type: 'LineString', coordinates: line(coords, counter, transform, 'coordinates') }, vertices: counter.n };
    case 'MultiLineString': {
      const parts = list(coords, 'coordinates').map((l, i) => line(l, counter, transform, `coordinates[${i}]`));
      return { geometry: { type: 'MultiLineString', coordinates: parts }, vertices: counter.n };
    }
    case 'Polygon':
      return { geometry: { type: 'Polygon', coordinates: polygon(coords, counter, transform, 'coordinates') }, vertices: counter.n };
    case 'MultiPolygon': {
      const polys = list(coords, 'coordinates').map((p, i) => polygon(p, counter, transform, `coordinates[${i}]`));
      return { geometry: { type: 'MultiPolygon', coordinates: polys }, vertices: counter.n };
    }
  }
}

interface Counter {
  n: number;
  max: number;
}

function list(v: unknown, where: string): unknown[] {
  if (!Array.isArray(v)) throw new GeometryProblem(REASONS.invalidCoordinate, `${where} is not an array`);
  if (v.length === 0) throw new GeometryProblem(REASONS.empty, `${where} is empty`);
  return v;
}

function line(v: unknown, counter: Counter, t: PointTransform | null, where: string): Position[] {
  const pts = list(v, where).map((p, i) => position(p, counter, t, `${where}[${i}]`));
  if (pts.length < 2) throw new GeometryProblem(REASONS.tooFewPoints, `${where}: a line needs at least 2 positions, found ${pts.length}`);
  return pts;
}

function polygon(v: unknown, counter: Counter, t: PointTransform | null, where: string): Position[][] {
  return list(v, where).map((r, i) => ring(r, counter, t, `${where}[${i}]`));
}

function ring(v: unknown, counter: Counter, t: PointTransform | null, where: string): Position[] {
  const raw = list(v, where);
  // Check the raw numbers first so closure is judged on the input, not on converted values.
  const input = raw.map((p, i) => position(p, counter, null, `${where}[${i}]`));
  if (input.length < 4)
    throw new GeometryProblem(REASONS.tooFewPoints, `${where}: a ring needs at least 4 positions, found ${input.length}`);
  const a = input[0];
  const b = input[input.length - 1];
  if (a[0] !== b[0] || a[1] !== b[1])
    throw new GeometryProblem(REASONS.unclosedRing, `${where}: first position [${a}] differs from last [${b}]`);
  if (!t) return input;
  const out = input.map((p, i) => converted(t, p, `${where}[${i}]`));
  out[out.length - 1] = out[0]; // keep the ring exactly closed after conversion
  return out;
}

function position(p: unknown, counter: Counter, t: PointTransform | null, where: string): Position {
  if (!Array.isArray(p) || p.length < 2)
    throw new GeometryProblem(REASONS.invalidCoordinate, `${where} is not a position [x, y]`);
  const x = p[0];
  const y = p[1];
  if (typeof x !== 'number' || typeof y !== 'number' || !Number.isFinite(x) || !Number.isFinite(y))
    throw new GeometryProblem(REASONS.invalidCoordinate, `${where} = ${JSON.stringify(p)}`);
  if (++counter.n > counter.max)
    throw new GeometryProblem(REASONS.tooManyVertices, `more than ${counter.max} vertices`);
  return t ? converted(t, [x, y], where) : [x, y];
}

function converted(t: PointTransform, p: Position, where: string): Position {
  const [x, y] = t(p[0], p[1]);
  if (!Number.isFinite(x) || !Number.isFinite(y))
    throw new GeometryProblem(REASONS.outOfRange, `${where} [${p}] cannot be converted to WGS84`);
  return [x, y];
}
