/**
 * `BENCH_BASELINE_DIR=/path/to/old/checkout pnpm bench`: the API of this checkout ("new") and the
 * API of another checkout ("old", e.g. the commit before a change) run at the same time as two
 * processes on ONE benchmark database, and every HTTP benchmark alternates between them in the
 * same run (request by request, or round by round in the order new-old, old-new, …), so that the
 * noise of a shared machine falls on both alike. Each figure is printed as new, old and new/old
 * with a 95 % interval from a paired bootstrap (requests, or rounds, resampled): a figure more
 * than 10 % worse on the new side is flagged (latency p50: new/old > 1.10; throughput: new/old <
 * 0.90), and the flag says whether the whole interval is past 10 % or only the point estimate.
 * Run it with BENCH_NEW_DIR at a second clone of the old commit (A/A) to see the noise floor.
 *
 * Figures: tiles one at a time (cold, then cached: p50 latency) and with 8 in flight, cold (disjoint
 * tile sets per round) and warm; collection items (buildings bbox,
 * incidents, grids); incident list, stats and detail; candidates k=5 without and with routes;
 * the responder list and a grid worker's batch of 10 positions; intake under load (autocannon).
 * Both APIs get WARM_ROUTING_GRAPH=false (the first candidates request builds the graph; shown as
 * info), SEED_DEMO/DEMO_SIMULATE=false, LOG_LEVEL=warn, no web build. The new side starts first,
 * so its pending migrations are applied before the old side starts, and both run on that schema.
 * Each figure is bounded (steps, rounds, FIGURE_BUDGET_MS); a whole run takes ~3–6 minutes.
 *
 * Nothing here imports this checkout's server code: the database (schema, city preset) and the
 * bench accounts are set up with the OLD checkout's code, which is known to work, and the new
 * side is only reached over HTTP. So a half-refactored server/src still yields the old figures,
 * and the new side's failure (no start, sign-in refused, errors) is reported in its column.
 *
 * Environment: BENCH_BASELINE_DIR (the old checkout, dependencies installed), BENCH_NEW_DIR (the
 * new side; default this checkout, set it to a second clone of the old commit for an A/A run
 * that shows the noise floor), BENCH_DATABASE_URL, BENCH_ONLY (tiles, collections, incidents,
 * candidates, responders, intake).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { ensureDatabase } from './database.js';
import { fmt, median, percentile, printTable, type Row } from './stats.js';

export const SIDE_BY_SIDE_BENCHES = ['tiles', 'collections', 'incidents', 'candidates', 'responders', 'intake'] as const;

/** A figure more than this much worse on the new side is flagged. */
const WORSE = 0.1;
/** Every request of the harness gives up after this long (a hung side must not hang the run). */
const REQUEST_TIMEOUT_MS = 20_000;
/** A side that has not answered this many requests in a row is taken out of the run. */
const NO_ANSWER_LIMIT = 5;
const READY_TIMEOUT_MS = 180_000;

const repoRoot = path.resolve(import.meta.dirname, '..', '..');

// ---------------------------------------------------------------------------------------------
// The two API processes

interface Api {
  base: string;
  /** Where the process's output is written when it stops. */
  logFile: string;
  startMs: number;
  log: () => string;
  exited: () => boolean;
  stop(): Promise<void>;
}

/** Starts `server/src/main.ts` of the checkout at `root` (its own tsx and node_modules), as tests/support/server-process.ts does for this one. */
async function startApi(root: string, env: Record<string, string>): Promise<Api> {
  const t0 = performance.now();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wangge-bench-ab-'));
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts'], {
    cwd: root,
    env: {
      ...process.env, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', WEB_DIST: '/nonexistent',
      SEED_DEMO: 'false', DEMO_SIMULATE: 'false', ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  let exited = false;
  const exit = new Promise<void>((r) => child.once('exit', () => ((exited = true), r())));
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready after ${READY_TIMEOUT_MS / 1000} s:\n${tail(log)}`)), READY_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      // "[wangge] ready in 1.2 s — open http://localhost:PORT/" (lenient, in case the wording moves)
      const m = /ready\b[^\n]*?https?:\/\/(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1?\]):(\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(`http://127.0.0.1:${m[1]}`);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exit.then(() => {
      clearTimeout(timer);
      reject(new Error(`exited with ${child.exitCode} before it was ready:\n${tail(log)}`));
    });
  }).catch(async (err) => {
    if (!exited) child.kill('SIGKILL');
    throw err;
  });
  const logFile = path.join(dataDir, 'server.log');
  return {
    base,
    logFile,
    startMs: performance.now() - t0,
    log: () => log,
    exited: () => exited,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exit;
        clearTimeout(timer);
      }
      fs.writeFileSync(logFile, log);
    },
  };
}

const tail = (log: string, lines = 25) => log.trimEnd().split('\n').slice(-lines).join('\n');

interface Side {
  name: 'new' | 'old';
  dir: string;
  api?: Api;
  agent: http.Agent;
  /** Admin session. */
  cookie: string;
  /** Grid worker session (positions). */
  workerCookie?: string;
  /** Why this side takes no part (did not start, could not sign in, stopped answering). */
  down?: string;
  /** Requests in a row without an answer (connection refused, timeout). */
  noAnswer: number;
}

// ---------------------------------------------------------------------------------------------
// HTTP

