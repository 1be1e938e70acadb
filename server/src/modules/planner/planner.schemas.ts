import { Type, type Static } from 'typebox';
import type { ValidationHints } from '../../plugins/errors.js';
import { Nullable } from '../../lib/schemas.js';

/** Bad shapes under `grids` are 400 INVALID_GEOMETRY; other fields 400 VALIDATION_FAILED; unknown communities 404. */
export const PLANNER_VALIDATION: ValidationHints = { code: 'VALIDATION_FAILED', paramsNotFound: true, geometry: ['/grids'] };

/** The most grids a community's plan holds, and vertices in all (a plan is small; this bounds the work). */
export const MAX_PLAN_GRIDS = 300;
export const MAX_PLAN_VERTICES = 200_000;

const Position = Type.Tuple([Type.Number({ minimum: -180, maximum: 180 }), Type.Number({ minimum: -90, maximum: 90 })]);
const Ring = Type.Array(Position, { minItems: 4, maxItems: 50_000 });
const Polygon = Type.Object({ type: Type.Literal('Polygon'), coordinates: Type.Array(Ring, { minItems: 1, maxItems: 500 }) });
const MultiPolygon = Type.Object({ type: Type.Literal('MultiPolygon'), coordinates: Type.Array(Type.Array(Ring, { minItems: 1, maxItems: 500 }), { minItems: 1, maxItems: 500 }) });

export const PlanGrid = Type.Object({
  type: Type.Literal('Feature'),
  id: Type.Optional(Type.Union([Type.String({ maxLength: 100 }), Type.Number()])),
  properties: Type.Object({
    code: Type.String({ maxLength: 40, description: 'the grid code: the community code and 3 digits (a bad code is an issue, not a refusal)' }),
    name: Type.String({ minLength: 1, maxLength: 200 }),
  }),
  geometry: Type.Union([Polygon, MultiPolygon]),
});
export type PlanGridValue = Static<typeof PlanGrid>;

export const PlanGrids = Type.Object({
  type: Type.Literal('FeatureCollection'),
  features: Type.Array(PlanGrid, { maxItems: MAX_PLAN_GRIDS }),
});

const CommunityCode = Type.String({ pattern: '^[0-9]{12}$', description: 'the 12-digit community code' });

export const ProposalBody = Type.Object({ communityCode: CommunityCode, grids: PlanGrids }, { additionalProperties: false });
export const ImpactBody = Type.Object({
  communityCode: CommunityCode,
  grids: PlanGrids,
  successors: Type.Optional(Type.Record(Type.String({ pattern: '^[0-9]{15}$' }), Type.String({ pattern: '^[0-9]{15}$' }))),
}, { additionalProperties: false });

export const ISSUE_KINDS = [
  'invalid_geometry', 'gap', 'overlap', 'outside_community', 'sliver', 'too_small', 'too_large', 'households_out_of_range',
  'bad_code', 'duplicate_code', 'multipart',
] as const;

const GeoJsonGeometry = Type.Unsafe<Record<string, unknown>>(Type.Object({ type: Type.String() }, { additionalProperties: true }));

export const Issue = Type.Object({
  kind: Type.Union(ISSUE_KINDS.map((k) => Type.Literal(k))),
  severity: Type.Union([Type.Literal('error'), Type.Literal('warning')]),
  message: Type.String(),
  gridCodes: Type.Array(Type.String()),
  location: GeoJsonGeometry,
  areaSquareMetres: Type.Optional(Type.Number()),
  value: Type.Optional(Type.Number({ description: 'the figure the message states: households (households_out_of_range), width in m (sliver), parts (multipart), grids (duplicate_code)' })),
  fix: Type.Optional(Type.Object({
    kind: Type.String(),
    description: Type.String(),
    grids: Type.Array(Type.Object({ code: Type.String(), geometry: GeoJsonGeometry }), { description: 'the new geometry of each grid the fix changes' }),
  })),
});
export const ValidateAnswer = Type.Object({ issues: Type.Array(Issue) });

const Counts = Type.Object({ buildings: Type.Integer(), households: Type.Integer(), openIncidents: Type.Integer(), responders: Type.Integer() });
const Move = Type.Object({ id: Type.String(), from: Nullable(Type.String()), to: Nullable(Type.String()) });
export const ImpactAnswer = Type.Object({
  grids: Type.Array(Type.Object({ code: Type.String(), before: Counts, after: Counts })),
  changes: Type.Object({
    buildings: Type.Array(Move),
    incidents: Type.Array(Move),
    responders: Type.Array(Type.Object({ id: Type.String(), name: Type.String(), from: Type.String(), to: Nullable(Type.String()) })),
    accounts: Type.Array(Type.Object({ id: Type.String(), username: Type.String(), from: Type.String(), to: Nullable(Type.String()) })),
  }),
});

