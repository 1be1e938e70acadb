export type { Progress } from './progress.js';
export { generate, PRESETS, type GenerateOptions, type GenerateResult, type Preset } from './generate/index.js';
export { importGeoJson, LAYERS, type ImportOptions, type ImportResult, type Layer } from './import/index.js';
export { rebuildRoadNetwork } from './roads/noding.js';