interface Answer {
  status: number;
  ms: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** One request over the side's keep-alive agent; body kept as text (status 0 = no answer). */
function call(side: Side, method: string, urlPath: string, opts: { cookie?: string; body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<Answer> {
  return send(side, method, urlPath, opts).then((a) => {
    side.noAnswer = a.status === 0 ? side.noAnswer + 1 : 0;
    if (side.noAnswer >= NO_ANSWER_LIMIT && !side.down) side.down = `stopped answering (${NO_ANSWER_LIMIT} requests in a row): ${a.body}`;
    return a;
  });
}

function send(side: Side, method: string, urlPath: string, opts: { cookie?: string; body?: unknown; headers?: Record<string, string>; timeoutMs?: number }): Promise<Answer> {
  const timeout = opts.timeoutMs ?? REQUEST_TIMEOUT_MS;
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const headers: Record<string, string> = { 'accept-encoding': 'gzip', cookie: opts.cookie ?? side.cookie, ...opts.headers };
  if (payload !== undefined) headers['content-type'] = 'application/json';
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = http.request(`${side.api!.base}${urlPath}`, { method, agent: side.agent, headers, timeout }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      res.on('error', (err) => resolve({ status: 0, ms: performance.now() - t0, body: String(err), headers: {} }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeout} ms`)));
    req.on('error', (err) => resolve({ status: 0, ms: performance.now() - t0, body: String(err), headers: {} }));
    req.end(payload);
  });
}

const ok = (a: Answer) => a.status >= 200 && a.status < 300;

/** Latencies of one side in one benchmark, and what went wrong. */
class Samples {
  ms: number[] = [];
  requests = 0;
  failures = 0;
  firstFailure?: string;
  /** Tiles (etc.) per second figures: done and the time they took, in all and per round. */
  done = 0;
  elapsedMs = 0;
  rounds: { done: number; ms: number }[] = [];

  add(a: Answer, measured = true) {
    this.requests++;
    if (!ok(a)) this.fail(`HTTP ${a.status || 'error'} ${a.body.replace(/\s+/g, ' ').slice(0, 160)}`);
    else if (measured) this.ms.push(a.ms);
  }

  fail(why: string) {
    this.failures++;
    this.firstFailure ??= why;
  }
}

type PerSide<T> = Record<'new' | 'old', T>;
const perSide = <T>(make: () => T): PerSide<T> => ({ new: make(), old: make() });

/** Per-side samples of one figure, and the pairs [new ms, old ms] measured back to back (same request). */
type Paired = PerSide<Samples> & { pairs: [number, number][] };

interface Ratio { mid: number; lo: number; hi: number }

/**
 * `stat` over all `n` pairs, and its 95 % interval by a paired bootstrap (pairs resampled with
 * replacement, 2,000 times, fixed seed): how far this run's noise alone could move the ratio.
 */
function bootstrap(n: number, stat: (idx: number[]) => number): Ratio {
  const all = Array.from({ length: n }, (_, i) => i);
  const mid = stat(all);
  if (n < 3) return { mid, lo: NaN, hi: NaN };
  let seed = 0x9e3779b9;
  const random = () => {
    // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const stats: number[] = [];
  for (let b = 0; b < 2000; b++) stats.push(stat(all.map(() => Math.floor(random() * n))));
  return { mid, lo: percentile(stats, 2.5), hi: percentile(stats, 97.5) };
}

/** new p50 / old p50 over pairs of latencies. */
const medianRatio = (pairs: [number, number][]) =>
  bootstrap(pairs.length, (idx) => median(idx.map((i) => pairs[i][0])) / median(idx.map((i) => pairs[i][1])));

/** The sides taking part, in alternating order: new-old on even steps, old-new on odd ones. */
function order(sides: Side[], step: number): Side[] {
  const up = sides.filter((s) => !s.down);
  return step % 2 === 0 ? up : [...up].reverse();
}

// ---------------------------------------------------------------------------------------------
// Figures

interface Figure {
  what: string;
  /** `latency`: lower is better; `rate`: higher is better; `info`: one sample, not judged. */
  kind: 'latency' | 'rate' | 'info';
  value: PerSide<number>;
  detail: PerSide<string>;
  samples?: PerSide<Samples>;
  /** new/old with its bootstrap interval (else value.new / value.old without one). */
  ratio?: Ratio;
  note?: string;
}

const verdicts: { what: string; ratio: number; worse: boolean; clearly?: boolean; failed?: string }[] = [];

function row(f: Figure, sides: Side[]): Row {
  const cell = (name: 'new' | 'old') => {
    const side = sides.find((s) => s.name === name)!;
    if (side.down) return 'FAILED (side out of the run, see [bench] lines)';
    const s = f.samples?.[name];
    if (s && s.failures && s.failures === s.requests) return `FAILED: all ${s.requests} requests`;
    const failed = s && s.failures ? ` — ${s.failures}/${s.requests} FAILED` : '';
    return `${f.detail[name]}${failed}`;
  };
  const failures = (['new', 'old'] as const)
    .filter((n) => f.samples?.[n].failures)
    .map((n) => `${n}: ${f.samples![n].firstFailure}`);
  const down = sides.filter((s) => s.down).map((s) => s.name);
  const ratio = f.ratio?.mid ?? f.value.new / f.value.old;
  let flag = '';
  if (down.length || failures.length) {
    flag = `NOT COMPARABLE (${down.length ? `${down.join(', ')} side down` : failures.join('; ')})`;
    verdicts.push({ what: f.what, ratio, worse: false, failed: flag });
  } else if (f.kind !== 'info' && Number.isFinite(ratio)) {
    const worse = f.kind === 'latency' ? ratio > 1 + WORSE : ratio < 1 - WORSE;
    const change = f.kind === 'latency' ? ratio - 1 : 1 - ratio; // > 0: new is worse
    // Past the threshold even at the interval's better end: not this run's noise.
    const clearly = f.ratio && Number.isFinite(f.ratio.lo) ? (f.kind === 'latency' ? f.ratio.lo > 1 + WORSE : f.ratio.hi < 1 - WORSE) : undefined;
    const sure = clearly === false ? ', but the interval reaches back within 10 % (re-run to confirm)' : clearly ? ', the whole interval past 10 %' : '';
    flag = !worse ? 'ok' : `WORSE by ${fmt(100 * change, 1)} % (> ${100 * WORSE} %)${sure}`;
    verdicts.push({ what: f.what, ratio, worse, clearly });
  } else if (f.kind === 'info') {
    flag = 'info only (single sample, not judged)';
  }
  return {
    what: f.what,
    ours: cell('new'),
    baseline: cell('old'),
    ratio: down.length ? '–' : `${fmt(ratio, 2)}${f.ratio && Number.isFinite(f.ratio.lo) ? ` (${fmt(f.ratio.lo, 2)}–${fmt(f.ratio.hi, 2)})` : ''}`,
    note: [flag, f.note].filter(Boolean).join('; '),
  };
}

const HEAD = { what: 'benchmark', ours: 'new', baseline: 'old', ratio: 'new/old (95 % interval)', note: 'verdict; note' };

function table(title: string, figures: Figure[], sides: Side[]) {
  printTable(title, figures.map((f) => row(f, sides)), HEAD);
}

/** p50 figure of per-request latencies; new/old = new p50 / old p50 over the pairs, with its bootstrap interval. */
function latencyFigure(what: string, s: Paired, note?: string): Figure {
  return {
    what,
    kind: 'latency',
    value: { new: median(s.new.ms), old: median(s.old.ms) },
    ratio: s.pairs.length ? medianRatio(s.pairs) : undefined,
    detail: {
      new: `${fmt(median(s.new.ms), 2)} ms (p95 ${fmt(percentile(s.new.ms, 95), 2)}, n ${s.new.ms.length})`,
      old: `${fmt(median(s.old.ms), 2)} ms (p95 ${fmt(percentile(s.old.ms, 95), 2)}, n ${s.old.ms.length})`,
    },
    samples: s,
    note,
  };
}

// ---------------------------------------------------------------------------------------------
// Benchmarks

/** Wall-clock budget of one interleaved figure (both sides): it stops early, with fewer samples, when over. */
const FIGURE_BUDGET_MS = 20_000;

/**
 * Interleaved single requests: per step one request to each side (new first on even steps, old
 * first on odd ones), `warm` unmeasured steps first, at most FIGURE_BUDGET_MS (then at least 10 steps).
 */
async function interleaved(sides: Side[], steps: number, warm: number, send: (side: Side, step: number) => Promise<Answer>): Promise<Paired> {
  const s: Paired = { ...perSide(() => new Samples()), pairs: [] };
  const until = performance.now() + FIGURE_BUDGET_MS;
  for (let step = 0; step < warm + steps; step++) {
    if (step >= warm + 10 && performance.now() > until) break;
    const got: Partial<PerSide<Answer>> = {};
    for (const side of order(sides, step)) s[side.name].add((got[side.name] = await send(side, step)), step >= warm);
    if (step >= warm && got.new && got.old && ok(got.new) && ok(got.old)) s.pairs.push([got.new.ms, got.old.ms]);
  }
  return s;
}

/** A per-second figure from rounds (the same work per round on both sides); new/old of the totals, rounds bootstrapped. */
function rateFigure(what: string, unit: string, s: PerSide<Samples>, extra: PerSide<string>, note?: string): Figure {
  const rate = (x: Samples) => (1000 * x.done) / x.elapsedMs;
  const n = Math.min(s.new.rounds.length, s.old.rounds.length);
  const sum = (rounds: { done: number; ms: number }[], idx: number[]) => idx.reduce((a, i) => a + rounds[i].done, 0) / idx.reduce((a, i) => a + rounds[i].ms, 0);
  return {
    what,
    kind: 'rate',
    value: { new: rate(s.new), old: rate(s.old) },
    detail: { new: `${fmt(rate(s.new))} ${unit}${extra.new}`, old: `${fmt(rate(s.old))} ${unit}${extra.old}` },
    samples: s,
    ratio: n ? { ...bootstrap(n, (idx) => sum(s.new.rounds, idx) / sum(s.old.rounds, idx)), mid: rate(s.new) / rate(s.old) } : undefined,
    note,
  };
}

function tileAt(lon: number, lat: number, z: number) {
  const n = 2 ** z;
  const r = (lat * Math.PI) / 180;
  return { x: Math.floor(((lon + 180) / 360) * n), y: Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n) };
}

const TILE_LAYERS = ['buildings', 'grids', 'roads', 'incidents'];
const TILE_CONCURRENCY = 8;
/** Short rounds, many of them: neighbours in time see the same machine, and the bootstrap has rounds to resample. */
const COLD_ROUNDS = 16;
const COLD_TILES_PER_ZOOM = 48;
const WARM_ROUNDS = 12;
/** Tiles per zoom of the one-at-a-time figures (beyond the cold rounds' COLD_TILES_PER_ZOOM nearest the centre). */
const ONE_AT_A_TIME_PER_ZOOM = 24;

interface Tile { layer: string; z: number; x: number; y: number }

/** Runs `tiles` on one side with TILE_CONCURRENCY in flight. */
async function tileRun(side: Side, tiles: Tile[], into?: Samples): Promise<void> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: TILE_CONCURRENCY }, async () => {
    while (next < tiles.length && !side.down) {
      const t = tiles[next++];
      const a = await call(side, 'GET', `/tiles/${t.layer}/${t.z}/${t.x}/${t.y}`);
      if (into) into.add(a);
    }
  }));
  if (into) {
    into.done += tiles.length;
    into.elapsedMs += performance.now() - t0;
    into.rounds.push({ done: tiles.length, ms: performance.now() - t0 });
  }
}

/**
 * Tiles, cold and warm. Each API has its own in-process tile cache (30 s TTL), so "cold" rounds
 * use disjoint tile sets: the COLD_TILES_PER_ZOOM tiles nearest the centre of the data at each of
 * z12–16 (fewer at z12–13, where the data spans fewer), all layers, dealt round-robin into
 * COLD_ROUNDS sets of like composition; in round r both sides fetch set r (first new then old,
 * then old then new, …). "Warm": a fixed 3×3 block per zoom and layer, fetched once unmeasured and
 * then once measured, per side and round.
 */
async function benchTilesAB(sides: Side[], pool: pg.Pool): Promise<Figure[]> {
  const { rows } = await pool.query<{ x1: number; y1: number; x2: number; y2: number }>(
    'SELECT ST_XMin(e) x1, ST_YMin(e) y1, ST_XMax(e) x2, ST_YMax(e) y2 FROM (SELECT ST_Extent(geom) e FROM grids) s',
  );
  const { x1, y1, x2, y2 } = rows[0];
  const [cx, cy] = [(x1 + x2) / 2, (y1 + y2) / 2];
  const rounds: Tile[][] = Array.from({ length: COLD_ROUNDS }, () => []);
  const warmSet: Tile[] = [];
  const oneSet: Tile[] = [];
  for (let z = 12; z <= 16; z++) {
    const a = tileAt(x1, y2, z);
    const b = tileAt(x2, y1, z);
    const c = tileAt(cx, cy, z);
    const all: { x: number; y: number; d: number }[] = [];
    for (let x = a.x; x <= b.x; x++) for (let y = a.y; y <= b.y; y++) all.push({ x, y, d: (x - c.x) ** 2 + (y - c.y) ** 2 });
    all.sort((p, q) => p.d - q.d || p.x - q.x || p.y - q.y);
    all.slice(0, COLD_TILES_PER_ZOOM).forEach((t, i) => {
      for (const layer of TILE_LAYERS) rounds[i % COLD_ROUNDS].push({ layer, z, x: t.x, y: t.y });
    });
    for (const t of all.slice(COLD_TILES_PER_ZOOM, COLD_TILES_PER_ZOOM + ONE_AT_A_TIME_PER_ZOOM)) for (const layer of TILE_LAYERS) oneSet.push({ layer, z, x: t.x, y: t.y });
    for (const layer of TILE_LAYERS) for (let dx = -1; dx <= 1; dx++) for (let dy = -1; dy <= 1; dy++) warmSet.push({ layer, z, x: c.x + dx, y: c.y + dy });
  }
  // Connections and plans on both sides, on tiles of neither set (z11).
  const c11 = tileAt(cx, cy, 11);
  for (const side of order(sides, 0)) await tileRun(side, TILE_LAYERS.map((layer) => ({ layer, z: 11, x: c11.x, y: c11.y })));

  // One request at a time: per step the same tile to each side (each has its own cache, so both are
  // cold), then the same tiles again (both cached). Tiles of neither other set.
  const tileUrl = (t: Tile) => `/tiles/${t.layer}/${t.z}/${t.x}/${t.y}`;
  const oneCold = await interleaved(sides, oneSet.length, 0, (side, step) => call(side, 'GET', tileUrl(oneSet[step % oneSet.length])));
  const oneCached = await interleaved(sides, oneSet.length, 0, (side, step) => call(side, 'GET', tileUrl(oneSet[step % oneSet.length])));

  const cold = perSide(() => new Samples());
  for (let r = 0; r < COLD_ROUNDS; r++) for (const side of order(sides, r)) await tileRun(side, rounds[r], cold[side.name]);
  const warm = perSide(() => new Samples());
  for (let r = 0; r < WARM_ROUNDS; r++) {
    for (const side of order(sides, r)) {
      await tileRun(side, warmSet); // fill (or refresh) this side's cache
      await tileRun(side, warmSet, warm[side.name]);
    }
  }
  const coldCount = rounds.reduce((n, r) => n + r.length, 0);
  const p = (x: Samples, q: number) => ` (p${q} ${fmt(percentile(x.ms, q), q === 50 ? 2 : 1)} ms)`;
  return [
    latencyFigure(`tile one at a time, cold: ${oneSet.length} tiles z12–16 (p50)`, oneCold, 'one request in flight; same tile to both sides'),
    latencyFigure('tile one at a time, cached: the same tiles again (p50)', oneCached, 'one request in flight'),
    rateFigure(`tiles cold: ${coldCount} tiles z12–16 × ${TILE_LAYERS.join('/')}, ${COLD_ROUNDS} rounds`, 'tiles/s', cold,
      { new: p(cold.new, 95), old: p(cold.old, 95) }, `${TILE_CONCURRENCY} in flight; disjoint sets per round`),
    rateFigure(`tiles warm cache: ${warmSet.length} tiles, ${WARM_ROUNDS} rounds`, 'tiles/s', warm,
      { new: p(warm.new, 50), old: p(warm.old, 50) }, `${TILE_CONCURRENCY} in flight`),
  ];
}

/** Steps of an interleaved figure (fewer when FIGURE_BUDGET_MS runs out first). */
const STEPS = 150;
const WARM = 5;

/**
 * GET /api/collections/{id}/items, the cases of collections.bench.ts, alternating request by
 * request. The route allows 600 requests a minute per user: each case signs in a fresh admin.
 */
async function benchCollectionsAB(sides: Side[], pool: pg.Pool, freshAdmin: () => Promise<PerSide<string>>): Promise<Figure[]> {
  const { rows } = await pool.query<{ x: number; y: number }>('SELECT ST_X(ST_Centroid(ST_Extent(geom))) AS x, ST_Y(ST_Centroid(ST_Extent(geom))) AS y FROM grids');
  const { x, y } = rows[0];
  const cases: { id: string; bbox?: number[]; limit: number }[] = [
    { id: 'buildings', bbox: [x - 0.005, y - 0.005, x + 0.005, y + 0.005], limit: 100 },
    { id: 'buildings', bbox: [x - 0.01, y - 0.01, x + 0.01, y + 0.01], limit: 1000 },
    { id: 'incidents', limit: 100 },
    { id: 'grids', limit: 100 },
  ];
  const out: Figure[] = [];
  for (const c of cases) {
    const q = new URLSearchParams({ limit: String(c.limit) });
    if (c.bbox) q.set('bbox', c.bbox.join(','));
    const cookie = await freshAdmin();
    const s = await interleaved(sides, STEPS, WARM, (side) => call(side, 'GET', `/api/collections/${c.id}/items?${q}`, { cookie: cookie[side.name] }));
    out.push(latencyFigure(`items ${c.id}${c.bbox ? ' bbox' : ''} limit=${c.limit} (p50)`, s));
  }
  return out;
}

/** The incident repository's reads: list, stats, one incident (detail with timeline; audited for an admin). */
async function benchIncidentsAB(sides: Side[], pool: pg.Pool): Promise<Figure[]> {
  const { rows: ids } = await pool.query<{ id: string }>(`SELECT id::text FROM incidents ORDER BY md5(id::text) LIMIT ${WARM + STEPS}`);
  return [
    latencyFigure('GET /api/incidents?limit=50 (p50)', await interleaved(sides, STEPS, WARM, (side) => call(side, 'GET', '/api/incidents?limit=50'))),
    latencyFigure(
      'GET /api/incidents?limit=50&status=reported&sort=-priority (p50)',
      await interleaved(sides, STEPS, WARM, (side) => call(side, 'GET', '/api/incidents?limit=50&status=reported&sort=-priority')),
    ),
    latencyFigure('GET /api/incidents/stats (p50)', await interleaved(sides, STEPS, WARM, (side) => call(side, 'GET', '/api/incidents/stats'))),
    latencyFigure(
      `GET /api/incidents/{id} (p50, ${ids.length} incidents)`,
      await interleaved(sides, STEPS, WARM, (side, step) => call(side, 'GET', `/api/incidents/${ids[step % ids.length].id}`)),
    ),
  ];
}

const CANDIDATE_INCIDENTS = 150;

/** GET /api/incidents/{id}/candidates?k=5 (and &routes=true), same incidents, alternating request by request. */
async function benchCandidatesAB(sides: Side[], pool: pg.Pool): Promise<Figure[]> {
  await pool.query(
    `UPDATE responders SET position_at = now() - (random() * 30) * interval '1 second' WHERE status = 'available' AND position IS NOT NULL`,
  );
  const { rows: incidents } = await pool.query<{ id: string }>(
    `SELECT id::text FROM incidents WHERE grid_id IS NOT NULL ORDER BY md5(id::text) LIMIT ${CANDIDATE_INCIDENTS}`,
  );
  // The first request builds the road graph (WARM_ROUTING_GRAPH=false): one side at a time.
  const build = perSide(() => NaN);
  const buildSamples = perSide(() => new Samples());
  for (const side of order(sides, 0)) {
    const a = await call(side, 'GET', `/api/incidents/${incidents[0].id}/candidates?k=5`, { timeoutMs: 180_000 });
    buildSamples[side.name].add(a);
    const m = /graph;dur=([0-9.]+)/.exec(String(a.headers['server-timing'] ?? ''));
    build[side.name] = m ? Number(m[1]) : a.ms;
  }
  const k5 = await interleaved(sides, incidents.length, 10, (side, step) => call(side, 'GET', `/api/incidents/${incidents[step % incidents.length].id}/candidates?k=5`));
  const routes = await interleaved(sides, incidents.length, 10, (side, step) =>
    call(side, 'GET', `/api/incidents/${incidents[step % incidents.length].id}/candidates?k=5&routes=true`),
  );
  return [
    latencyFigure(`GET candidates k=5, ${incidents.length} incidents (p50)`, k5),
    latencyFigure('GET candidates k=5&routes=true (p50)', routes),
    {
      what: 'road graph build (first candidates request)',
      kind: 'info',
      value: build,
      detail: { new: `${fmt(build.new, 0)} ms`, old: `${fmt(build.old, 0)} ms` },
      samples: buildSamples,
      note: 'Server-Timing graph',
    },
  ];
}

const POSITION_BATCH = 10;

/** Responders: the scoped list, and a grid worker's batch of positions (each side its own worker, same track). */
async function benchRespondersAB(sides: Side[], workerGrid: { lon: number; lat: number }): Promise<Figure[]> {
  const list = await interleaved(sides, STEPS, WARM, (side) => call(side, 'GET', '/api/responders?limit=100'));
  const start = Date.now() - 2 * 3600_000;
  const batch = (step: number) => ({
    positions: Array.from({ length: POSITION_BATCH }, (_, j) => {
      const i = step * POSITION_BATCH + j; // one fix a second, ~1 m/s east
      return { lon: workerGrid.lon + i * 1e-5, lat: workerGrid.lat, recordedAt: new Date(start + i * 1000).toISOString(), accuracyMetres: 8 };
    }),
  });
  const positions = await interleaved(sides, 100, WARM, async (side, step) => {
    const a = await call(side, 'POST', '/api/responders/me/positions', { cookie: side.workerCookie, body: batch(step) });
    if (ok(a)) {
      const r = JSON.parse(a.body) as { accepted: number };
      if (r.accepted !== POSITION_BATCH) return { ...a, status: 599, body: `accepted ${r.accepted} of ${POSITION_BATCH}: ${a.body}` };
    }
    return a;
  });
  return [
    latencyFigure('GET /api/responders?limit=100 (p50)', list),
    latencyFigure(`POST /api/responders/me/positions, ${POSITION_BATCH} fixes (p50)`, positions, 'every fix must be accepted'),
  ];
}

// Intake under load (autocannon, as intake.bench.ts).
interface CannonRequest { method?: string; path?: string; headers?: Record<string, string>; body?: string }
interface CannonResult { requests: { average: number; total: number }; latency: { p50: number; p97_5: number }; duration: number; errors: number; timeouts: number; non2xx: number }
type Cannon = (opts: {
  url: string; connections: number; duration?: number; amount?: number; timeout?: number;
  requests: { method: string; path: string; headers: Record<string, string>; setupRequest: (req: CannonRequest) => CannonRequest; onResponse?: (status: number, body: string) => void }[];
}) => Promise<CannonResult>;

const INTAKE_CONNECTIONS = 16;
const INTAKE_ROUNDS = 10;
const INTAKE_ROUND_SECONDS = 2;
const INTAKE_MAX_REQUESTS = 4000;

/**
 * POST /api/incidents under load: a 2 s warm-up per side sizes the rounds (the same number of
 * requests for both, ~2 s at the slower side's pace), then INTAKE_ROUNDS rounds alternating
 * new-old / old-new, each followed by the same number of raw INSERTs (the statement the endpoint
 * wraps, grid by the trigger; intake.bench.ts) at the same concurrency straight through a pool, so
 * that each side's share of the raw INSERT rate is measured in the same run. Every 201 must be
 * stored. The run's incidents are deleted afterwards.
 */
async function benchIntakeAB(sides: Side[], pool: pg.Pool): Promise<Figure[]> {
  const autocannon = createRequire(import.meta.url)('autocannon') as Cannon;
  const run = crypto.randomBytes(4).toString('hex');
  const tag = `bench-ab-intake ${run}`;
  const { rows: points } = await pool.query<{ lon: number; lat: number }>(
    `SELECT ST_X(p) AS lon, ST_Y(p) AS lat FROM (SELECT ST_PointOnSurface(geom) AS p FROM grids ORDER BY md5(id::text || $1) LIMIT 500) s`,
    [run],
  );
  const categories = ['dispute', 'safety_hazard', 'sanitation', 'public_facility', 'appeal', 'traffic'];
  const acknowledged = perSide<string[]>(() => []);
  let n = 0;
  const cannon = (side: Side, phase: string, opts: { duration?: number; amount?: number }) =>
    autocannon({
      url: side.api!.base,
      connections: INTAKE_CONNECTIONS,
      timeout: REQUEST_TIMEOUT_MS / 1000,
      ...opts,
      requests: [{
        method: 'POST',
        path: '/api/incidents',
        headers: { cookie: side.cookie, 'content-type': 'application/json' },
        setupRequest: (req) => {
          const i = n++;
          const p = points[i % points.length];
          return {
            ...req,
            headers: { ...req.headers, 'idempotency-key': `${run}-${side.name}-${phase}-${i}` },
            body: JSON.stringify({
              category: categories[i % categories.length],
              priority: i % 17 === 0 ? 'urgent' : 'normal',
              description: `${tag} ${side.name} ${phase} ${i}`,
              location: { type: 'Point', coordinates: [p.lon, p.lat] },
            }),
          };
        },
        onResponse: (status, body) => {
          if (status === 201 && phase !== 'warm') acknowledged[side.name].push((JSON.parse(body) as { id: string }).id);
        },
      }],
    });
  const s = perSide(() => new Samples());
  const p50s = perSide<number[]>(() => []);
  // The raw INSERT baseline: one autocommit INSERT per row, INTAKE_CONNECTIONS at a time.
  const rawPool = new pg.Pool({ connectionString: pool.options.connectionString, max: INTAKE_CONNECTIONS });
  const raw = { done: 0, ms: 0, latencies: [] as number[] };
  const rawRound = async (amount: number, r: number) => {
    let next = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: INTAKE_CONNECTIONS }, async () => {
      while (next < amount) {
        const i = next++;
        const p = points[i % points.length];
        const q0 = performance.now();
        await rawPool.query(
          `INSERT INTO incidents (category, priority, status, location, description)
           VALUES ($1, 'normal', 'reported', ST_SetSRID(ST_MakePoint($2::float8, $3::float8), 4326), $4)`,
          [categories[i % categories.length], p.lon, p.lat, `${tag} raw r${r} ${i}`],
        );
        raw.latencies.push(performance.now() - q0);
      }
    }));
    raw.done += amount;
    raw.ms += performance.now() - t0;
  };
  const p975s = perSide<number[]>(() => []);
  try {
    let amount = 0;
    for (const side of order(sides, 0)) {
      const warm = await cannon(side, 'warm', { duration: 2 });
      if (warm.non2xx + warm.errors + warm.timeouts > 0) s[side.name].fail(`warm-up: ${warm.non2xx} non-2xx, ${warm.errors} errors, ${warm.timeouts} timeouts`);
      const answered = warm.requests.total - warm.non2xx - warm.errors - warm.timeouts;
      if (answered > 0) {
        const fit = Math.min(INTAKE_MAX_REQUESTS, Math.max(INTAKE_CONNECTIONS * 5, Math.round(warm.requests.average * INTAKE_ROUND_SECONDS)));
        amount = amount ? Math.min(amount, fit) : fit;
      }
    }
    amount ||= INTAKE_CONNECTIONS * 10; // neither side answered the warm-up: still a bounded try
    for (let r = 0; r < INTAKE_ROUNDS; r++) {
      for (const side of order(sides, r)) {
        const res = await cannon(side, `r${r}`, { amount });
        const x = s[side.name];
        x.requests += res.requests.total;
        x.done += res.requests.total - res.non2xx - res.errors - res.timeouts;
        x.elapsedMs += 1000 * res.duration;
        x.rounds.push({ done: res.requests.total - res.non2xx - res.errors - res.timeouts, ms: 1000 * res.duration });
        if (res.non2xx + res.errors + res.timeouts) {
          x.failures += res.non2xx + res.errors + res.timeouts;
          x.firstFailure ??= `round ${r}: ${res.non2xx} non-2xx, ${res.errors} errors, ${res.timeouts} timeouts`;
        }
        p50s[side.name].push(res.latency.p50);
        p975s[side.name].push(res.latency.p97_5);
        if (res.requests.total > 0 && res.errors + res.timeouts >= res.requests.total) side.down = `stopped answering intake (round ${r}: ${res.errors} errors, ${res.timeouts} timeouts)`;
      }
      await rawRound(amount, r);
    }
    const rate = (x: Samples) => (1000 * x.done) / x.elapsedMs;
    const rawRate = (1000 * raw.done) / raw.ms;
    // Every acknowledged incident must be stored.
    const stored = perSide(() => '');
    for (const side of sides.filter((x) => !x.down)) {
      const ids = acknowledged[side.name];
      const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM incidents WHERE id = ANY ($1::uuid[])', [ids]);
      stored[side.name] = `${rows[0].n}/${ids.length} stored`;
      if (rows[0].n !== ids.length) s[side.name].fail(`${ids.length - rows[0].n} acknowledged incidents not stored`);
    }
    return [
      rateFigure(`intake POST /api/incidents, ${INTAKE_CONNECTIONS} connections, ${INTAKE_ROUNDS} rounds × ${amount} requests`, 'req/s', s,
        { new: '', old: '' }, 'throughput of 201s'),
      {
        what: 'intake latency (median of the rounds\' p50)',
        kind: 'latency',
        value: { new: median(p50s.new), old: median(p50s.old) },
        ratio: p50s.new.length && p50s.old.length ? medianRatio(p50s.new.map((x, i) => [x, p50s.old[i]] as [number, number]).filter(([, o]) => o !== undefined)) : undefined,
        detail: {
          new: `${fmt(median(p50s.new))} ms (p97.5 ${fmt(median(p975s.new))}); ${stored.new}`,
          old: `${fmt(median(p50s.old))} ms (p97.5 ${fmt(median(p975s.old))}); ${stored.old}`,
        },
        samples: s,
      },
      {
        what: `intake vs raw INSERT (same rounds, ${INTAKE_CONNECTIONS} connections): share of the raw rate`,
        kind: 'info',
        value: { new: rate(s.new) / rawRate, old: rate(s.old) / rawRate },
        detail: {
          new: `${fmt(rate(s.new) / rawRate, 3)}× (${fmt(rate(s.new), 0)} req/s)`,
          old: `${fmt(rate(s.old) / rawRate, 3)}× (${fmt(rate(s.old), 0)} req/s)`,
        },
        note: `raw INSERT ${fmt(rawRate, 0)} rows/s, p50 ${fmt(percentile(raw.latencies, 50))} ms, p97.5 ${fmt(percentile(raw.latencies, 97.5))} ms`,
      },
    ];
  } finally {
    await rawPool.end();
    await pool.query(`DELETE FROM incidents WHERE description LIKE $1 || ' %'`, [tag]);
    await pool.query(`DELETE FROM idempotency_keys WHERE key LIKE $1 || '-%'`, [run]).catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------
// Set-up: database and accounts, with the OLD checkout's code

/** A module of the old checkout (TypeScript, through this process's tsx loader). */
const fromCheckout = <T>(dir: string, file: string): Promise<T> => import(pathToFileURL(path.join(dir, file)).href) as Promise<T>;

interface OldCode {
  openDatabase: (o: { databaseUrl: string; dataDir: string; poolSize?: number }) => Promise<{ db: unknown; pool: pg.Pool; close(): Promise<void> }>;
  migrateToLatest: (db: unknown) => Promise<string[]>;
  generate: (pool: pg.Pool, o: { preset: string; seed: number; onProgress?: unknown }) => Promise<unknown>;
  consoleProgress: (label: string) => unknown;
  createUser: (pool: pg.Pool, u: { username: string; password: string; role: string; areaCode: string }) => Promise<{ id: string; responderId: string | null }>;
}

async function oldCode(dir: string): Promise<OldCode> {
  const [database, migrate, geo, seed, users] = await Promise.all([
    fromCheckout<Pick<OldCode, 'openDatabase'>>(dir, 'server/src/db/database.ts'),
    fromCheckout<Pick<OldCode, 'migrateToLatest'>>(dir, 'server/src/db/migrate.ts'),
    fromCheckout<Pick<OldCode, 'generate'>>(dir, 'geo-data/src/index.ts'),
    fromCheckout<Pick<OldCode, 'consoleProgress'>>(dir, 'server/src/seed.ts'),
    // The users service (modules/users) takes the application's Kysely: a small database of its own.
    fromCheckout<{ createUser: (db: unknown, u: { username: string; password: string; role: string; areaCode: string }) => Promise<{ id: string }> }>(
      dir, 'server/src/modules/users/users.service.ts'),
  ]);
  let usersDb: Promise<{ db: unknown }> | undefined;
  const createUser: OldCode['createUser'] = async (pool, u) => {
    usersDb ??= database.openDatabase({ databaseUrl: String(pool.options.connectionString), dataDir: '', poolSize: 2 });
    const user = await users.createUser((await usersDb).db, u);
    return { id: user.id, responderId: null };
  };
  return { ...database, ...migrate, ...geo, ...seed, createUser };
}

/** Schema (old checkout's migrations) and the city preset, generated when missing. */
async function prepareDatabase(url: string, code: OldCode): Promise<void> {
  await ensureDatabase(url);
  const database = await code.openDatabase({ databaseUrl: url, dataDir: '', poolSize: 4 });
  try {
    await code.migrateToLatest(database.db);
    const { rows } = await database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM grids');
    if (rows[0].n >= 2000 && !process.env.BENCH_REGENERATE) return;
    console.log(`[bench] generating preset city in ${new URL(url).pathname.slice(1)} (old checkout's generator) …`);
    await code.generate(database.pool, { preset: 'city', seed: 1, onProgress: code.consoleProgress('generate city') });
    await database.pool.query('VACUUM ANALYZE');
  } finally {
    await database.close();
  }
}

/** Signs in over HTTP: the Cookie header (every cookie the answer sets). */
async function signIn(side: Side, username: string, password: string): Promise<string> {
  const a = await call(side, 'POST', '/api/auth/login', { cookie: '', body: { username, password } });
  if (a.status !== 200) throw new Error(`sign-in of ${username} answered ${a.status}: ${a.body.slice(0, 300)}`);
  const set = a.headers['set-cookie'] ?? [];
  if (!set.length) throw new Error(`sign-in of ${username} set no cookie`);
  return set.map((c) => c.split(';')[0]).join('; ');
}

function describe(dir: string): string {
  try {
    const head = execFileSync('git', ['-C', dir, 'log', '-1', '--format=%h %s'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', dir, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim();
    return `${head.slice(0, 70)}${dirty ? ` + ${dirty.split('\n').length} uncommitted file(s)` : ''}`;
  } catch {
    return '(not a git checkout)';
  }
}

// ---------------------------------------------------------------------------------------------

export async function sideBySide(opts: { baselineDir: string; newDir?: string; databaseUrl: string; only: Set<string> }): Promise<void> {
  const oldDir = path.resolve(opts.baselineDir);
  const newDir = path.resolve(opts.newDir || repoRoot);
  for (const dir of [oldDir, newDir]) {
    if (!fs.existsSync(path.join(dir, 'server/src/main.ts'))) throw new Error(`${dir}: no server/src/main.ts (a wangge checkout?)`);
    if (!fs.existsSync(path.join(dir, 'node_modules'))) throw new Error(`${dir}: no node_modules (run pnpm install --frozen-lockfile there)`);
  }
  if (oldDir === newDir) throw new Error('BENCH_BASELINE_DIR is the new side itself; for an A/A run point BENCH_NEW_DIR at a second clone');
  const benches = SIDE_BY_SIDE_BENCHES.filter((b) => opts.only.has(b));
  console.log(`[bench] side by side on ${new URL(opts.databaseUrl).pathname.slice(1)}: ${benches.join(', ') || '(nothing selected)'}`);
  console.log(`[bench]   new = ${newDir}: ${describe(newDir)}`);
  console.log(`[bench]   old = ${oldDir}: ${describe(oldDir)}`);
  const skipped = [...opts.only].filter((b) => !(SIDE_BY_SIDE_BENCHES as readonly string[]).includes(b));
  if (skipped.length) console.log(`[bench]   not compared side by side (run without BENCH_BASELINE_DIR): ${skipped.join(', ')}`);

  const code = await oldCode(oldDir);
  await prepareDatabase(opts.databaseUrl, code);
  const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: 4 });

  const sides: Side[] = [
    { name: 'new', dir: newDir, agent: new http.Agent({ keepAlive: true, maxSockets: 16 }), cookie: '', noAnswer: 0 },
    { name: 'old', dir: oldDir, agent: new http.Agent({ keepAlive: true, maxSockets: 16 }), cookie: '', noAnswer: 0 },
  ];
  const startup: Figure = { what: 'API start: spawn → ready', kind: 'info', value: perSide(() => NaN), detail: perSide(() => ''), note: 'the new side starts first and applies its pending migrations' };
  try {
    // The new side first: it migrates the shared database to its schema, on which both then run.
    for (const side of sides) {
      try {
        side.api = await startApi(side.dir, { DATABASE_URL: opts.databaseUrl, WARM_ROUTING_GRAPH: 'false' });
        startup.value[side.name] = side.api.startMs;
        startup.detail[side.name] = `${fmt(side.api.startMs / 1000, 2)} s`;
      } catch (err) {
        side.down = `server did not start: ${(err as Error).message}`;
      }
    }

    // Accounts, made once with the old checkout's code (the users table is shared); each side signs in.
    const password = crypto.randomBytes(16).toString('base64url');
    const admin = `bench-ab-${crypto.randomBytes(4).toString('hex')}`;
    await code.createUser(pool, { username: admin, password, role: 'admin', areaCode: '*' });
    /** Another admin signed in on each side that is up (for routes with a per-user request budget). */
    const freshAdmin = async (): Promise<PerSide<string>> => {
      const username = `bench-ab-${crypto.randomBytes(4).toString('hex')}`;
      await code.createUser(pool, { username, password, role: 'admin', areaCode: '*' });
      const cookies = perSide(() => '');
      for (const side of sides.filter((x) => !x.down)) {
        // A refused sign-in shows as that side's failed requests (401), not as a harness error.
        cookies[side.name] = await signIn(side, username, password).catch(() => 'none=1');
      }
      return cookies;
    };
    const { rows: g } = await pool.query<{ code: string; lon: number; lat: number }>(
      `SELECT code, ST_X(p) AS lon, ST_Y(p) AS lat FROM (SELECT code, ST_PointOnSurface(geom) AS p FROM grids ORDER BY code LIMIT 1) s`,
    );
    for (const side of sides.filter((s) => !s.down)) {
      try {
        side.cookie = await signIn(side, admin, password);
        if (benches.includes('responders')) {
          const worker = `bench-ab-w${side.name}-${crypto.randomBytes(3).toString('hex')}`;
          await code.createUser(pool, { username: worker, password, role: 'grid_worker', areaCode: g[0].code });
          side.workerCookie = await signIn(side, worker, password);
        }
      } catch (err) {
        side.down = `sign-in failed: ${(err as Error).message}`;
      }
    }
    for (const side of sides.filter((s) => s.down)) {
      console.log(`\n[bench] ${side.name.toUpperCase()} SIDE FAILED (${side.dir}) — its column shows FAILED, the other side is measured alone:\n${side.down}\n`);
    }
    table('API start (one sample each)', [startup], sides.map((s) => (s.api ? { ...s, down: undefined } : s)));
    if (sides.every((s) => s.down)) throw new Error('neither API is up; nothing to compare');

    const run = async (name: string, title: string, fn: () => Promise<Figure[]>) => {
      if (!benches.includes(name as (typeof SIDE_BY_SIDE_BENCHES)[number])) return;
      const t0 = performance.now();
      const upBefore = sides.filter((s) => !s.down);
      try {
        table(`${title} — side by side`, await fn(), sides);
      } catch (err) {
        console.log(`\n## ${title} — side by side\n\nHARNESS ERROR: ${(err as Error).stack ?? err}`);
      }
      console.log(`(${fmt((performance.now() - t0) / 1000, 0)} s)`);
      for (const side of upBefore) {
        if (side.api?.exited()) side.down = `the server process exited during ${name} (${side.down ?? 'no request had failed yet'})`;
        if (side.down) console.log(`\n[bench] ${side.name.toUpperCase()} SIDE OUT OF THE RUN during ${name}: ${side.down}\n${tail(side.api?.log() ?? '')}\n`);
      }
    };
    await run('tiles', 'Tiles (city preset)', () => benchTilesAB(sides, pool));
    await run('collections', 'Collections items (city preset)', () => benchCollectionsAB(sides, pool, freshAdmin));
    await run('incidents', 'Incident reads (city preset)', () => benchIncidentsAB(sides, pool));
    await run('candidates', 'Nearest responders (city preset)', () => benchCandidatesAB(sides, pool));
    await run('responders', 'Responders (city preset)', () => benchRespondersAB(sides, g[0]));
    await run('intake', 'Incident intake under load (city preset)', () => benchIntakeAB(sides, pool));

    const judged = verdicts.filter((v) => !v.failed);
    const worse = judged.filter((v) => v.worse);
    const failed = verdicts.filter((v) => v.failed);
    console.log(`\n## Verdict (new/old, same run, same database)\n`);
    for (const side of sides.filter((x) => x.down)) console.log(`${side.name.toUpperCase()} SIDE FAILED: ${side.down!.split('\n')[0]}`);
    console.log(`${judged.length} figures compared: ${worse.length ? `${worse.length} WORSE by more than ${100 * WORSE} %` : `none worse by more than ${100 * WORSE} %`}; ${failed.length} not comparable.`);
    for (const v of worse) console.log(`  WORSE  ${v.what}: new/old ${fmt(v.ratio, 3)}${v.clearly === false ? ' (its 95 % interval reaches back within 10 %: re-run to confirm)' : v.clearly ? ' (the whole 95 % interval past 10 %)' : ''}`);
    for (const v of failed) console.log(`  FAILED ${v.what}: ${v.failed}`);
    for (const side of sides) {
      const errors = side.api?.log().split('\n').filter((l) => /error|"level":50|"level":60/i.test(l)) ?? [];
      if (errors.length) console.log(`\n[bench] ${side.name} server logged ${errors.length} error line(s), first: ${errors.slice(0, 3).join('\n  ').slice(0, 800)}`);
    }
  } finally {
    for (const side of sides) {
      await side.api?.stop();
      side.agent.destroy();
    }
    const logs = sides.filter((s) => s.api).map((s) => `${s.name} ${s.api!.logFile}`);
    if (logs.length) console.log(`\n[bench] server output: ${logs.join(', ')}`);
    await pool.end();
  }
}
