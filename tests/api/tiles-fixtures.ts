import { TILE_EXTENT, TILE_LAYERS, type TileLayerId } from '../../server/src/modules/tiles/tiles.layers.js';
import type pg from 'pg';
import { VectorTile } from '@mapbox/vector-tile';
import { PbfReader } from 'pbf';

/**
 * Test data for the tile tests, written with plain SQL so the tests depend on nothing but the schema.
 *
 * `insertHandPlaced` puts a handful of features at known places (one tile's worth); `insertSyntheticCity`
 * fills a rectangular district with a city-like density (dense core, sparse edges) at a chosen scale.
 */

/** Centre of the hand-placed fixture: Shanghai, Huangpu. */
export const CENTRE = { lon: 121.4737, lat: 31.2304 };

/** Tile x/y holding a lon/lat at zoom z (XYZ scheme). */
export function tileAt(lon: number, lat: number, z: number): { z: number; x: number; y: number } {
  const n = 2 ** z;
  const x = Math.floor(((lon + 180) / 360) * n);
  const r = (lat * Math.PI) / 180;
  const y = Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n);
  return { z, x, y };
}

const KM_LAT = 1 / 111.32;
const kmLon = (lat: number) => 1 / (111.32 * Math.cos((lat * Math.PI) / 180));

/** An axis-aligned lon/lat rectangle around a point, sized in metres. */
function rect(lon: number, lat: number, widthM: number, heightM: number): string {
  const dx = (widthM / 2000) * kmLon(lat);
  const dy = (heightM / 2000) * KM_LAT;
  return `SRID=4326;MULTIPOLYGON(((${lon - dx} ${lat - dy},${lon + dx} ${lat - dy},${lon + dx} ${lat + dy},${lon - dx} ${lat + dy},${lon - dx} ${lat - dy})))`;
}

export interface HandPlaced {
  gridIds: string[];
  buildingIds: string[];
  roadIds: string[];
  incidentIds: string[];
  responderIds: string[];
}

/**
 * District 310101 → street 310101001 → community 310101001001 with two grids side by side, a few
 * buildings (one of them tiny), roads of several classes, responders (one without a position) and
 * incidents of several statuses and priorities, all within 700 m of the centre.
 */
