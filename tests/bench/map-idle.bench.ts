/**
 * The command map against a bare MapLibre page (issue 11): the same tiles through the same server,
 * the same view, a minimal style (fills, lines, circles, constant paint), in the same headless
 * Chromium, alternating, a fresh browser per run, medians of RUNS. Per page: navigation → map object
 * created, navigation → first idle with every source loaded, WebGL programs linked and draw calls
 * until then, JavaScript transferred.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { buildApp } from '../../server/src/app.js';
import { probeCapabilities, type Database } from '../../server/src/db/database.js';
import { repoRoot } from '../../server/src/config.js';
import { buildWebIfNeeded } from '../../server/src/build-web.js';
import { createUser } from '../../server/src/modules/users/users.service.js';
import { browserUnavailableReason, launchChromium } from '../support/browser.js';
import { fmt, median, type Row } from './stats.js';
// Types only: `window.__wanggeMap` (the app opened with `?e2e=1`).
import type {} from '../../web/src/map/testHook.js';

const RUNS = Number(process.env.BENCH_MAP_RUNS ?? 5);
const VIEWPORT = { width: 1920, height: 1080 };
const LAYERS = ['areas', 'grids', 'buildings', 'roads', 'incidents', 'responders'] as const;

/** What one page load measured (ms from navigation start, counts until the first full idle). */
interface Load {
  created: number;
  idle: number;
  programs: number;
  draws: number;
  /** Features drawn at that idle: both pages show the district (a check, not a speed). */
  features: number;
  jsBytes: number;
}

/** Counts WebGL programs linked and draw calls, from before any page script runs. */
const INSTRUMENT = `(() => {
  const c = (window.__bench = { programs: 0, draws: 0 });
  for (const C of [window.WebGLRenderingContext, window.WebGL2RenderingContext]) {
    if (!C) continue;
    const p = C.prototype;
    const link = p.linkProgram;
    p.linkProgram = function (...a) { c.programs++; return link.apply(this, a); };
    for (const f of ['drawElements', 'drawArrays', 'drawElementsInstanced', 'drawArraysInstanced']) {
      const o = p[f];
      if (o) p[f] = function (...a) { c.draws++; return o.apply(this, a); };
    }
  }
})();`;

/** The bare page's script: MapLibre alone, the app's tile sources, one plain layer per kind of geometry. */
function barePage(view: { center: [number, number]; zoom: number }): string {
  const sources = Object.fromEntries(LAYERS.map((l) => [l, { type: 'vector', url: `/tiles/${l}.json` }]));
  const layers = [
    { id: 'bg', type: 'background', paint: { 'background-color': '#081424' } },
    { id: 'areas', type: 'fill', source: 'areas', 'source-layer': 'areas', paint: { 'fill-color': '#0b1b2f' } },
    { id: 'buildings', type: 'fill', source: 'buildings', 'source-layer': 'buildings', paint: { 'fill-color': '#1a3350' } },
    { id: 'roads', type: 'line', source: 'roads', 'source-layer': 'roads', paint: { 'line-color': '#4b6784', 'line-width': 2 } },
    { id: 'grids', type: 'line', source: 'grids', 'source-layer': 'grids', paint: { 'line-color': '#22d3ee', 'line-width': 1.5 } },
    { id: 'responders', type: 'circle', source: 'responders', 'source-layer': 'responders', paint: { 'circle-color': '#10b981', 'circle-radius': 5 } },
    { id: 'incidents', type: 'circle', source: 'incidents', 'source-layer': 'incidents', paint: { 'circle-color': '#f59e0b', 'circle-radius': 6 } },
  ];
  const style = { version: 8, sources, layers };
  // Files, not inline code: the server's Content-Security-Policy (script-src 'self') holds here too.
  return `
import * as maplibregl from '/bench/dist/maplibre-gl.mjs';
maplibregl.setWorkerUrl(new URL('/bench/dist/maplibre-gl-worker.mjs', location.origin).href);
const style = ${JSON.stringify(style)};
for (const s of Object.values(style.sources)) s.url = location.origin + s.url;
// Tiles from this origin whatever the TileJSON names (as the app does: api/tiles.ts).
const transformRequest = (url) => ({ url: url.replace(/^https?:\\/\\/[^/]+(?=\\/tiles\\/)/, location.origin) });
const map = new maplibregl.Map({ container: 'map', style, center: ${JSON.stringify(view.center)}, zoom: ${view.zoom}, attributionControl: false, transformRequest });
performance.mark('bench:map-created');
window.__bareMap = map;
`;
}

