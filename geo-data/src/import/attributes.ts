/**
 * Per-layer reading of feature properties into the columns of the target table.
 * A property that is present but unusable rejects the feature (AttributeProblem); nothing is
 * silently dropped, except the OSM convention height = 0 / levels = 0 meaning "unknown".
 */

export class AttributeProblem extends Error {
  constructor(
    readonly reason: string,
    readonly detail: string,
  ) {
    super(reason);
  }
}

export type Props = Record<string, unknown>;

const MAX_NAME = 200;
const MAX_ADDRESS = 300;

function text(p: Props, key: string): string | null {
  const v = p[key];
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v.trim() || null;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

function name(p: Props): string | null {
  const n = text(p, 'name');
  if (n && n.length > MAX_NAME) throw new AttributeProblem('invalid attribute: name', `name longer than ${MAX_NAME} characters`);
  return n;
}

/** "20", 20, "20 m", "20.5m" → number; anything else → NaN. */
function measure(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return NaN;
  const m = /^\s*([+-]?[0-9]+(?:\.[0-9]+)?)\s*(?:m|meters|metres)?\s*$/i.exec(v);
  return m ? Number(m[1]) : NaN;
}

function yes(v: unknown): boolean {
  if (v === true || v === 1) return true;
  if (typeof v !== 'string') return false;
  const s = v.trim().toLowerCase();
  return s !== '' && s !== 'no' && s !== 'false' && s !== '0';
}

// ---------------------------------------------------------------------------------------------
// buildings

export interface BuildingAttributes {
  name: string | null;
  address: string | null;
  floors: number | null;
  height: number | null;
}

/**
 * name; address from addr:full, or street + house number (addr_street/addr_housenumber as in
 * Tilezen, or addr:street/addr:housenumber as in OSM); height (m); floors from building:levels,
 * else estimated as height / 3 (rounded, clamped to 1..200).
 * Building parts (Tilezen kind=building_part, OSM building:part without building) are rejected:
 * they are pieces of a footprint already present as a building.
 */
export function buildingAttributes(p: Props): BuildingAttributes {
  const kind = text(p, 'kind');
  if (kind === 'building_part' || (yes(p['building:part']) && !yes(p.building)))
    throw new AttributeProblem('not a building: building part', 'a part of a building whose footprint is imported separately');
  const height = buildingHeight(p);
  const levels = buildingLevels(p);
  const floors = levels ?? (height !== null ? Math.min(200, Math.max(1, Math.round(height / 3))) : null);
  return { name: name(p), address: address(p), floors, height };
}

function buildingHeight(p: Props): number | null {
  const v = p.height;
  if (v === null || v === undefined || v === '') return null;
  const h = measure(v);
  if (!Number.isFinite(h)) throw new AttributeProblem('invalid attribute: height', `height ${JSON.stringify(v)} is not a number of metres`);
  if (h <= 0) return null; // 0 is the usual "unknown"
  if (h >= 1000) throw new AttributeProblem('invalid attribute: height', `height ${h} m is not below 1000 m`);
  return h;
}

function buildingLevels(p: Props): number | null {
  const v = p['building:levels'] ?? p.building_levels ?? p.levels;
  if (v === null || v === undefined || v === '') return null;
  const n = measure(v);
  if (!Number.isFinite(n)) throw new AttributeProblem('invalid attribute: building:levels', `levels ${JSON.stringify(v)} is not a number`);
  if (n <= 0) return null;
  const floors = Math.round(n);
  if (floors < 1 || floors > 200) throw new AttributeProblem('invalid attribute: building:levels', `levels ${n} outside 1..200`);
  return floors;
}

function address(p: Props): string | null {
  let a = text(p, 'addr:full') ?? text(p, 'addr_full');
  if (!a) {
    const street = text(p, 'addr:street') ?? text(p, 'addr_street');
    const number = text(p, 'addr:housenumber') ?? text(p, 'addr_housenumber');
    if (street || number) {
      // Chinese addresses read "滨江大道2727号": add 号 to a bare number after a Chinese street name.
      const cjk = street !== null && /[\u4e00-\u9fff]/.test(street);
      const suffix = cjk && number !== null && /^[0-9]+([-~][0-9]+)?$/.test(number) ? '号' : '';
      a = `${street ?? ''}${street && number && !cjk ? ' ' : ''}${number ?? ''}${suffix}`;
    }
  }
  if (a && a.length > MAX_ADDRESS)
    throw new AttributeProblem('invalid attribute: address', `address longer than ${MAX_ADDRESS} characters`);
  return a;
}

// ---------------------------------------------------------------------------------------------
// roads

export interface RoadAttributes {
  name: string | null;
  class: string;
  bridge: boolean;
  tunnel: boolean;
  layer: number;
  oneway: boolean;
  /** oneway=-1: the way is one-way against its drawing direction; the importer reverses it. */
  reverse: boolean;
}

/** Tilezen kinds and OSM tags that are lines but not roads: rejected with "not a road: …". */
const NOT_ROAD_KINDS = new Set(['rail', 'ferry', 'aerialway', 'aeroway', 'waterway', 'boundary', 'building']);
const NOT_ROAD_HIGHWAY = new Set(['proposed', 'construction', 'abandoned', 'razed', 'disused', 'platform']);

/**
 * class from `highway` (OSM), else `kind_detail`, else `kind` (Tilezen), else "road";
 * bridge from is_bridge / bridge, tunnel from is_tunnel / tunnel (tunnel=building_passage is at
 * ground level and does not count), layer (integer −5..5), oneway (yes/true/1; −1 reverses).
 * Rail, ferry and other non-road lines are rejected: they must not join the street network.
 */
export function roadAttributes(p: Props): RoadAttributes {
  const highway = text(p, 'highway');
  const kind = text(p, 'kind');
  if (kind && NOT_ROAD_KINDS.has(kind.toLowerCase())) throw new AttributeProblem(`not a road: ${kind.toLowerCase()}`, `kind=${kind}`);
  if (!highway) {
    if (text(p, 'railway')) throw new AttributeProblem('not a road: rail', `railway=${text(p, 'railway')}`);
    if (text(p, 'route') === 'ferry') throw new AttributeProblem('not a road: ferry', 'route=ferry');
  } else if (NOT_ROAD_HIGHWAY.has(highway.toLowerCase())) {
    throw new AttributeProblem(`not a road: ${highway.toLowerCase()}`, `highway=${highway}`);
  }
  const raw = highway ?? text(p, 'kind_detail') ?? kind ?? 'road';
  const cls = raw.toLowerCase().replace(/[^a-z_]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 40) || 'road';
  const tunnelTag = text(p, 'tunnel');
  const bridge = yes(p.is_bridge) || yes(p.bridge);
  const tunnel = yes(p.is_tunnel) || (yes(tunnelTag) && tunnelTag !== 'building_passage');
  const layer = roadLayer(p.layer);
  const ow = p.oneway;
  const reverse = ow === -1 || ow === '-1' || ow === 'reverse';
  const oneway = reverse || yes(ow);
  return { name: name(p), class: cls, bridge, tunnel, layer, oneway, reverse };
}

function roadLayer(v: unknown): number {
  if (v === null || v === undefined || v === '') return 0;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*[+-]?[0-9]+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < -5 || n > 5)
    throw new AttributeProblem('invalid attribute: layer', `layer ${JSON.stringify(v)} is not an integer in −5..5`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// areas and grids

export interface AreaAttributes {
  code: string;
  name: string;
}

function requiredName(p: Props): string {
  const n = name(p);
  if (!n) throw new AttributeProblem('missing property: name', 'properties.name is required');
  return n;
}

function code(p: Props, pattern: RegExp, expected: string): string {
  const v = p.code;
  if (v === null || v === undefined || v === '') throw new AttributeProblem('missing property: code', 'properties.code is required');
  const c = typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : typeof v === 'string' ? v.trim() : '';
  if (!pattern.test(c)) throw new AttributeProblem('invalid property: code', `code ${JSON.stringify(v)} is not ${expected}`);
  return c;
}

/** code: 6 (区), 9 (街道) or 12 (社区) digits; name. Level and parent follow from the code. */
export function areaAttributes(p: Props): AreaAttributes {
  return { code: code(p, /^[0-9]{6}(?:[0-9]{3}){0,2}$/, 'a 6, 9 or 12 digit division code'), name: requiredName(p) };
}

/** code: 15 digits, the first 12 being its community's code; name. */
export function gridAttributes(p: Props): AreaAttributes {
  return { code: code(p, /^[0-9]{15}$/, 'a 15 digit grid code'), name: requiredName(p) };
}
