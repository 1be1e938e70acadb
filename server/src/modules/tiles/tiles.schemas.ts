import { Type } from 'typebox';

export const TILE_MEDIA_TYPE = 'application/vnd.mapbox-vector-tile';

export const TileJsonParams = Type.Object({ layer: Type.String({ maxLength: 100, description: 'Tile layer id' }) });

/** z/x/y are strings here: the handler parses them so every malformed address gets TILE_OUT_OF_RANGE. */
export const TileQuery = Type.Object({
  v: Type.Optional(Type.Integer({ minimum: 0, maximum: 2_147_483_647, description: 'the grids\' generation (the TileJSON gives it): tiles of a new plan have new URLs' })),
});

export const TileParams = Type.Object({
  layer: Type.String({ maxLength: 100, description: 'Tile layer id' }),
  z: Type.String({ description: 'Zoom, 0–22' }),
  x: Type.String({ description: 'Column, 0 … 2^z − 1' }),
  y: Type.String({ description: 'Row, 0 … 2^z − 1, optionally with a .mvt or .pbf suffix' }),
});

export const VectorLayer = Type.Object({
  id: Type.String(),
  description: Type.String(),
  fields: Type.Record(Type.String(), Type.String()),
  minzoom: Type.Integer(),
  maxzoom: Type.Integer(),
});

/** TileJSON 3.0.0 (https://github.com/mapbox/tilejson-spec/tree/master/3.0.0). */
export const TileJson = Type.Object({
  tilejson: Type.Literal('3.0.0'),
  name: Type.String(),
  description: Type.String(),
  version: Type.String(),
  scheme: Type.Literal('xyz'),
  tiles: Type.Array(Type.String()),
  minzoom: Type.Integer(),
  maxzoom: Type.Integer(),
  bounds: Type.Array(Type.Number(), { minItems: 4, maxItems: 4 }),
  center: Type.Array(Type.Number(), { minItems: 3, maxItems: 3 }),
  vector_layers: Type.Array(VectorLayer),
  attribution: Type.Optional(Type.String()),
});

/** The tile responses, described for OpenAPI (the body is sent as bytes, never serialised). */
export const TileResponses: Record<number, object> = {
  200: {
    description: 'A Mapbox Vector Tile with one layer named like the tile layer',
    content: { [TILE_MEDIA_TYPE]: { schema: { type: 'string', format: 'binary' } } },
  },
  204: { description: 'The tile has no feature, or its zoom is outside the layer\'s range', type: 'null' },
  304: { description: 'Not modified (If-None-Match matched the ETag)', type: 'null' },
};