const BARE_HTML = `<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="/bench/dist/maplibre-gl.css">
<link rel="stylesheet" href="/bench/bare.css"></head><body><div id="map"></div><script type="module" src="/bench/bare.mjs"></script></body></html>`;

/** The first moment the map has every source loaded and nothing left to draw; then the counts. */
async function untilIdle(page: Page, mapGlobal: string, layerIds: string[], created: string): Promise<Omit<Load, 'jsBytes'>> {
  await page.waitForFunction(({ g, ids }) => {
    const m = (window as unknown as Record<string, { getLayer(id: string): unknown; loaded(): boolean; areTilesLoaded(): boolean; isMoving(): boolean } | undefined>)[g];
    return !!m && ids.every((id) => m.getLayer(id)) && m.loaded() && m.areTilesLoaded() && !m.isMoving();
  }, { g: mapGlobal, ids: layerIds }, { timeout: 180_000, polling: 'raf' });
  return page.evaluate(({ mark, g }) => {
    const idle = performance.now();
    const b = (window as unknown as { __bench: { programs: number; draws: number } }).__bench;
    const m = performance.getEntriesByName(mark)[0];
    const map = (window as unknown as Record<string, { queryRenderedFeatures(): unknown[] }>)[g];
    return { idle, created: m ? m.startTime : NaN, programs: b.programs, draws: b.draws, features: map.queryRenderedFeatures().length };
  }, { mark: created, g: mapGlobal });
}

