import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { generate } from '@wangge/geo-data';
import { createUser } from './auth/users.js';
import type { Role } from './auth/permissions.js';

/**
 * Generates the demo district when the database holds no areas yet. With `demoUsersFile`, also
 * creates one account of each role with a random password, printed once and written to that file.
 */
export async function seedDemoIfEmpty(pool: pg.Pool, opts: { demoUsersFile?: string } = {}): Promise<boolean> {
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM areas');
  if (rows[0].n > 0) return false;
  console.log('[wangge] empty database: generating the demo district (preset demo, seed 1)');
  await generate(pool, { preset: 'demo', seed: 1, onProgress: consoleProgress('generate') });
  if (opts.demoUsersFile) await createDemoUsers(pool, opts.demoUsersFile);
  return true;
}

/** One account per role, scoped like real users would be; passwords random, never in the code. */
async function createDemoUsers(pool: pg.Pool, file: string): Promise<void> {
  const codes = (
    await pool.query<{ district: string; street: string; community: string; grid: string }>(
      `SELECT d.code AS district, s.code AS street, c.code AS community, g.code AS grid
         FROM grids g JOIN areas c ON c.id = g.community_id JOIN areas s ON s.id = c.parent_id JOIN areas d ON d.id = s.parent_id
        ORDER BY g.code LIMIT 1`,
    )
  ).rows[0];
  const accounts: { username: string; role: Role; areaCode: string }[] = [
    { username: 'admin', role: 'admin', areaCode: '*' },
    { username: 'commander', role: 'commander', areaCode: codes.district },
    { username: 'planner', role: 'planner', areaCode: codes.district },
    { username: 'department', role: 'department', areaCode: codes.district },
    { username: 'viewer', role: 'viewer', areaCode: codes.street },
    { username: 'gridworker', role: 'grid_worker', areaCode: codes.grid },
  ];
  const lines = ['# wangge demo accounts (embedded demo only). Passwords are random; keep this file private.', ''];
  for (const a of accounts) {
    const password = crypto.randomBytes(12).toString('base64url');
    const { id } = await createUser(pool, { ...a, password });
    // The demo department account works the urban-management queue.
    if (a.role === 'department') await pool.query(`UPDATE users SET department_code = 'urban_management' WHERE id = $1`, [id]);
    lines.push(`${a.username.padEnd(12)} ${password}  role=${a.role} area=${a.areaCode}`);
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  console.log(`[wangge] demo accounts (also in ${file}):\n${lines.slice(2).map((l) => `  ${l}`).join('\n')}`);
}

/** Progress printed as one updating line on a terminal, as plain lines otherwise. */
export function consoleProgress(task: string) {
  let last = '';
  return (step: string, done: number, total: number) => {
    const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
    const line = `[${task}] ${step}: ${done}/${total} (${pct}%)`;
    if (line === last) return;
    last = line;
    if (process.stdout.isTTY) process.stdout.write(`\r${line}\x1b[K${done >= total ? '\n' : ''}`);
    else if (done === 0 || done >= total || pct % 25 === 0) console.log(line);
  };
}