export async function insertHandPlaced(pool: pg.Pool): Promise<HandPlaced> {
  const { lon, lat } = CENTRE;
  const box = (w: number, h: number, dxM = 0, dyM = 0) => rect(lon + (dxM / 1000) * kmLon(lat), lat + (dyM / 1000) * KM_LAT, w, h);
  await pool.query(`INSERT INTO areas (code, name, geom) VALUES ($1, '黄浦区', $2), ($3, '南京东路街道', $4), ($5, '贵州路社区', $6)`, [
    '310101', box(4000, 4000), '310101001', box(2000, 2000), '310101001001', box(800, 800),
  ]);
  const grids = await pool.query<{ id: string }>(
    `INSERT INTO grids (code, name, community_id, geom)
     SELECT c.code || s.seq, '第' || s.seq || '网格', c.id, ST_GeomFromEWKT(s.geom)
       FROM areas c, (VALUES ('001', $1), ('002', $2)) AS s(seq, geom) WHERE c.code = '310101001001'
     RETURNING id::text`,
    [box(400, 800, -200), box(400, 800, 200)],
  );
  const buildings = await pool.query<{ id: string }>(
    `INSERT INTO buildings (name, floors, households, geom, source, source_id)
     SELECT b.name, b.floors, b.households, ST_GeomFromEWKT(b.geom), 'generator', b.name FROM (VALUES
       ('贵州路1号楼', 6, 48, $1), ('贵州路2号楼', 18, 144, $2), (NULL, NULL, 0, $3), ('贵州路3号楼', 3, 9, $4)) AS b(name, floors, households, geom)
     RETURNING id::text`,
    [box(30, 20, -100, 50), box(40, 25, 120, -60), box(2, 2, 10, 10), box(60, 40, -150, -150)],
  );
  const line = (pts: Array<[number, number]>) =>
    `SRID=4326;LINESTRING(${pts.map(([dx, dy]) => `${lon + (dx / 1000) * kmLon(lat)} ${lat + (dy / 1000) * KM_LAT}`).join(',')})`;
  const roads = await pool.query<{ id: string }>(
    `INSERT INTO roads (name, class, bridge, tunnel, layer, geom, source, source_id)
     SELECT r.name, r.class, r.bridge, r.tunnel, r.layer, ST_GeomFromEWKT(r.geom), r.source, r.source_id FROM (VALUES
       ('南京东路', 'primary', false, false, 0, $1, 'generator', 'r1'),
       ('贵州路', 'residential', false, false, 0, $2, 'generator', 'r2'),
       ('延安高架', 'motorway', true, false, 1, $3, 'generator', 'r3')) AS r(name, class, bridge, tunnel, layer, geom, source, source_id)
     RETURNING id::text`,
    [
      line([[-600, 0], [0, 10], [600, 0]]),
      line([[-20, -500], [-20, 500]]),
      line([[-600, -300], [600, -280]]),
    ],
  );
  const point = (dx: number, dy: number) => `SRID=4326;POINT(${lon + (dx / 1000) * kmLon(lat)} ${lat + (dy / 1000) * KM_LAT})`;
  const responders = await pool.query<{ id: string }>(
    `INSERT INTO responders (kind, name, status, position, position_at, home_grid_id)
     SELECT r.kind, r.name, r.status, ST_GeomFromEWKT(r.position), '2025-05-01T08:00:00Z', grid_at(ST_GeomFromEWKT(r.position)) FROM (VALUES
       ('grid_worker', '张伟', 'available', $1), ('patrol', '巡逻一队', 'busy', $2), ('police', '李娜', 'off_duty', $3)) AS r(kind, name, status, position)
     RETURNING id::text`,
    [point(-50, 20), point(80, -40), point(150, 150)],
  );
  await pool.query(`INSERT INTO responders (kind, name) VALUES ('volunteer', '无位置志愿者')`);
  const incidents = await pool.query<{ id: string }>(
    `INSERT INTO incidents (category, priority, status, location, description, reported_at, near_border)
     SELECT i.category, i.priority, i.status, ST_GeomFromEWKT(i.location), '测试事件', '2025-05-01T09:30:00Z', i.near_border FROM (VALUES
       ('dispute', 'normal', 'reported', $1, false), ('fire', 'urgent', 'dispatched', $2, false),
       ('sanitation', 'low', 'closed', $3, false), ('traffic', 'high', 'in_progress', $4, true),
       ('appeal', 'urgent', 'rejected', $5, false)) AS i(category, priority, status, location, near_border)
     RETURNING id::text`,
    [point(-30, 30), point(-32, 28), point(60, -20), point(1, 100), point(-120, -80)],
  );
  const ids = (r: pg.QueryResult<{ id: string }>) => r.rows.map((x) => x.id);
  return {
    gridIds: ids(grids),
    buildingIds: ids(buildings),
    roadIds: ids(roads),
    incidentIds: ids(incidents),
    responderIds: ids(responders),
  };
}

export interface CityScale {
  /** District size in km (width, height), centred on CENTRE. */
  widthKm: number;
  heightKm: number;
  /** Grid cells across and down; communities are 5×4 grids, streets 2×5 communities. */
  gridCols: number;
  gridRows: number;
  buildings: number;
  incidents: number;
  responders: number;
  /** Spacing of the road lattice in metres. */
  roadSpacingM: number;
}

/** The city preset's volumes: 2,000 grids, 200,000 buildings, 20,000 responders, 100,000 incidents. */
export const CITY: CityScale = {
  widthKm: 20, heightKm: 15, gridCols: 50, gridRows: 40, buildings: 200_000, incidents: 100_000, responders: 20_000, roadSpacingM: 200,
};

/**
 * A district with the densities of a city, generated in SQL: 70 % of the points follow a normal
 * distribution around the centre (σ = a fifth of the width), the rest are uniform, so the core
 * tiles are several times denser than the average.
 */
