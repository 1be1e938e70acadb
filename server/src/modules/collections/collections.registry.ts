/**
 * The feature collections the API serves, as data: every table, column and SQL fragment used to
 * build a collection query comes from here (an allow-list), never from the request.
 */
import { ISO_UTC_PATTERN } from '../../db/text.js';

export interface CollectionDef {
  id: CollectionId;
  title: { zh: string; en: string };
  description: string;
  /** Table and alias used in the FROM clause. */
  from: string;
  /** Geometry column (EPSG:4326). */
  geom: string;
  /** Stable paging order. */
  orderBy: string;
  /**
   * The code that places a row in the area hierarchy (its own, or its grid's); a user scoped to an
   * area sees the rows whose code extends the area's code. Absent: not scoped (basemap geography).
   */
  scopeCode?: string;
  /** `expression AS "camelCaseName"` items making up the GeoJSON properties. */
  properties: string[];
}

export const COLLECTION_IDS = ['areas', 'grids', 'buildings', 'roads', 'responders', 'incidents'] as const;
export type CollectionId = (typeof COLLECTION_IDS)[number];

const ISO = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', '${ISO_UTC_PATTERN}')`;

export const COLLECTIONS: Record<CollectionId, CollectionDef> = {
  areas: {
    id: 'areas',
    scopeCode: 't.code',
    title: { zh: '行政区划', en: 'Administrative areas' },
    description: 'Districts (区), streets (街道) and communities (社区) with national statistical codes.',
    from: 'areas t LEFT JOIN areas p ON p.id = t.parent_id',
    geom: 't.geom',
    orderBy: 't.code',
    properties: ['t.code AS "code"', 't.name AS "name"', 't.level AS "level"', 'p.code AS "parentCode"', 't.source AS "source"'],
  },
  grids: {
    id: 'grids',
    scopeCode: 't.code',
    title: { zh: '网格', en: 'Grids' },
    description: 'Grids (网格) tiling their community; 15-digit codes under the community code.',
    from: 'grids t JOIN areas c ON c.id = t.community_id',
    geom: 't.geom',
    orderBy: 't.code',
    properties: [
      't.code AS "code"', 't.name AS "name"', 'c.code AS "communityCode"', 'c.name AS "communityName"',
      'round(ST_Area(t.geom::geography))::bigint AS "areaSquareMetres"', 't.source AS "source"',
    ],
  },
  buildings: {
    id: 'buildings',
    scopeCode: 'g.code',
    title: { zh: '建筑', en: 'Buildings' },
    description: 'Building footprints with households and the grid that holds each.',
    from: 'buildings t LEFT JOIN grids g ON g.id = t.grid_id',
    geom: 't.geom',
    orderBy: 't.id',
    properties: [
      't.name AS "name"', 't.address AS "address"', 't.floors AS "floors"', 't.height_m AS "heightMetres"',
      't.households AS "householdCount"', 't.grid_id AS "gridId"', 'g.code AS "gridCode"', 't.source AS "source"',
    ],
  },
  roads: {
    id: 'roads',
    title: { zh: '道路', en: 'Roads' },
    description: 'Road centrelines with class, bridge/tunnel and layer.',
    from: 'roads t',
    geom: 't.geom',
    orderBy: 't.id',
    properties: [
      't.name AS "name"', 't.class AS "class"', 't.bridge AS "bridge"', 't.tunnel AS "tunnel"', 't.layer AS "layer"',
      't.oneway AS "oneway"', 't.source AS "source"',
    ],
  },
  responders: {
    id: 'responders',
    scopeCode: 'g.code',
    title: { zh: '处置力量', en: 'Responders' },
    description: 'Grid workers, patrols, volunteers and police with their last known position.',
    from: 'responders t LEFT JOIN grids g ON g.id = t.home_grid_id',
    geom: 't.position',
    orderBy: 't.id',
    properties: [
      't.kind AS "kind"', 't.name AS "name"', 't.status AS "status"', `${ISO('t.position_at')} AS "positionAt"`,
      't.home_grid_id AS "homeGridId"', 'g.code AS "homeGridCode"',
    ],
  },
  incidents: {
    id: 'incidents',
    scopeCode: 'g.code',
    title: { zh: '事件', en: 'Incidents' },
    description: 'Reported incidents with category, priority, status and grid. Reporter contact is not listed here.',
    from: 'incidents t LEFT JOIN grids g ON g.id = t.grid_id',
    geom: 't.location',
    orderBy: 't.reported_at DESC, t.id',
    properties: [
      't.category AS "category"', 't.priority AS "priority"', 't.status AS "status"', 't.description AS "description"',
      't.address AS "address"', `${ISO('t.reported_at')} AS "reportedAt"`, 't.grid_id AS "gridId"', 'g.code AS "gridCode"',
      't.near_border AS "nearBorder"',
    ],
  },
};

export function isCollectionId(id: string): id is CollectionId {
  return (COLLECTION_IDS as readonly string[]).includes(id);
}
