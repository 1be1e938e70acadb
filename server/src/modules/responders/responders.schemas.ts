import { Type } from 'typebox';
import { Nullable } from '../../lib/schemas.js';

export const Position = Type.Object({
  lon: Type.Number(),
  lat: Type.Number(),
  recordedAt: Type.String(),
  accuracyMetres: Nullable(Type.Number()),
});

export const ResponderSelf = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: Type.String(),
  status: Type.String(),
  statusAt: Type.String(),
  presence: Type.String({ description: 'online | stale | offline, from the age of the last position' }),
  position: Nullable(Position),
  homeGridCode: Nullable(Type.String()),
  activeIncidentCount: Type.Integer(),
});

export const StatusBody = Type.Object(
  { status: Type.Union([Type.Literal('available'), Type.Literal('busy'), Type.Literal('off_duty')]) },
  { additionalProperties: false },
);

export const MAX_BATCH = 500;

export const PositionsBody = Type.Object(
  {
    positions: Type.Array(
      Type.Object(
        {
          // Only types here (a wrong type is 400 for the batch); ranges and real times are checked per
          // point (OUT_OF_RANGE, INVALID_TIMESTAMP: positions.ts), so one bad fix does not fail the batch.
          lon: Type.Number(),
          lat: Type.Number(),
          recordedAt: Type.String({
            maxLength: 40,
            description: 'ISO 8601 time the fix was taken (YYYY-MM-DDThh:mm:ss[.fff]Z or ±hh:mm); a time that does not exist is rejected as INVALID_TIMESTAMP',
          }),
          accuracyMetres: Type.Optional(Nullable(Type.Number())),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: MAX_BATCH },
    ),
  },
  { additionalProperties: false },
);

export const PositionsResult = Type.Object({
  accepted: Type.Integer(),
  duplicates: Type.Integer(),
  rejected: Type.Array(Type.Object({
    index: Type.Integer(),
    code: Type.Union([
      Type.Literal('FUTURE_TIMESTAMP'), Type.Literal('IMPOSSIBLE_SPEED'), Type.Literal('INVALID_TIMESTAMP'), Type.Literal('OUT_OF_RANGE'), Type.Literal('TOO_OLD'),
    ]),
    detail: Type.String(),
  })),
  position: Nullable(Position),
});

const CommaList = (values: readonly string[]) =>
  Type.String({ pattern: `^(${values.join('|')})(,(${values.join('|')}))*$`, description: `comma list of ${values.join(', ')}` });

export const ListQuery = Type.Object({
  status: Type.Optional(CommaList(['available', 'busy', 'off_duty'])),
  presence: Type.Optional(CommaList(['online', 'stale', 'offline'])),
  limit: Type.Integer({ minimum: 1, maximum: 2000, default: 500 }),
  offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
});

export const ResponderFeature = Type.Object({
  type: Type.Literal('Feature'),
  id: Type.String(),
  geometry: Nullable(Type.Object({ type: Type.Literal('Point'), coordinates: Type.Array(Type.Number()) })),
  properties: Type.Object({
    id: Type.String(),
    name: Type.String(),
    kind: Type.String(),
    status: Type.String(),
    statusAt: Type.String(),
    presence: Type.String(),
    positionAt: Nullable(Type.String()),
    accuracyMetres: Nullable(Type.Number()),
    homeGridId: Nullable(Type.String()),
    homeGridCode: Nullable(Type.String()),
    activeIncidentId: Nullable(Type.String()),
  }),
});

export const ResponderCollection = Type.Object({
  type: Type.Literal('FeatureCollection'),
  features: Type.Array(ResponderFeature),
  numberMatched: Type.Integer(),
  numberReturned: Type.Integer(),
});

export const CandidatesQuery = Type.Object({
  // Range (1–20) checked in the handler: 400 VALIDATION_FAILED as the contract says.
  k: Type.Integer({ default: 5, description: 'how many candidates, 1–20' }),
  routes: Type.Boolean({ default: false, description: 'include each routed candidate\'s route as a LineString' }),
});

export const Candidate = Type.Object({
  responderId: Type.String(),
  name: Type.String(),
  kind: Type.String(),
  status: Type.String(),
  presence: Type.String(),
  positionAgeSeconds: Type.Integer(),
  homeGridId: Nullable(Type.String()),
  homeGridCode: Nullable(Type.String()),
  tier: Type.Union([Type.Literal('own_grid'), Type.Literal('neighbour_grid'), Type.Literal('other')]),
  etaSeconds: Type.Integer(),
  distanceMetres: Type.Integer(),
  routed: Type.Boolean(),
  reasonCode: Type.String(),
  reason: Type.String(),
  route: Nullable(Type.Object({ type: Type.Literal('LineString'), coordinates: Type.Array(Type.Array(Type.Number())) })),
});

export const CandidatesResult = Type.Object({
  incidentId: Type.String(),
  networkVersion: Type.Integer(),
  generatedAt: Type.String(),
  candidates: Type.Array(Candidate),
});