export const RebalanceAnswer = Type.Object({
  proposals: Type.Array(Type.Object({
    kind: Type.Union([Type.Literal('split'), Type.Literal('merge')]),
    codes: Type.Array(Type.String(), { description: 'split: the grid to cut; merge: the two grids (the first keeps its code)' }),
    households: Type.Array(Type.Integer(), { description: 'split: the two parts\' households; merge: each grid\'s' }),
    street: Nullable(Type.String({ description: 'split: the street the cut follows (null when unnamed or a merge)' })),
    line: Nullable(GeoJsonGeometry),
  })),
});

export const CommunityParams = Type.Object({ code: CommunityCode });
export const VersionParams = Type.Object({ code: CommunityCode, version: Type.Integer({ minimum: 0, maximum: 1_000_000 }) });

export const PublishBody = Type.Object({
  grids: PlanGrids,
  effectiveFrom: Type.Optional(Type.String({ format: 'date-time', description: 'when the version takes effect (default: now)' })),
  baseVersion: Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'the version the plan was drawn from (the latest one, or 409 VERSION_CONFLICT)' }),
  note: Type.String({ minLength: 1, maxLength: 2000 }),
  successors: Type.Optional(Type.Record(Type.String({ pattern: '^[0-9]{15}$' }), Type.String({ pattern: '^[0-9]{15}$' }), {
    description: 'for each retired or recoded code that responders or accounts are bound to: the code that takes them over',
  })),
}, { additionalProperties: false });

export const VersionSummary = Type.Object({
  version: Type.Integer(),
  effectiveFrom: Nullable(Type.String({ description: 'null for version 0: the grids before any plan' })),
  publishedAt: Nullable(Type.String()),
  publishedBy: Nullable(Type.String()),
  note: Nullable(Type.String()),
  applied: Type.Boolean({ description: 'in force (taken effect)' }),
  grids: Type.Integer(),
});
export const VersionList = Type.Object({ communityCode: Type.String(), latestVersion: Type.Integer(), versions: Type.Array(VersionSummary) });

/** An undo/redo history as the planner's client keeps it (opaque to the server, bounded by the body limit). */
/** The most edits each stack of a draft's history keeps (the browser cuts its stacks to it too). */
export const MAX_DRAFT_HISTORY = 500;
const History = Type.Object({
  undo: Type.Array(Type.Unknown(), { maxItems: MAX_DRAFT_HISTORY }),
  redo: Type.Array(Type.Unknown(), { maxItems: MAX_DRAFT_HISTORY }),
}, { description: 'the client\'s undo and redo stacks, kept with the draft' });

export const Draft = Type.Object({
  id: Type.String(),
  communityCode: Type.String(),
  author: Nullable(Type.Object({ id: Type.String(), name: Type.String() })),
  baseVersion: Type.Integer(),
  revision: Type.Integer({ description: 'send it back as expectedRevision when saving' }),
  grids: PlanGrids,
  history: History,
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export const DraftList = Type.Object({ drafts: Type.Array(Type.Omit(Draft, ['grids', 'history'])) });
export const NewDraftBody = Type.Object({ communityCode: CommunityCode }, { additionalProperties: false });
export const DraftSaveBody = Type.Object({
  expectedRevision: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }),
  grids: PlanGrids,
  history: History,
  baseVersion: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'rebased on a newer version' })),
}, { additionalProperties: false });
/** POST /api/planner/drafts/{id}/import: its multipart form, for the API document (the route reads the parts itself). */
export const DraftImportForm = Type.Object({
  file: Type.String({ format: 'binary', description: 'a GeoJSON file (FeatureCollection or Feature) or a zipped Shapefile (.shp, .dbf, .prj, optional .cpg); at most 20 MB' }),
  crs: Type.Optional(Type.String({ description: 'the CRS of the coordinates: WGS84, GCJ02, BD09, CGCS2000, EPSG:4490–4554 … (default: the GeoJSON\'s crs member or the .prj, else WGS84; given, it overrides both)' })),
  codeField: Type.Optional(Type.String({ description: 'the property holding the grid code (default: the first present of code, CODE, grid_code, 网格编码, 编码, WGBM)' })),
  nameField: Type.Optional(Type.String({ description: 'the property holding the grid name (default: the first present of name, NAME, grid_name, 网格名称, 名称, WGMC)' })),
  expectedRevision: Type.Optional(Type.Integer({ minimum: 1, description: 'the revision the draft was read at (409 VERSION_CONFLICT when it has moved on)' })),
});
export const DraftImportAnswer = Type.Object({
  draft: Draft,
  imported: Type.Object({
    format: Type.Union([Type.Literal('geojson'), Type.Literal('shapefile')]),
    crs: Type.String({ description: 'the CRS the coordinates were read in: EPSG:4326, GCJ02, BD09, EPSG:<code>, or the name in the .prj' }),
    grids: Type.Integer({ description: 'grids imported' }),
  }),
});
export const DraftQuery = Type.Object({
  communityCode: Type.Optional(CommunityCode),
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
});