export async function insertSyntheticCity(pool: pg.Pool, scale: CityScale, seed = 0.42): Promise<void> {
  const { lon, lat } = CENTRE;
  const w = scale.widthKm * kmLon(lat);
  const h = scale.heightKm * KM_LAT;
  const x0 = lon - w / 2;
  const y0 = lat - h / 2;
  const cw = w / scale.gridCols;
  const ch = h / scale.gridRows;
  // Streets are 10×20 grids, communities 5×4 grids; codes follow the hierarchy.
  await pool.query(`INSERT INTO areas (code, name, geom) VALUES ('310101', '合成区', ST_Multi(ST_MakeEnvelope($1::float8, $2::float8, $3::float8, $4::float8, 4326)))`, [
    x0, y0, x0 + w, y0 + h,
  ]);
  const streetCols = Math.ceil(scale.gridCols / 10);
  const streetRows = Math.ceil(scale.gridRows / 20);
  await pool.query(
    `INSERT INTO areas (code, name, geom)
     SELECT '310101' || lpad((i * $6 + j + 1)::text, 3, '0'), '街道' || (i * $6 + j + 1),
            ST_Multi(ST_MakeEnvelope($1::float8 + i * 10 * $3::float8, $2::float8 + j * 20 * $4::float8, $1::float8 + least((i + 1) * 10, $7) * $3::float8, $2::float8 + least((j + 1) * 20, $8) * $4::float8, 4326))
       FROM generate_series(0, $5 - 1) i, generate_series(0, $6 - 1) j`,
    [x0, y0, cw, ch, streetCols, streetRows, scale.gridCols, scale.gridRows],
  );
  // Communities: within each street, 2 across (5 grids each) and 5 down (4 grids each).
  await pool.query(
    `INSERT INTO areas (code, name, geom)
     SELECT '310101' || lpad((si * $6 + sj + 1)::text, 3, '0') || lpad((ci * 5 + cj + 1)::text, 3, '0'), '社区' || (si * $6 + sj + 1) || '-' || (ci * 5 + cj + 1),
            ST_Multi(ST_MakeEnvelope($1::float8 + (si * 10 + ci * 5) * $3::float8, $2::float8 + (sj * 20 + cj * 4) * $4::float8,
                                     $1::float8 + (si * 10 + ci * 5 + 5) * $3::float8, $2::float8 + (sj * 20 + cj * 4 + 4) * $4::float8, 4326))
       FROM generate_series(0, $5 - 1) si, generate_series(0, $6 - 1) sj, generate_series(0, 1) ci, generate_series(0, 4) cj
      WHERE si * 10 + ci * 5 < $7 AND sj * 20 + cj * 4 < $8`,
    [x0, y0, cw, ch, streetCols, streetRows, scale.gridCols, scale.gridRows],
  );
  await pool.query(
    `INSERT INTO grids (code, name, community_id, geom)
     SELECT c.code || lpad((gi * 4 + gj + 1)::text, 3, '0'), c.name || '第' || (gi * 4 + gj + 1) || '网格', c.id,
            ST_Multi(ST_MakeEnvelope(ST_XMin(c.geom) + gi * $1::float8, ST_YMin(c.geom) + gj * $2::float8, ST_XMin(c.geom) + (gi + 1) * $1::float8, ST_YMin(c.geom) + (gj + 1) * $2::float8, 4326))
       FROM areas c, generate_series(0, 4) gi, generate_series(0, 3) gj
      WHERE c.level = 'community' AND ST_XMin(c.geom) + gi * $1::float8 < $3::float8 - $1::float8 / 2 AND ST_YMin(c.geom) + gj * $2::float8 < $4::float8 - $2::float8 / 2`,
    [cw, ch, x0 + w, y0 + h],
  );
  await pool.query('SELECT setseed($1::float8)', [seed]);
  // A point of the mixture, clamped inside the district.
  const mix = `(SELECT CASE WHEN random() < 0.7
        THEN ST_SetSRID(ST_MakePoint(
          greatest($1::float8, least($1::float8 + $3::float8, $1::float8 + $3::float8 / 2 + $3::float8 / 5 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))),
          greatest($2::float8, least($2::float8 + $4::float8, $2::float8 + $4::float8 / 2 + $3::float8 / 5 * sqrt(-2 * ln(1 - random())) * sin(2 * pi() * random())))), 4326)
        ELSE ST_SetSRID(ST_MakePoint($1::float8 + random() * $3::float8, $2::float8 + random() * $4::float8), 4326) END AS p WHERE n IS NOT NULL)`;
  const around = [x0, y0, w, h];
  await pool.query(
    `INSERT INTO buildings (name, floors, households, geom, source, source_id)
     SELECT CASE WHEN n % 7 = 0 THEN NULL ELSE '小区' || (n / 40) || '号' || (n % 40 + 1) || '号楼' END,
            (1 + n::bigint * 7919 % 30)::int, (n::bigint * 104729 % 200)::int,
            ST_Multi(ST_Expand(p.p, (4 + (n * 31) % 18) * $5::float8, (4 + (n * 17) % 20) * $6::float8)), 'generator', n::text
       FROM generate_series(1, $7::int) n, LATERAL ${mix} p`,
    [...around, kmLon(lat) / 1000, KM_LAT / 1000, scale.buildings],
  );
  const step = scale.roadSpacingM / 1000;
  const nx = Math.floor(scale.widthKm / step);
  const ny = Math.floor(scale.heightKm / step);
  const klass = (v: string) => `CASE WHEN ${v} % 10 = 0 THEN 'primary' WHEN ${v} % 5 = 0 THEN 'secondary' WHEN ${v} % 3 = 0 THEN 'tertiary' ELSE 'residential' END`;
  await pool.query(
    `INSERT INTO roads (name, class, geom, source, source_id)
     SELECT '纵' || i || '路', ${klass('i')},
            ST_MakeLine(ST_SetSRID(ST_MakePoint($1::float8 + i * $3::float8, $2::float8 + j * $4::float8), 4326), ST_SetSRID(ST_MakePoint($1::float8 + i * $3::float8 + 0.00001 * (j % 3), $2::float8 + (j + 1) * $4::float8), 4326)),
            'generator', 'v' || i || '-' || j
       FROM generate_series(0, $5::int) i, generate_series(0, $6::int - 1) j
     UNION ALL
     SELECT '横' || j || '路', ${klass('j')},
            ST_MakeLine(ST_SetSRID(ST_MakePoint($1::float8 + i * $3::float8, $2::float8 + j * $4::float8), 4326), ST_SetSRID(ST_MakePoint($1::float8 + (i + 1) * $3::float8, $2::float8 + j * $4::float8 + 0.00001 * (i % 3)), 4326)),
            'generator', 'h' || i || '-' || j
       FROM generate_series(0, $5::int - 1) i, generate_series(0, $6::int) j`,
    [x0, y0, step * kmLon(lat), step * KM_LAT, nx, ny],
  );
  await pool.query(
    `INSERT INTO responders (kind, name, status, position, position_at, home_grid_id)
     SELECT (ARRAY['grid_worker', 'patrol', 'volunteer', 'police'])[1 + n % 4], '队员' || n,
            (ARRAY['available', 'busy', 'off_duty'])[1 + (n * 7) % 3], p.p, now() - make_interval(secs => n % 3600), grid_at(p.p)
       FROM generate_series(1, $5::int) n, LATERAL ${mix} p`,
    [...around, scale.responders],
  );
  await pool.query(
    `INSERT INTO incidents (category, priority, status, location, description, reported_at, near_border)
     SELECT (ARRAY['dispute', 'safety_hazard', 'sanitation', 'public_facility', 'appeal', 'fire', 'traffic', 'emergency'])[1 + n % 8],
            (ARRAY['low', 'normal', 'normal', 'high', 'urgent'])[1 + (n * 13) % 5],
            (ARRAY['reported', 'accepted', 'dispatched', 'in_progress', 'resolved', 'verified', 'closed', 'closed', 'closed', 'rejected'])[1 + (n * 7) % 10],
            p.p, '合成事件 ' || n, now() - make_interval(hours => n % 5000), n % 23 = 0
       FROM generate_series(1, $5::int) n, LATERAL ${mix} p`,
    [...around, scale.incidents],
  );
  await pool.query('ANALYZE');
}

