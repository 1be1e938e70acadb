import { fromVectorTileJs, type VectorTileFeatureLike, type VectorTileLayerLike } from '@maplibre/vt-pbf';
import { TILE_EXTENT, type TileLayerDef } from './tiles.layers.js';

type Position = [number, number];
type TileGeometry =
  | { type: 'Point'; coordinates: Position }
  | { type: 'MultiPoint'; coordinates: Position[] }
  | { type: 'LineString'; coordinates: Position[] }
  | { type: 'MultiLineString'; coordinates: Position[][] }
  | { type: 'Polygon'; coordinates: Position[][] }
  | { type: 'MultiPolygon'; coordinates: Position[][][] };

/** A row of the `rows` tile query: the layer's columns plus `geom`, GeoJSON in tile units. */
export type TileRow = Record<string, unknown> & { geom: string };

/**
 * Encodes the rows of a tile query as a one-layer Mapbox Vector Tile, for databases whose PostGIS
 * cannot (PGlite has no protobuf). Geometry arrives already clipped, snapped to the 4096 grid and
 * oriented by SQL, so this only writes it; null properties are left out, as ST_AsMVT does.
 */
export function encodeTile(def: TileLayerDef, rows: TileRow[]): Uint8Array {
  const features: VectorTileFeatureLike[] = [];
  for (const row of rows) {
    const geometry = JSON.parse(row.geom) as TileGeometry;
    const shape = toRings(geometry);
    if (!shape) continue;
    features.push({
      type: shape.type,
      id: undefined,
      extent: TILE_EXTENT,
      properties: properties(def, row),
      // vt-pbf reads only x and y of each point.
      loadGeometry: () => shape.rings as unknown as ReturnType<VectorTileFeatureLike['loadGeometry']>,
    });
  }
  const layer: VectorTileLayerLike = {
    version: 2,
    name: def.id,
    extent: TILE_EXTENT,
    length: features.length,
    feature: (i) => features[i],
  };
  return fromVectorTileJs({ layers: { [def.id]: layer } });
}

function properties(def: TileLayerDef, row: TileRow): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const name of Object.keys(def.fields)) {
    const value = row[name];
    if (value === null || value === undefined) continue;
    // bigint columns (epoch seconds) may arrive as strings, depending on the pg type parsers.
    out[name] = def.fields[name] === 'Number' ? Number(value) : (value as string | boolean);
  }
  return out;
}

const at = ([x, y]: Position) => ({ x: Math.round(x), y: Math.round(y) });

function toRings(g: TileGeometry): { type: 1 | 2 | 3; rings: Array<Array<{ x: number; y: number }>> } | undefined {
  switch (g.type) {
    case 'Point':
      return { type: 1, rings: [[at(g.coordinates)]] };
    case 'MultiPoint':
      return g.coordinates.length ? { type: 1, rings: [g.coordinates.map(at)] } : undefined;
    case 'LineString':
      return g.coordinates.length > 1 ? { type: 2, rings: [g.coordinates.map(at)] } : undefined;
    case 'MultiLineString': {
      const rings = g.coordinates.filter((l) => l.length > 1).map((l) => l.map(at));
      return rings.length ? { type: 2, rings } : undefined;
    }
    case 'Polygon':
      return g.coordinates.length ? { type: 3, rings: g.coordinates.map((r) => r.map(at)) } : undefined;
    case 'MultiPolygon': {
      const rings = g.coordinates.flatMap((p) => p.map((r) => r.map(at)));
      return rings.length ? { type: 3, rings } : undefined;
    }
    default:
      return undefined;
  }
}