export const DiffParams = Type.Object({
  code: CommunityCode,
  version: Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'from this version' }),
  other: Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'to this one' }),
});
export const DiffAnswer = Type.Object({
  communityCode: Type.String(),
  from: Type.Integer(),
  to: Type.Integer(),
  grids: Type.Array(Type.Object({
    code: Type.String(),
    change: Type.Union([Type.Literal('added'), Type.Literal('removed'), Type.Literal('changed'), Type.Literal('renamed'), Type.Literal('unchanged')]),
    nameBefore: Nullable(Type.String()),
    nameAfter: Nullable(Type.String()),
    areaBefore: Nullable(Type.Number({ description: 'm²' })),
    areaAfter: Nullable(Type.Number({ description: 'm²' })),
    changedArea: Type.Number({ description: 'm² that changed grid (symmetric difference)' }),
    changed: Nullable(GeoJsonGeometry),
  })),
});

export const PlanSettings = Type.Object({
  tooSmallSquareMetres: Type.Number({ minimum: 0, maximum: 1e9, description: 'too_small below (warning)' }),
  tooLargeSquareMetres: Type.Number({ minimum: 1, maximum: 1e10, description: 'too_large above (warning)' }),
  minHouseholds: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
  maxHouseholds: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
  sliverRadiusMetres: Type.Number({ minimum: 0, maximum: 1000, description: 'sliver: largest inscribed circle radius below (error)' }),
  gapOverlapToleranceSquareMetres: Type.Number({ minimum: 0, maximum: 10_000, description: 'gaps and overlaps count above (error)' }),
}, { additionalProperties: false });
export const PlanSettingsAnswer = Type.Object({ ...PlanSettings.properties, updatedAt: Type.String() });

// --- The planner's screen: the communities of the area, and one community to draw on -----------

/** The most communities one list answers (`limit`), and road guides one community answers. */
export const MAX_COMMUNITIES = 1000;
export const MAX_ROAD_GUIDES = 3000;
/** How far around the community the road guides reach (metres). */
export const ROAD_GUIDE_METRES = 50;

export const CommunityListQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: MAX_COMMUNITIES, default: 200, description: 'at most this many communities (by code)' }),
});

/** What a community's (or a grid's) grids in force hold: the definitions of impact's "before" counts. */
const HeldCounts = {
  buildings: Type.Integer({ description: 'buildings in the grids in force (by their grid: point on surface)' }),
  households: Type.Integer({ description: 'households of those buildings' }),
  openIncidents: Type.Integer({ description: 'incidents in those grids whose status is not closed' }),
  responders: Type.Integer({ description: 'responders whose home grid is one of those grids' }),
};
const LatestVersion = Type.Integer({ description: 'the latest published version (applied or not); 0 before the first plan' });
const Writable = Type.Boolean({ description: 'the caller may change the plan: grid.plan.write and an area that holds the community (not a single grid)' });

export const CommunitySummary = Type.Object({
  code: Type.String(),
  name: Type.String(),
  streetCode: Type.String(),
  streetName: Type.String(),
  grids: Type.Integer({ description: 'grids in force' }),
  ...HeldCounts,
  latestVersion: LatestVersion,
  writable: Writable,
});
export const CommunityList = Type.Object({ communities: Type.Array(CommunitySummary) });

const Bbox = Type.Tuple([Type.Number(), Type.Number(), Type.Number(), Type.Number()], {
  description: '[minLon, minLat, maxLon, maxLat] of the boundary (of the grids in force when it has none); null when there is neither',
});
/** Stored geometries as answered (no request bounds: a stored boundary may be larger than a drawn grid). */
const StoredMultiPolygon = Type.Object({
  type: Type.Literal('MultiPolygon'),
  coordinates: Type.Array(Type.Array(Type.Array(Position, { minItems: 4 }), { minItems: 1 }), { minItems: 1 }),
});
const LineString = Type.Object({ type: Type.Literal('LineString'), coordinates: Type.Array(Position, { minItems: 2 }) });

export const CommunityGrid = Type.Object({
  type: Type.Literal('Feature'),
  properties: Type.Object({ code: Type.String(), name: Type.String(), ...HeldCounts }),
  geometry: StoredMultiPolygon,
});
export const RoadGuide = Type.Object({
  type: Type.Literal('Feature'),
  properties: Type.Object({ name: Nullable(Type.String()), class: Type.String() }),
  geometry: LineString,
});

export const CommunityDetail = Type.Object({
  code: Type.String(),
  name: Type.String(),
  boundary: Nullable(StoredMultiPolygon),
  bbox: Nullable(Bbox),
  latestVersion: LatestVersion,
  writable: Writable,
  grids: Type.Object({ type: Type.Literal('FeatureCollection'), features: Type.Array(CommunityGrid) }, { description: 'the grids in force (9 decimals), by code' }),
  roads: Type.Object({ type: Type.Literal('FeatureCollection'), features: Type.Array(RoadGuide, { maxItems: MAX_ROAD_GUIDES }) }, {
    description: `snapping guides: the roads within ${ROAD_GUIDE_METRES} m of the boundary (of the grids when it has none), clipped to that area, one LineString each part (7 decimals; at most ${MAX_ROAD_GUIDES}, longest first)`,
  }),
});
