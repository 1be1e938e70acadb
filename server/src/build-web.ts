import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './config.js';

const webDir = path.join(repoRoot, 'web');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds the SPA into web/dist with Vite unless the build is newer than every source file. */
export async function buildWebIfNeeded(force = false): Promise<boolean> {
  const index = path.join(webDir, 'dist', 'index.html');
  if (!force && fs.existsSync(index) && fs.statSync(index).mtimeMs >= newestMtime(webDir)) return false;
  const vitePath = createRequire(path.join(webDir, 'package.json')).resolve('vite');
  // Vite belongs to the web package; only its build() is needed here.
  const vite = (await import(pathToFileURL(vitePath).href)) as { build(config: { root: string; logLevel: string }): Promise<unknown> };
  console.log('[wangge] building the web app (vite build)…');
  await vite.build({ root: webDir, logLevel: 'warn' });
  return true;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  buildWebIfNeeded(process.argv.includes('--force')).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
