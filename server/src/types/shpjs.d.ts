/**
 * The parts of shpjs 6 (which ships no types; @types/shpjs describes version 3) that the planner's
 * import uses: the shapes of a .shp and the records of a .dbf, read apart (planner.import.ts unzips
 * and reads the .prj itself).
 */
declare module 'shpjs' {
  type Bytes = ArrayBuffer | ArrayBufferView;
  /** GeoJSON geometries, one per record (null for a null shape); reprojected to WGS84 when `prj` is a readable WKT. */
  export function parseShp(shp: Bytes, prj?: string): (Record<string, unknown> | null)[];
  /** The records' attributes; `cpg` names the text encoding (a .cpg's content), default UTF-8. */
  export function parseDbf(dbf: Bytes, cpg?: string): Record<string, unknown>[];
  /** Shapes and records as a FeatureCollection (records by position). */
  export function combine(parts: [(Record<string, unknown> | null)[], Record<string, unknown>[]?]): {
    type: 'FeatureCollection';
    features: { type: 'Feature'; geometry: Record<string, unknown> | null; properties: Record<string, unknown> }[];
  };
}
