import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../../server/src/app.js';
import { probeCapabilities, type Database } from '../../server/src/db/database.js';
import { repoRoot } from '../../server/src/config.js';
import { buildWebIfNeeded } from '../../server/src/build-web.js';
import { browserUnavailableReason, launchChromium } from '../support/browser.js';
import { fmt, median, type Row } from './stats.js';

const RUNS = 5;

/** Time from navigation to the map's first `idle` in headless Chromium, demo preset, fresh context each run. */
export async function benchMapIdle(database: Database): Promise<Row[]> {
  const reason = browserUnavailableReason();
  if (reason) return [{ what: 'first map idle (demo)', ours: 'skipped', baseline: '', ratio: '', note: reason }];
  await buildWebIfNeeded();
  const app = await buildApp({
    config: { bodyLimitBytes: 2_000_000, webDist: path.join(repoRoot, 'web', 'dist'), logLevel: 'warn' },
    database,
    capabilities: await probeCapabilities(database.db),
    logger: false,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const browser = await launchChromium();
  const times: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
      const page = await context.newPage();
      const t0 = performance.now();
      await page.goto(`${origin}/`);
      await page.waitForSelector('[data-map-idle="true"]', { timeout: 120_000 });
      times.push(performance.now() - t0);
      await context.close();
    }
  } finally {
    await browser.close();
    await app.close();
  }
  return [
    {
      what: 'first map idle, demo preset, 1920×1080 (median of 5)',
      ours: `${fmt(median(times) / 1000, 2)} s`,
      baseline: '',
      ratio: '',
      note: `runs: ${times.map((t) => fmt(t / 1000, 2)).join(', ')} s (software WebGL)`,
    },
  ];
}
