/**
 * Loading a draft's grids from a file (POST /api/planner/drafts/{id}/import, issue 13): a GeoJSON
 * in WGS 84 round-trips to 1e-9° and becomes one `setGrids` edit on the undo stack (the redo stack
 * emptied, the revision moved on, audited); the same grids in GCJ-02 (the crs field) and in
 * CGCS2000 3° Gauss–Krüger (EPSG:4549, the GeoJSON's crs member, made by ogr2ogr) and a zipped
 * Shapefile written by ogr2ogr (EPSG:4549 .prj, GBK attributes) land within 0.5 m of the originals —
 * the test input is converted by gcoord and GDAL, never by the server's own functions. Every refusal
 * answers its code and leaves the draft as it was; access is PUT's (404 out of the area, 403 for a
 * grid-scoped planner), a stale expectedRevision is 409.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import gcoord from 'gcoord';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, COMMUNITY1, COMMUNITY2, session, setupEnv, type Env, type Session } from '../incidents/support.js';
import { tempDir } from '../support/database.js';

const run = promisify(execFile);
/** With REQUIRE_E2E=1 (CI) a missing ogr2ogr is a failure, not a skip. */
const REQUIRED = process.env.REQUIRE_E2E === '1';
const OGR2OGR = (process.env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, 'ogr2ogr')).find((p) => fs.existsSync(p));
const NO_GDAL = !OGR2OGR && !REQUIRED;
if (NO_GDAL) console.warn('[planner import] the EPSG:4549 and Shapefile cases are skipped: ogr2ogr not found on PATH (install gdal-bin); REQUIRE_E2E=1 makes this a failure');

let env: Env;
let planner: Session;
let gridPlanner: Session; // a planner scoped to one grid: reads the plan only
let elsewhere: Session; // a planner of the second community
let viewer: Session;
let work: string;