async function jsBytes(page: Page): Promise<number> {
  return page.evaluate(() => (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
    .filter((r) => /\.m?js(\?|$)/.test(r.name))
    .reduce((n, r) => n + (r.transferSize || r.encodedBodySize), 0));
}

/** One load of `url` in a fresh browser with the session cookie (and, for the app, only `groups` switched on). */
async function load(
  url: string,
  cookie: { name: string; value: string },
  measure: (page: Page) => Promise<Omit<Load, 'jsBytes'>>,
  groups?: readonly string[],
): Promise<Load> {
  const browser: Browser = await launchChromium();
  try {
    const context = await browser.newContext({ viewport: VIEWPORT, locale: 'zh-CN' });
    await context.addCookies([{ ...cookie, url: new URL('/', url).href }]);
    await context.addInitScript(INSTRUMENT);
    // The layer switches the app remembers (stores/layers.ts).
    if (groups) {
      const visible = Object.fromEntries(LAYERS.map((g) => [g, groups.includes(g)]));
      await context.addInitScript((v) => window.localStorage.setItem('wangge.layers', v), JSON.stringify(visible));
    }
    const page = await context.newPage();
    // A page that draws nothing measures nothing: say why.
    page.on('response', (r) => { if (r.status() >= 400) console.warn(`[bench map] ${url}: ${r.status()} ${r.url()}`); });
    page.on('pageerror', (e) => console.warn(`[bench map] ${url}: ${e.message}`));
    await page.goto(url);
    const m = await measure(page);
    return { ...m, jsBytes: await jsBytes(page) };
  } finally {
    await browser.close();
  }
}

/** The app's first full idle: its map's layers of every group present, every tile loaded. */
const GROUP_LAYER: Record<(typeof LAYERS)[number], string> = {
  areas: 'areas-fill', roads: 'roads-fill', buildings: 'buildings-fill', grids: 'grids-fill', responders: 'responders-point', incidents: 'incidents-point',
};
const APP_LAYERS = Object.values(GROUP_LAYER);

export async function benchMapIdle(database: Database, preset: string): Promise<Row[]> {
  const reason = browserUnavailableReason();
  if (reason) return [{ what: `first map idle (${preset})`, ours: 'skipped', baseline: '', ratio: '', note: reason }];
  await buildWebIfNeeded();
  const app = await buildApp({
    config: { bodyLimitBytes: 2_000_000, webDist: path.join(repoRoot, 'web', 'dist'), logLevel: 'warn' },
    database,
    capabilities: await probeCapabilities(database.db),
    logger: false,
  });
  // MapLibre's own files (ES modules: the library, its shared chunk, its worker), as the app's build has them.
  const maplibreDist = path.join(path.dirname(createRequire(path.join(repoRoot, 'web', 'package.json')).resolve('maplibre-gl/package.json')), 'dist');
  let view = { center: [0, 0] as [number, number], zoom: 12 };
  app.get('/bench/bare', { config: { permission: 'public' } }, async (_req, reply) => reply.type('text/html').send(BARE_HTML));
  app.get('/bench/bare.mjs', { config: { permission: 'public' } }, async (_req, reply) => reply.type('text/javascript').send(barePage(view)));
  app.get('/bench/bare.css', { config: { permission: 'public' } }, async (_req, reply) => reply.type('text/css').send('html,body,#map{margin:0;height:100%}'));
  app.get('/bench/dist/:file', { config: { permission: 'public' } }, async (req, reply) => {
    const file = (req.params as { file: string }).file;
    if (!/^maplibre-gl(-shared|-worker)?\.(mjs|css)$/.test(file)) return reply.code(404).send();
    return reply.type(file.endsWith('.css') ? 'text/css' : 'text/javascript').send(fs.readFileSync(path.join(maplibreDist, file)));
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  try {
    // A commander of the whole district, signed in through the API: the pages start signed in.
    const area = (await database.pool.query<{ code: string }>(`SELECT code FROM areas WHERE level = 'district' ORDER BY code LIMIT 1`)).rows[0].code;
    const username = `bench-map-${Date.now().toString(36)}`;
    const password = 'bench map passphrase';
    await createUser(database.db, { username, password, role: 'commander', areaCode: area });
    const login = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password } });
    const session = login.cookies.find((c) => c.name === 'wangge_session')!;
    const cookie = { name: session.name, value: session.value };
    const appUrl = `${origin}/?e2e=1`;
    const measureApp = (page: Page) => untilIdle(page, '__wanggeMap', APP_LAYERS, 'wangge:map-created');
    // The view the app frames: the bare page opens on it.
    await load(appUrl, cookie, async (page) => {
      const m = await measureApp(page);
      const camera = await page.evaluate(() => {
        const map = window.__wanggeMap!;
        return { center: map.getCenter().toArray() as [number, number], zoom: map.getZoom() };
      });
      view = camera;
      return m;
    });
    const ours: Load[] = [];
    const bare: Load[] = [];
    for (let i = 0; i < RUNS; i++) {
      ours.push(await load(appUrl, cookie, measureApp));
      bare.push(await load(`${origin}/bench/bare`, cookie, (page) => untilIdle(page, '__bareMap', LAYERS as unknown as string[], 'bench:map-created')));
    }
    const med = (xs: Load[], k: keyof Load) => median(xs.map((x) => x[k]));
    const row = (what: string, k: keyof Load, unit: (v: number) => string) => ({
      what: `${what}, ${preset} preset (median of ${RUNS})`,
      ours: unit(med(ours, k)),
      baseline: unit(med(bare, k)),
      ratio: `${fmt(med(ours, k) / med(bare, k), 2)}×`,
      note: `app ${ours.map((x) => unit(x[k])).join(', ')}; bare ${bare.map((x) => unit(x[k])).join(', ')}`,
    });
    const s = (v: number) => `${fmt(v / 1000, 2)} s`;
    const n = (v: number) => fmt(v, 0);
    // Each layer group alone (the app with only that group switched on), against the whole bare page:
    // what each group costs, and the row later layers add theirs to. Fewer runs: a breakdown.
    const groupRows: Row[] = [];
    if (process.env.BENCH_MAP_GROUPS !== '0') {
      for (const g of LAYERS) {
        const runs: Load[] = [];
        for (let i = 0; i < Math.min(RUNS, 3); i++) {
          runs.push(await load(appUrl, cookie, (page) => untilIdle(page, '__wanggeMap', [GROUP_LAYER[g]], 'wangge:map-created'), [g]));
        }
        groupRows.push({
          what: `  ${g} alone, ${preset} preset: first idle; programs; draw calls`,
          ours: s(med(runs, 'idle')),
          baseline: s(med(bare, 'idle')),
          ratio: `${fmt(med(runs, 'idle') / med(bare, 'idle'), 2)}×`,
          note: `${n(med(runs, 'programs'))} programs, ${n(med(runs, 'draws'))} draw calls (bare, all groups: ${n(med(bare, 'programs'))}, ${n(med(bare, 'draws'))})`,
        });
      }
    }
    return [
      row('navigation → first idle, every source loaded', 'idle', s),
      row('navigation → map object created', 'created', s),
      row('WebGL programs linked until that idle', 'programs', n),
      row('draw calls until that idle', 'draws', n),
      row('JavaScript transferred', 'jsBytes', (v) => `${fmt(v / 1024, 0)} kB`),
      row('features drawn at that idle (both show the district)', 'features', n),
      ...groupRows,
    ];
  } finally {
    await app.close();
  }
}
