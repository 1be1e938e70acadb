import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { COMMAND_CENTRE_ACTOR, generate } from '@wangge/geo-data';
import type { Database } from './db/database.js';
import type { Role } from './auth/permissions.js';
import { createUser } from './modules/users/users.service.js';
import { bindGeneratedActors, firstGridCode, hasNoAreas } from './demo/seed.repository.js';

/**
 * Generates the demo district when the database holds no areas yet. With `demoUsersFile`, also
 * creates one account of each role with a random password, written to that file (main.ts prints
 * them once the server is ready: demoAccountsFrame).
 */
export async function seedDemoIfEmpty(database: Pick<Database, 'pool' | 'db'>, opts: { demoUsersFile?: string } = {}): Promise<boolean> {
  if (!(await hasNoAreas(database.db))) return false;
  console.log('[wangge] empty database: generating the demo district (preset demo, seed 1)');
  await generate(database.pool, { preset: 'demo', seed: 1, onProgress: consoleProgress('generate') });
  if (opts.demoUsersFile) {
    await createDemoUsers(database.db, opts.demoUsersFile);
    // The generated timelines' steps become the demo commander's (its own, or on a handler's behalf).
    await bindGeneratedActors(database.db, COMMAND_CENTRE_ACTOR);
  }
  return true;
}

/** One account per role, scoped like real users would be; passwords random, never in the code. */
async function createDemoUsers(db: Database['db'], file: string): Promise<void> {
  // Codes are prefixes: a grid's code starts with its community's (12), street's (9) and district's (6).
  const grid = (await firstGridCode(db))!;
  const district = grid.slice(0, 6);
  // Display names as real users have them (the username is for signing in; the name is what others see).
  const accounts: { username: string; displayName: string; role: Role; areaCode: string; departmentCode?: string }[] = [
    { username: 'admin', displayName: '系统管理员', role: 'admin', areaCode: '*' },
    { username: 'commander', displayName: '张志远（值班长）', role: 'commander', areaCode: district },
    { username: 'planner', displayName: '李雯（规划科）', role: 'planner', areaCode: district },
    // The demo department account works the urban-management queue.
    { username: 'department', displayName: '周建国（城管执法中队）', role: 'department', areaCode: district, departmentCode: 'urban_management' },
    { username: 'viewer', displayName: '陈晓（街道办）', role: 'viewer', areaCode: grid.slice(0, 9) },
    { username: 'gridworker', displayName: '王丽华', role: 'grid_worker', areaCode: grid },
  ];
  const lines = ['# wangge demo accounts (embedded demo only). Passwords are random; keep this file private.', ''];
  for (const a of accounts) {
    const password = crypto.randomBytes(12).toString('base64url');
    await createUser(db, { ...a, password });
    lines.push(`${a.username.padEnd(12)} ${password}  role=${a.role} area=${a.areaCode}`);
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  // Printed by main.ts once the server is ready (demoAccountsFrame), as the last thing on screen.
}

/**
 * The demo accounts as a framed block for the terminal, printed last once the server is ready.
 * `created`: the accounts were made by this start — the frame lists them (username, password, role,
 * area) from `file`; on later starts it only names the file (its passwords may have been changed since).
 */
export function demoAccountsFrame(file: string, opts: { created: boolean; url: string }): string {
  const accounts = opts.created
    ? fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#'))
    : [];
  const body = opts.created
    ? [...accounts, '', `Also in ${file} (keep it private).`, `Sign in at ${opts.url}`]
    : [`Passwords of the demo accounts (admin, commander, planner, department, viewer, gridworker):`, file];
  const title = ' wangge demo accounts ';
  const width = Math.max(title.length + 2, ...body.map((l) => l.length));
  return [
    `┌─${title}${'─'.repeat(width - title.length + 1)}┐`,
    ...body.map((l) => `│ ${l.padEnd(width)} │`),
    `└${'─'.repeat(width + 2)}┘`,
  ].join('\n');
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