beforeAll(async () => {
  env = await setupEnv();
  planner = await session(env, 'planner', COMMUNITY1);
  gridPlanner = await session(env, 'planner', `${COMMUNITY1}001`);
  elsewhere = await session(env, 'planner', COMMUNITY2);
  viewer = await session(env, 'viewer', COMMUNITY1);
  work = tempDir('planner-import');
});
afterAll(async () => {
  await env?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

type Position = [number, number];
type Rings = Position[][];
interface Grid {
  type: 'Feature';
  properties: Record<string, unknown>;
  geometry: { type: 'Polygon'; coordinates: Rings } | { type: 'MultiPolygon'; coordinates: Rings[] };
}
const C = (n: string) => `${COMMUNITY1}${n}`;
const rect = (x0: number, y0: number, x1: number, y1: number): Position[] => [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]];

/**
 * The community redrawn (WGS 84): 001 with a vertex of many decimals on its edge, 003 with a hole, 004 a
 * MultiPolygon of two parts whose code is a number in the file. The draft before holds 001 and 002.
 */
const ORIGINAL: Grid[] = [
  { type: 'Feature', properties: { code: C('001'), name: '第一网格' }, geometry: { type: 'Polygon', coordinates: [[[121.48, 31.23], [121.4812345678912, 31.23], [121.4845, 31.23], [121.4845, 31.24], [121.48, 31.24], [121.48, 31.23]]] } },
  { type: 'Feature', properties: { code: C('003'), name: '第三网格' }, geometry: { type: 'Polygon', coordinates: [rect(121.4845, 31.23, 121.49, 31.236), [[121.486, 31.232], [121.486, 31.233], [121.487, 31.233], [121.487, 31.232], [121.486, 31.232]]] } },
  { type: 'Feature', properties: { code: Number(C('004')), name: '第四网格' }, geometry: { type: 'MultiPolygon', coordinates: [[rect(121.4845, 31.236, 121.4870, 31.24)], [rect(121.4875, 31.236, 121.49, 31.24)]] } },
];
const collection = (features: unknown[], extra: Record<string, unknown> = {}) => ({ type: 'FeatureCollection', ...extra, features });
const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const ringsOf = (g: Grid['geometry']): Rings[] => (g.type === 'Polygon' ? [g.coordinates] : g.coordinates);
const mapGeometry = (g: Grid['geometry'], f: (p: Position) => Position): Grid['geometry'] =>
  g.type === 'Polygon' ? { type: 'Polygon', coordinates: g.coordinates.map((r) => r.map(f)) } : { type: 'MultiPolygon', coordinates: g.coordinates.map((p) => p.map((r) => r.map(f))) };

/** Metres between two WGS 84 positions (local equirectangular: fine at these distances). */
const metres = (a: Position, b: Position) => {
  const k = Math.cos(((a[1] + b[1]) / 2) * Math.PI / 180);
  return Math.hypot((a[0] - b[0]) * 111_320 * k, (a[1] - b[1]) * 110_574);
};

/**
 * Each ring of `expected` is a ring of `actual` within `tol` metres, vertex by vertex as a set (a
 * Shapefile turns rings the other way round), and the two have as many rings and vertices.
 */
function expectSameShape(actual: Grid['geometry'], expected: Grid['geometry'], tol: number) {
  const a = ringsOf(actual).flat();
  const e = ringsOf(expected).flat();
  expect(a.map((r) => r.length).sort()).toEqual(e.map((r) => r.length).sort());
  for (const ring of e) {
    const match = a.find((r) => r.length === ring.length && ring.every((p) => r.some((q) => metres(p, q) <= tol)) && r.every((q) => ring.some((p) => metres(p, q) <= tol)));
    expect(match, `a ring of ${JSON.stringify(ring)} within ${tol} m in ${JSON.stringify(actual)}`).toBeDefined();
  }
}

/** A multipart/form-data body (built by the platform's FormData) and its Content-Type. */
async function form(fields: Record<string, string | { bytes: Buffer; filename: string }>) {
  const fd = new FormData();
  for (const [name, v] of Object.entries(fields)) {
    if (typeof v === 'string') fd.append(name, v);
    else fd.append(name, new Blob([new Uint8Array(v.bytes)]), v.filename);
  }
  const request = new Request('http://localhost/', { method: 'POST', body: fd });
  return { payload: Buffer.from(await request.arrayBuffer()), contentType: request.headers.get('content-type')! };
}

async function importInto(id: string, fields: Parameters<typeof form>[0], cookie = planner.cookie) {
  const { payload, contentType } = await form(fields);
  return call(env, 'POST', `/api/planner/drafts/${id}/import`, { cookie, body: payload, headers: { 'content-type': contentType } });
}
const file = (bytes: Buffer, filename = 'grids.geojson') => ({ bytes, filename });

/** A new draft of community 1 (its grids in force: 001 and 002). */
async function newDraft() {
  const res = await call(env, 'POST', '/api/planner/drafts', { cookie: planner.cookie, body: { communityCode: COMMUNITY1 } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; revision: number; grids: { features: Grid[] }; history: { undo: unknown[]; redo: unknown[] } };
}
const readDraft = async (id: string) => (await call(env, 'GET', `/api/planner/drafts/${id}`, { cookie: planner.cookie })).json();

/** A zip of the files (deflated), written here with zlib: no zip tool or library needed. */
function zip(files: { name: string; data: Buffer }[]): Buffer {
  const local: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const f of files) {
    const name = Buffer.from(f.name);
    const body = zlib.deflateRawSync(f.data);
    const crc = zlib.crc32(f.data);
    const head = Buffer.alloc(30);
    head.writeUInt32LE(0x04034b50, 0); head.writeUInt16LE(20, 4); head.writeUInt16LE(0x0800, 6); head.writeUInt16LE(8, 8);
    head.writeUInt32LE(crc, 14); head.writeUInt32LE(body.length, 18); head.writeUInt32LE(f.data.length, 22); head.writeUInt16LE(name.length, 26);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0); dir.writeUInt16LE(20, 4); dir.writeUInt16LE(20, 6); dir.writeUInt16LE(0x0800, 8); dir.writeUInt16LE(8, 10);
    dir.writeUInt32LE(crc, 16); dir.writeUInt32LE(body.length, 20); dir.writeUInt32LE(f.data.length, 24); dir.writeUInt16LE(name.length, 28);
    dir.writeUInt32LE(offset, 42);
    local.push(head, name, body);
    central.push(dir, name);
    offset += head.length + name.length + body.length;
  }
  const size = central.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(files.length, 8); end.writeUInt16LE(files.length, 10); end.writeUInt32LE(size, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...local, ...central, end]);
}

/** ogr2ogr from a WGS 84 GeoJSON of `features` to `format` in EPSG:4549 (with `options`): the files it wrote. */
async function ogr(features: Grid[], format: 'GeoJSON' | 'ESRI Shapefile', options: string[] = []): Promise<string> {
  const dir = fs.mkdtempSync(path.join(work, 'ogr-'));
  const input = path.join(dir, 'input.geojson');
  fs.writeFileSync(input, JSON.stringify(collection(features)));
  const output = path.join(dir, format === 'GeoJSON' ? 'grids.geojson' : 'shp');
  await run(OGR2OGR!, ['-f', format, ...options, output, input, '-nln', 'grids']);
  return output;
}