/** One decoded feature: properties, MVT geometry type (1 point, 2 line, 3 polygon) and rings. */
export interface DecodedFeature {
  properties: Record<string, number | string | boolean>;
  type: number;
  rings: Array<Array<{ x: number; y: number }>>;
}

/** Decodes an MVT body into layer name → features. */
export function decodeTile(body: Uint8Array): Record<string, DecodedFeature[]> {
  const tile = new VectorTile(new PbfReader(body));
  const out: Record<string, DecodedFeature[]> = {};
  for (const [name, layer] of Object.entries(tile.layers)) {
    out[name] = [];
    for (let i = 0; i < layer.length; i++) {
      const f = layer.feature(i);
      out[name].push({ properties: f.properties, type: f.type, rings: f.loadGeometry().map((r) => r.map((p) => ({ x: p.x, y: p.y }))) });
    }
  }
  return out;
}

/** Twice the signed area of a ring by the surveyor's formula in tile units (y down): > 0 for exterior rings per the MVT spec. */
export function surveyorArea(ring: Array<{ x: number; y: number }>): number {
  let sum = 0;
  for (let i = 0; i < ring.length; i++) {
    const a = ring[i];
    const b = ring[(i + 1) % ring.length];
    sum += a.x * b.y - b.x * a.y;
  }
  return sum;
}

