import { Type } from 'typebox';
import { Uuid } from '../../lib/schemas.js';

export const MAX_LIMIT = 10_000;
export const DEFAULT_LIMIT = 100;
export const MAX_OFFSET = 10_000_000;

export const Link = Type.Object({
  href: Type.String(),
  rel: Type.String(),
  type: Type.Optional(Type.String()),
  title: Type.Optional(Type.String()),
});

export const Collection = Type.Object({
  id: Type.String(),
  title: Type.String(),
  description: Type.String(),
  itemType: Type.Literal('feature'),
  crs: Type.Array(Type.String()),
  extent: Type.Optional(Type.Object({ spatial: Type.Object({ bbox: Type.Array(Type.Array(Type.Number())), crs: Type.String() }) })),
  attribution: Type.Optional(Type.String()),
  links: Type.Array(Link),
});

export const Feature = Type.Object({
  type: Type.Literal('Feature'),
  id: Type.String(),
  geometry: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
  properties: Type.Object({}, { additionalProperties: true }),
  /** On a feature read alone (self, collection); not on the features of a page. */
  links: Type.Optional(Type.Array(Link)),
});

export const FeatureCollection = Type.Object({
  type: Type.Literal('FeatureCollection'),
  features: Type.Array(Feature),
  numberMatched: Type.Integer(),
  numberReturned: Type.Integer(),
  timeStamp: Type.String(),
  links: Type.Array(Link),
});

export const ItemsQuery = Type.Object(
  {
    bbox: Type.Optional(Type.String({ description: 'minLon,minLat,maxLon,maxLat (EPSG:4326)', maxLength: 200 })),
    // Optional with the bounds the server enforces, so that clients reading the OpenAPI document
    // (OGC API Features: the limit's maximum and default) know the largest page they may ask for.
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT, description: `features per page (at most ${MAX_LIMIT}; a larger value is 400 INVALID_LIMIT)` }),
    ),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_OFFSET, default: 0, description: 'features to skip (the next and prev links carry it)' })),
  },
  { additionalProperties: true },
);

export const CollectionParams = Type.Object({ collectionId: Type.String({ maxLength: 100 }) });
export const ItemParams = Type.Object({ collectionId: Type.String({ maxLength: 100 }), featureId: Uuid });