/** The draft's revision, grids and history, which a refused import must leave as they were. */
async function expectUnchanged(id: string, before: { revision: number; grids: unknown; history: unknown }) {
  const now = await readDraft(id);
  expect({ revision: now.revision, grids: now.grids, history: now.history }).toEqual({ revision: before.revision, grids: before.grids, history: before.history });
}

describe('import into a draft', () => {
  it('a GeoJSON in WGS 84: the draft\'s grids are the file\'s (9 decimals, file order, {code, name}), one setGrids edit with what it drops, redo emptied, revision + 1, audited', async () => {
    const d = await newDraft();
    // A saved history first: the import is appended to its undo stack, and its redo stack goes.
    const history = { undo: [{ kind: 'rename', code: C('001'), name: '改名' }], redo: [{ kind: 'rename', code: C('002'), name: '重做' }] };
    const saved = await call(env, 'PUT', `/api/planner/drafts/${d.id}`, { cookie: planner.cookie, body: { expectedRevision: 1, grids: d.grids, history } });
    expect(saved.statusCode, saved.body).toBe(200);

    const withExtras = ORIGINAL.map((f, i) => ({ ...f, id: `f${i}`, properties: { ...f.properties, 面积: 123, note: null } }));
    const res = await importInto(d.id, { file: file(json(collection(withExtras))), expectedRevision: '2' });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.imported).toEqual({ format: 'geojson', crs: 'EPSG:4326', grids: 3 });
    expect(body.draft).toMatchObject({ id: d.id, communityCode: COMMUNITY1, revision: 3, baseVersion: 0 });
    const features: Grid[] = body.draft.grids.features;
    expect(body.draft.grids.type).toBe('FeatureCollection');
    expect(features.map((f) => f.properties)).toEqual([
      { code: C('001'), name: '第一网格' }, { code: C('003'), name: '第三网格' }, { code: C('004'), name: '第四网格' },
    ]);
    features.forEach((f, i) => {
      expect(f.geometry.type).toBe(ORIGINAL[i].geometry.type);
      const got = ringsOf(f.geometry).flat(2);
      const want = ringsOf(ORIGINAL[i].geometry).flat(2);
      expect(got.length).toBe(want.length);
      got.forEach((p, k) => {
        expect(Math.abs(p[0] - want[k][0])).toBeLessThanOrEqual(1e-9);
        expect(Math.abs(p[1] - want[k][1])).toBeLessThanOrEqual(1e-9);
        // 9 decimals at most.
        expect(Math.abs(p[0] * 1e9 - Math.round(p[0] * 1e9))).toBeLessThan(1e-3);
      });
    });
    expect(features[0].geometry.coordinates[0][1]).toEqual([121.481234568, 31.23]);
    // The history: the saved undo, then the import; redo gone.
    expect(body.draft.history.redo).toEqual([]);
    expect(body.draft.history.undo).toEqual([...history.undo, { kind: 'setGrids', grids: features, remove: [C('002')] }]);
    expect(await readDraft(d.id)).toEqual(body.draft);
    // Audited with the format, the CRS and the count.
    const audit = await env.db.pool.query(`SELECT actor_id::text AS actor, after FROM audit_log WHERE action = 'grid.plan.draft_import' AND entity_id = $1`, [d.id]);
    expect(audit.rows).toHaveLength(1);
    expect(audit.rows[0]).toMatchObject({ actor: planner.id, after: { format: 'geojson', crs: 'EPSG:4326', grids: 3, revision: 3, removed: [C('002')] } });
    // What the client then sends (validate, save) is accepted by the plan schema.
    const validated = await call(env, 'POST', '/api/planner/validate', { cookie: planner.cookie, body: { communityCode: COMMUNITY1, grids: body.draft.grids } });
    expect(validated.statusCode, validated.body).toBe(200);
    const resaved = await call(env, 'PUT', `/api/planner/drafts/${d.id}`, { cookie: planner.cookie, body: { expectedRevision: 3, grids: body.draft.grids, history: body.draft.history } });
    expect(resaved.statusCode, resaved.body).toBe(200);
  });

  it('a single Feature; codes and names from other properties (the usual names, or named); a code not of the community is an issue, not a refusal', async () => {
    const d = await newDraft();
    const one = { type: 'Feature', properties: { WGBM: Number(C('001')), WGMC: ' 一号网格 ' }, geometry: ORIGINAL[0].geometry };
    const res = await importInto(d.id, { file: file(json(one), 'one.json') });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().draft.grids.features.map((f: Grid) => f.properties)).toEqual([{ code: C('001'), name: '一号网格' }]);
    expect(res.json().draft.history.undo.at(-1).remove).toEqual([C('002')]);

    const named = collection([{ ...ORIGINAL[0], properties: { bh: '12345', mc: '外码', code: 'ignored', name: 'ignored' } }]);
    const recoded = await importInto(d.id, { file: file(json(named)), codeField: 'bh', nameField: 'mc' });
    expect(recoded.statusCode, recoded.body).toBe(200);
    expect(recoded.json().draft.grids.features[0].properties).toEqual({ code: '12345', name: '外码' });
    // The codes the draft had that the file has not: 001 (the draft before held only 001).
    expect(recoded.json().draft.history.undo.at(-1).remove).toEqual([C('001')]);
    const issues = (await call(env, 'POST', '/api/planner/validate', { cookie: planner.cookie, body: { communityCode: COMMUNITY1, grids: recoded.json().draft.grids } })).json().issues;
    expect(issues.map((i: { kind: string }) => i.kind)).toContain('bad_code');
  });

  it('a large file (two grids of 45,000 vertices, a few MB: over the JSON body limit) goes through whole', async () => {
    const d = await newDraft();
    const n = 45_000;
    const grid = (code: string, x0: number, x1: number) => {
      const edge = Array.from({ length: n - 4 }, (_, i): Position => [x0 + (i / (n - 4)) * (x1 - x0), 31.23]);
      const ring: Position[] = [...edge, [x1, 31.23], [x1, 31.24], [x0, 31.24], [x0, 31.23]];
      return { type: 'Feature', properties: { code: C(code), name: '大' }, geometry: { type: 'Polygon', coordinates: [ring] } };
    };
    const bytes = json(collection([grid('001', 121.48, 121.485), grid('002', 121.485, 121.49)]));
    expect(bytes.length).toBeGreaterThan(2_000_000);
    const res = await importInto(d.id, { file: file(bytes) });
    expect(res.statusCode, res.body.slice(0, 300)).toBe(200);
    expect(res.json().draft.grids.features.map((f: Grid) => ringsOf(f.geometry)[0][0].length)).toEqual([n, n]);
  });

  it('the same grids in GCJ-02 (the crs field) land within 0.5 m of the WGS 84 originals', async () => {
    const d = await newDraft();
    const gcj = ORIGINAL.map((f) => ({ ...f, geometry: mapGeometry(f.geometry, (p) => gcoord.transform(p, gcoord.WGS84, gcoord.GCJ02) as Position) }));
    // The shift is hundreds of metres: converting matters.
    expect(metres(ringsOf(gcj[0].geometry)[0][0][0], ringsOf(ORIGINAL[0].geometry)[0][0][0])).toBeGreaterThan(100);
    const res = await importInto(d.id, { file: file(json(collection(gcj))), crs: 'GCJ02' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().imported).toEqual({ format: 'geojson', crs: 'GCJ02', grids: 3 });
    res.json().draft.grids.features.forEach((f: Grid, i: number) => expectSameShape(f.geometry, ORIGINAL[i].geometry, 0.5));
  });

  it.skipIf(NO_GDAL)('CGCS2000 3° Gauss–Krüger (EPSG:4549, the GeoJSON\'s crs member, written by ogr2ogr) lands within 0.5 m', async () => {
    const d = await newDraft();
    const output = await ogr(ORIGINAL, 'GeoJSON', ['-t_srs', 'EPSG:4549']);
    const text = fs.readFileSync(output, 'utf8');
    expect(JSON.parse(text).crs.properties.name).toMatch(/EPSG::?4549/);
    const res = await importInto(d.id, { file: file(Buffer.from(text)) });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().imported).toEqual({ format: 'geojson', crs: 'EPSG:4549', grids: 3 });
    const features: Grid[] = res.json().draft.grids.features;
    expect(features.map((f) => f.properties.code)).toEqual([C('001'), C('003'), C('004')]);
    features.forEach((f, i) => expectSameShape(f.geometry, ORIGINAL[i].geometry, 0.5));
  });

  it.skipIf(NO_GDAL)('a zipped Shapefile from ogr2ogr (EPSG:4549 .prj, GBK attributes): codes, names and grids round-trip; without its .cpg too', async () => {
    const d = await newDraft();
    const dir = await ogr(ORIGINAL, 'ESRI Shapefile', ['-t_srs', 'EPSG:4549', '-lco', 'ENCODING=GBK']);
    const parts = fs.readdirSync(dir).map((name) => ({ name: `grids/${name}`, data: fs.readFileSync(path.join(dir, name)) }));
    expect(parts.map((p) => path.extname(p.name)).sort()).toEqual(['.cpg', '.dbf', '.prj', '.shp', '.shx']);
    // The names really are GBK in the .dbf.
    const dbf = parts.find((p) => p.name.endsWith('.dbf'))!.data;
    expect(dbf.includes(Buffer.from('第一网格'))).toBe(false);
    expect(dbf.includes(Buffer.from([0xb5, 0xda, 0xd2, 0xbb]))).toBe(true); // 第一 in GBK

    const check = (res: Awaited<ReturnType<typeof importInto>>, revision: number) => {
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().imported).toEqual({ format: 'shapefile', crs: 'CGCS2000_3_Degree_GK_CM_120E', grids: 3 });
      const features: Grid[] = res.json().draft.grids.features;
      expect(res.json().draft.revision).toBe(revision);
      expect(features.map((f) => f.properties)).toEqual([
        { code: C('001'), name: '第一网格' }, { code: C('003'), name: '第三网格' }, { code: C('004'), name: '第四网格' },
      ]);
      features.forEach((f, i) => {
        expect(f.geometry.type).toBe(ORIGINAL[i].geometry.type);
        expectSameShape(f.geometry, ORIGINAL[i].geometry, 0.5);
      });
    };
    // Named .bin and sent as octet-stream: the content decides, not the name.
    check(await importInto(d.id, { file: file(zip(parts), 'upload.bin') }), 2);
    // Without the .cpg the records are not UTF-8: read as GBK.
    check(await importInto(d.id, { file: file(zip(parts.filter((p) => !p.name.endsWith('.cpg'))), 'grids.zip') }), 3);
  });

  it.skipIf(NO_GDAL)('a GCJ-02 Shapefile (its .prj says WGS 84, or it has none) with crs=GCJ02: the crs field wins over the .prj', async () => {
    const d = await newDraft();
    const gcj = ORIGINAL.map((f) => ({ ...f, geometry: mapGeometry(f.geometry, (p) => gcoord.transform(p, gcoord.WGS84, gcoord.GCJ02) as Position) }));
    const dir = await ogr(gcj, 'ESRI Shapefile', ['-lco', 'ENCODING=UTF-8']);
    const parts = fs.readdirSync(dir).map((name) => ({ name, data: fs.readFileSync(path.join(dir, name)) }));
    expect(parts.some((p) => p.name.endsWith('.prj'))).toBe(true);
    for (const files of [parts, parts.filter((p) => !p.name.endsWith('.prj'))]) {
      const res = await importInto(d.id, { file: file(zip(files), 'grids.zip'), crs: 'gcj-02' });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().imported).toMatchObject({ format: 'shapefile', crs: 'GCJ02' });
      res.json().draft.grids.features.forEach((f: Grid, i: number) => expectSameShape(f.geometry, ORIGINAL[i].geometry, 0.5));
    }
  });
});