/**
 * Where each tile layer's features come from, for tests asking PostGIS independently of the tile
 * SQL: the table (as `t`), its EPSG:3857 geometry (label layers: the polygons' label points) and the
 * code that places a row in a scope (roads: none, they are not scoped).
 */
export const TILE_SOURCES: Record<TileLayerId, { table: string; geom: string; code: string | null }> = {
  areas: { table: 'areas', geom: 't.geom_3857', code: 't.code' },
  grids: { table: 'grids', geom: 't.geom_3857', code: 't.code' },
  buildings: { table: 'buildings', geom: 't.geom_3857', code: '(SELECT code FROM grids g WHERE g.id = t.grid_id)' },
  roads: { table: 'roads', geom: 't.geom_3857', code: null },
  incidents: { table: 'incidents', geom: 'ST_Transform(t.location, 3857)', code: '(SELECT code FROM grids g WHERE g.id = t.grid_id)' },
  responders: { table: 'responders', geom: 'ST_Transform(t.position, 3857)', code: '(SELECT code FROM grids g WHERE g.id = t.home_grid_id)' },
  'area-labels': { table: 'areas', geom: 't.label_3857', code: 't.code' },
  'grid-labels': { table: 'grids', geom: 't.label_3857', code: 't.code' },
};

/**
 * The ids a complete tile must hold, asked of PostGIS independently of the tile SQL: every row
 * meeting the tile envelope grown by the layer's buffer (ST_TileEnvelope's margin), within `scope`
 * (an area or grid code) when given.
 */
export async function expectedTileIds(pool: pg.Pool, layer: TileLayerId, z: number, x: number, y: number, scope?: string): Promise<string[]> {
  const { table, geom, code } = TILE_SOURCES[layer];
  const scoped = scope && code ? ` AND ${code} LIKE $5 || '%'` : '';
  const { rows } = await pool.query<{ id: string }>(
    `SELECT t.id::text AS id FROM ${table} t
      WHERE ST_Intersects(${geom}, ST_TileEnvelope($1::int, $2::int, $3::int, margin => $4::float8))${scoped} ORDER BY 1`,
    [z, x, y, TILE_LAYERS[layer].bufferUnits / TILE_EXTENT, ...(scoped ? [scope] : [])],
  );
  return rows.map((r) => r.id);
}
