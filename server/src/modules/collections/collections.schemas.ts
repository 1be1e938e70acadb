import { Type } from 'typebox';
import { Uuid } from '../../lib/schemas.js';

export const MAX_LIMIT = 10_000;
export const DEFAULT_LIMIT = 100;

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
    limit: Type.Integer({ minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT }),
    offset: Type.Integer({ minimum: 0, maximum: 10_000_000, default: 0 }),
  },
  { additionalProperties: true },
);

export const CollectionParams = Type.Object({ collectionId: Type.String({ maxLength: 100 }) });
export const ItemParams = Type.Object({ collectionId: Type.String({ maxLength: 100 }), featureId: Uuid });
