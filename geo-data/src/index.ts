export type { Progress } from './progress.js';
export { generate, PRESETS, type GenerateOptions, type GenerateResult, type Preset } from './generate/index.js';
export { importGeoJson, LAYERS, type ImportOptions, type ImportResult, type Layer } from './import/index.js';
export { rebuildRoadNetwork } from './roads/noding.js';
// What the demo simulator (server/src/demo/simulator.ts) shares with the generator: the pace of
// incident work, the actors' names, what residents report and when, and the seeded random draws.
export { stepPlan, meanStepShare, OVERDUE_SHARE, type StepPlan } from './generate/pace.js';
export { COMMAND_CENTRE_ACTOR, DUPLICATE_NOTE, onBehalfNote, REJECT_NOTES, RESOLVE_NOTES, SYSTEM_ACTOR } from './generate/histories.js';
export { GRID_WORKER_CHANNEL, HOURLY } from './generate/incidents.js';
export { CATEGORY_TEXTS, CATEGORY_WEIGHTS, CHANNELS, PRIORITY_WEIGHTS, type Category, type Priority } from './generate/incident-texts.js';
export { Random } from './generate/random.js';
// What the planner's draft import (server/src/modules/planner/planner.import.ts) shares with the
// importer: CRS names and conversion to WGS84, reading GeoJSON text, checking a geometry's structure.
export { CrsError, jsTransformToWgs84, parseCrs, wktTransformToWgs84, type CrsSpec, type PointTransform } from './crs.js';
export { checkGeometry, GeometryProblem, parseGeoJsonText, REASONS, type Geometry } from './import/geojson.js';