describe('refusals: each with its code, the draft left as it was', () => {
  const good = () => json(collection(ORIGINAL));
  const feature = (geometry: unknown, properties: Record<string, unknown> = { code: C('009'), name: '坏' }) => ({ type: 'Feature', properties, geometry });

  it('not multipart, no file, an unknown field, too large, not readable, an unknown CRS', async () => {
    const d = await newDraft();
    const url = `/api/planner/drafts/${d.id}/import`;
    const cases: [string, () => Promise<Awaited<ReturnType<typeof call>>>, number, string, Record<string, unknown>?][] = [
      ['JSON', () => call(env, 'POST', url, { cookie: planner.cookie, body: collection(ORIGINAL) }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['a raw zip body', () => call(env, 'POST', url, { cookie: planner.cookie, body: zip([{ name: 'a.shp', data: Buffer.alloc(100) }]), headers: { 'content-type': 'application/zip' } }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['no body', () => call(env, 'POST', url, { cookie: planner.cookie }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['no file', () => importInto(d.id, { crs: 'WGS84' }), 400, 'INVALID_PARAMETER', { parameter: 'file' }],
      ['a file in another part', () => importInto(d.id, { upload: file(good()) }), 400, 'INVALID_PARAMETER', { parameter: 'upload' }],
      ['an unknown field', () => importInto(d.id, { file: file(good()), srs: 'WGS84' }), 400, 'INVALID_PARAMETER', { parameter: 'srs' }],
      ['two files', () => call(env, 'POST', url, { cookie: planner.cookie, ...twoFiles() }), 400, 'INVALID_PARAMETER', { parameter: 'file' }],
      ['a bad expectedRevision', () => importInto(d.id, { file: file(good()), expectedRevision: 'one' }), 400, 'INVALID_PARAMETER', { parameter: 'expectedRevision' }],
      ['20 MB and a byte', () => importInto(d.id, { file: file(Buffer.alloc(20 * 1024 * 1024 + 1, 0x20)) }), 413, 'PAYLOAD_TOO_LARGE'],
      ['21 MB declared', () => importInto(d.id, { file: file(Buffer.alloc(21 * 1024 * 1024, 0x20)) }), 413, 'PAYLOAD_TOO_LARGE'],
      ['bad JSON', () => importInto(d.id, { file: file(Buffer.from('{"type": "FeatureCollection", "features": [')) }), 400, 'INVALID_FILE'],
      ['JSON that is not GeoJSON', () => importInto(d.id, { file: file(json({ type: 'Topology', objects: {} })) }), 400, 'INVALID_FILE'],
      ['neither zip nor JSON', () => importInto(d.id, { file: file(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3]), 'grids.zip') }), 400, 'INVALID_FILE'],
      // A short file starting with "P" and without a zip's end record once sent the unzipper into an endless search.
      ['a broken zip', () => importInto(d.id, { file: file(Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(200, 7)]), 'grids.zip') }), 400, 'INVALID_FILE', { detail: expect.stringMatching(/end of central directory/) }],
      ['a zip without a .shp', () => importInto(d.id, { file: file(zip([{ name: 'grids.geojson', data: good() }, { name: 'readme.txt', data: Buffer.from('网格') }]), 'grids.zip') }), 400, 'INVALID_FILE', { detail: expect.stringMatching(/no \.shp/) }],
      ['a zip of a .shp without its .dbf', () => importInto(d.id, { file: file(zip([{ name: 'grids.shp', data: Buffer.alloc(100) }]), 'grids.zip') }), 400, 'INVALID_FILE', { detail: expect.stringMatching(/no grids\.dbf/) }],
      ['a zip whose .shp inflates past 64 MB', () => importInto(d.id, { file: file(zip([{ name: 'grids.shp', data: Buffer.alloc(65 * 1024 * 1024) }, { name: 'grids.dbf', data: Buffer.alloc(100) }]), 'grids.zip') }), 413, 'PAYLOAD_TOO_LARGE', { detail: expect.stringMatching(/inflate/) }],
      // A .shp header, then empty records: hundreds of thousands of them, refused before shpjs builds them.
      ['a Shapefile of 400,000 records', () => importInto(d.id, { file: file(zip([{ name: 'grids.shp', data: shpOfEmptyRecords(400_000) }, { name: 'grids.dbf', data: dbfHeader(400_000) }]), 'grids.zip') }), 413, 'PAYLOAD_TOO_LARGE', { detail: expect.stringMatching(/records/) }],
      ['a .dbf cut short', () => importInto(d.id, { file: file(zip([{ name: 'grids.shp', data: shpOfEmptyRecords(1) }, { name: 'grids.dbf', data: dbfHeader(5) }]), 'grids.zip') }), 400, 'INVALID_FILE', { detail: expect.stringMatching(/cut short/) }],
      ['an unknown crs', () => importInto(d.id, { file: file(good()), crs: 'Beijing1954' }), 400, 'INVALID_PARAMETER', { parameter: 'crs' }],
      ['a crs that cannot be converted', () => importInto(d.id, { file: file(good()), crs: 'EPSG:999999' }), 400, 'INVALID_PARAMETER', { parameter: 'crs' }],
      ['an unknown crs member', () => importInto(d.id, { file: file(json(collection(ORIGINAL, { crs: { type: 'name', properties: { name: 'urn:x:made-up' } } }))) }), 400, 'INVALID_PARAMETER', { parameter: 'crs' }],
    ];
    for (const [what, send, status, code, extra] of cases) {
      const res = await send();
      expect(res.statusCode, `${what}: ${res.body}`).toBe(status);
      expect(res.headers['content-type'], what).toMatch(/^application\/problem\+json/);
      expect(res.json(), what).toMatchObject({ status, code, ...(extra ?? {}) });
    }
    await expectUnchanged(d.id, d);
    expect((await env.db.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'grid.plan.draft_import' AND entity_id = $1`, [d.id])).rows[0].n).toBe(0);
  });

  it('a feature that is not a polygon, has a non-finite or out-of-range coordinate, or an unclosed ring: 400 INVALID_GEOMETRY naming it', async () => {
    const d = await newDraft();
    const ok = ORIGINAL[0];
    const geometryCases: [string, Buffer][] = [
      ['a LineString', json(collection([ok, feature({ type: 'LineString', coordinates: [[121.48, 31.23], [121.49, 31.24]] })]))],
      ['no geometry', json(collection([ok, feature(null)]))],
      ['NaN', Buffer.from(JSON.stringify(collection([ok, feature({ type: 'Polygon', coordinates: [rect(121.48, 31.23, 121.49, 31.24)] })])).replace('121.49,31.23', 'NaN,31.23'))],
      ['an unclosed ring', json(collection([ok, feature({ type: 'Polygon', coordinates: [rect(121.48, 31.23, 121.49, 31.24).slice(0, 4)] })]))],
      ['out of range', json(collection([ok, feature({ type: 'Polygon', coordinates: [rect(121.48, 31.23, 181, 31.24)] })]))],
      // Gauss–Krüger metres read as WGS 84 (no crs): out of range after "conversion".
      ['metres as degrees', json(collection([ok, feature({ type: 'Polygon', coordinates: [rect(641013, 3457419, 641489, 3458534)] })]))],
      // A point outside the Gauss–Krüger zone's domain does not convert.
      ['outside the projection', json(collection([feature({ type: 'Polygon', coordinates: [rect(641013, 3457419, 641489, 3458534)] }, { code: C('008'), name: '米' }), feature({ type: 'Polygon', coordinates: [rect(1e12, 1e12, 1e12 + 1, 1e12 + 1)] })], { crs: { type: 'name', properties: { name: 'EPSG:4549' } } }))],
    ];
    for (const [what, bytes] of geometryCases) {
      const res = await importInto(d.id, { file: file(bytes) });
      expect(res.statusCode, `${what}: ${res.body}`).toBe(400);
      expect(res.json(), what).toMatchObject({ code: 'INVALID_GEOMETRY', feature: 1 });
      expect(res.json().detail, what).toMatch(/^feature 1/);
    }
    await expectUnchanged(d.id, d);
  });

  it('a missing or empty code or name, a duplicate code: 400 INVALID_PARAMETER naming the feature and field; too many grids or vertices: 413', async () => {
    const d = await newDraft();
    const g = ORIGINAL[0].geometry;
    const cases: [string, Buffer, Record<string, string>, number, string, Record<string, unknown>][] = [
      ['no code', json(collection([ORIGINAL[0], feature(g, { name: '无码' })])), {}, 400, 'INVALID_PARAMETER', { feature: 1, field: 'code' }],
      ['an empty name', json(collection([ORIGINAL[0], feature(g, { code: C('009'), name: '  ' })])), {}, 400, 'INVALID_PARAMETER', { feature: 1, field: 'name' }],
      ['a named field that is not there', json(collection([ORIGINAL[0]])), { codeField: 'bh' }, 400, 'INVALID_PARAMETER', { feature: 0, field: 'code', property: 'bh' }],
      ['no name property at all', json(collection([feature(g, { code: C('009'), 名字: '甲' })])), {}, 400, 'INVALID_PARAMETER', { feature: 0, field: 'name' }],
      ['a duplicate code', json(collection([ORIGINAL[0], ORIGINAL[1], { ...ORIGINAL[2], properties: { code: C('001'), name: '重复' } }])), {}, 400, 'INVALID_PARAMETER', { feature: 2, field: 'code', duplicateOf: 0 }],
      ['301 grids (features)', json(collection(Array.from({ length: 301 }, (_, i) => feature({ type: 'Polygon', coordinates: [rect(121.48 + i * 1e-5, 31.23, 121.48 + (i + 1) * 1e-5, 31.24)] }, { code: `${COMMUNITY1}${String(i).padStart(3, '0')}`, name: `网格${i}` })))), {}, 413, 'PAYLOAD_TOO_LARGE', {}],
      ['200,001 vertices (vertices)', json(collection([feature({ type: 'Polygon', coordinates: [[...Array.from({ length: 200_000 }, (_, i) => [121.48 + (i / 200_000) * 0.01, 31.23 + ((i % 2) * 1e-6)]), [121.48, 31.23]]] })])), {}, 413, 'PAYLOAD_TOO_LARGE', {}],
    ];
    for (const [what, bytes, fields, status, code, extra] of cases) {
      const res = await importInto(d.id, { file: file(bytes), ...fields });
      expect(res.statusCode, `${what}: ${res.body}`).toBe(status);
      expect(res.json(), what).toMatchObject({ code, ...extra });
      const about = /\((\w+)\)$/.exec(what)?.[1];
      if (about) expect(res.json().detail, what).toContain(about);
    }
    await expectUnchanged(d.id, d);
  });

  it('access as PUT: out of the area 404, a grid-scoped planner 403, a viewer 403, an unknown draft 404; a stale expectedRevision 409 with the revision', async () => {
    const d = await newDraft();
    const bytes = good();
    expect((await importInto(d.id, { file: file(bytes) }, elsewhere.cookie)).json()).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    expect((await importInto(d.id, { file: file(bytes) }, gridPlanner.cookie)).json()).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    expect((await importInto(d.id, { file: file(bytes) }, viewer.cookie)).json()).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    expect((await importInto('00000000-0000-4000-8000-000000000000', { file: file(bytes) })).json()).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    expect((await importInto('not-a-uuid', { file: file(bytes) })).statusCode).toBe(404);
    // Out of the area with a broken file: still 404 (access is checked before the file is read).
    expect((await importInto(d.id, { file: file(Buffer.from('{')) }, elsewhere.cookie)).statusCode).toBe(404);
    const stale = await importInto(d.id, { file: file(bytes), expectedRevision: '7' });
    expect(stale.statusCode, stale.body).toBe(409);
    expect(stale.json()).toMatchObject({ code: 'VERSION_CONFLICT', revision: 1 });
    await expectUnchanged(d.id, d);
    // The right revision goes through.
    expect((await importInto(d.id, { file: file(bytes), expectedRevision: '1' })).json().draft.revision).toBe(2);
  });

  it('the undo stack keeps the newest 500 edits', async () => {
    const d = await newDraft();
    const undo = Array.from({ length: 500 }, (_, i) => ({ kind: 'rename', code: C('001'), name: `名${i}` }));
    const saved = await call(env, 'PUT', `/api/planner/drafts/${d.id}`, { cookie: planner.cookie, body: { expectedRevision: 1, grids: d.grids, history: { undo, redo: [] } } });
    expect(saved.statusCode, saved.body).toBe(200);
    const res = await importInto(d.id, { file: file(good()) });
    expect(res.statusCode, res.body).toBe(200);
    const kept = res.json().draft.history.undo;
    expect(kept).toHaveLength(500);
    expect(kept[0]).toEqual(undo[1]);
    expect(kept.at(-1)).toMatchObject({ kind: 'setGrids', remove: [C('002')] });
  });
});

/** A polygon .shp (file code 9994, type 5) of `n` records of no content (length 0). */
function shpOfEmptyRecords(n: number): Buffer {
  const b = Buffer.alloc(100 + 8 * n);
  b.writeInt32BE(9994, 0);
  b.writeInt32BE(b.length / 2, 24);
  b.writeInt32LE(1000, 28);
  b.writeInt32LE(5, 32);
  for (let i = 0; i < n; i++) b.writeInt32BE(i + 1, 100 + 8 * i);
  return b;
}

/** A dBASE header announcing `records` records of one 10-byte field, and no records. */
function dbfHeader(records: number): Buffer {
  const b = Buffer.alloc(65);
  b[0] = 3;
  b.writeUInt32LE(records, 4);
  b.writeUInt16LE(65, 8);
  b.writeUInt16LE(11, 10);
  b.write('code', 32, 'latin1');
  b[43] = 0x43; // C
  b[48] = 10;
  b[64] = 0x0d;
  return b;
}

/** A form with two files (built by hand: the platform's FormData would send both). */
function twoFiles() {
  const boundary = '----wangge-two-files';
  const part = (name: string) => `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(collection(ORIGINAL))}\r\n`;
  return { body: Buffer.from(`${part('a.geojson')}${part('b.geojson')}--${boundary}--\r\n`), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}
