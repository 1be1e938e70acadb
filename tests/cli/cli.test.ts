import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { createTestDatabase, tempDir, type TestDatabase } from '../support/database.js';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

/** `pnpm cli …` against the test database. */
const cli = (args: string[], stdin = '') => runCli(args, { DATABASE_URL: database.url }, stdin);

describe('pnpm cli', { timeout: 120_000 }, () => {
  it('migrate reports the schema up to date', async () => {
    const r = await cli(['migrate']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/up to date/);
  });

  it('generate --preset tiny fills the database and prints counts and progress', async () => {
    const r = await cli(['generate', '--preset', 'tiny', '--seed', '3']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\[generate\] .*100%/);
    const { rows } = await database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM grids');
    expect(r.out).toContain(`grids: ${rows[0].n}`);
    expect(rows[0].n).toBeGreaterThan(0);
  });

  it('import prints counts and the report path, rejecting bad features one by one', async () => {
    const dir = tempDir('cli-import');
    const file = path.join(dir, 'b.geojson');
    const square = (x: number) => [[[x, 31.2], [x + 0.0002, 31.2], [x + 0.0002, 31.2002], [x, 31.2002], [x, 31.2]]];
    fs.writeFileSync(
      file,
      JSON.stringify({
        type: 'FeatureCollection',
        features: [
          { type: 'Feature', id: 'ok-1', properties: { name: '甲' }, geometry: { type: 'Polygon', coordinates: square(121.4) } },
          { type: 'Feature', id: 'bow-tie', properties: {}, geometry: { type: 'Polygon', coordinates: [[[121.41, 31.2], [121.4102, 31.2002], [121.4102, 31.2], [121.41, 31.2002], [121.41, 31.2]]] } },
        ],
      }),
    );
    const r = await cli(['import', '--layer', 'buildings', '--file', file, '--source', 'cli-test']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/1 imported .*1 rejected/);
    expect(r.out).toMatch(/report: .*import-report\.json/);
  });

  it('user add / list / disable / reset-password, password from standard input', async () => {
    const { rows } = await database.pool.query<{ code: string }>(`SELECT code FROM grids ORDER BY code LIMIT 1`);
    const add = await cli(['user', 'add', '--username', 'li.si', '--role', 'grid_worker', '--area', rows[0].code], 'a long enough passphrase\n');
    expect(add.code).toBe(0);
    expect(add.out).toMatch(/user li\.si created \(grid_worker, area \d{15}\), responder [0-9a-f-]{36}/);
    const stored = await database.pool.query(`SELECT password_hash FROM users WHERE username = 'li.si'`);
    expect(stored.rows[0].password_hash).toMatch(/^\$argon2id\$/);
    expect((await cli(['user', 'list'])).out).toMatch(/li\.si\s+grid_worker\s+\d{15}\s+active/);
    expect((await cli(['user', 'reset-password', '--username', 'li.si'], 'another long passphrase\n')).code).toBe(0);
    expect((await cli(['user', 'disable', '--username', 'li.si'])).out).toMatch(/disabled/);
    expect((await cli(['user', 'list'])).out).toMatch(/li\.si\s+grid_worker\s+\d{15}\s+disabled/);
    // Audit rows of this account only (the embedded test database is shared by files and its audit log is append-only).
    const audit = await database.pool.query(
      `SELECT action FROM audit_log WHERE action LIKE 'user.%' AND entity_id = (SELECT id::text FROM users WHERE username = 'li.si') ORDER BY id`,
    );
    expect(audit.rows.map((r) => r.action)).toEqual(['user.reset_password', 'user.disable']);
  });

  it('user add --department makes a department account; without it or with an unknown code, a clear refusal', async () => {
    const add = await cli(['user', 'add', '--username', 'cg.li', '--role', 'department', '--area', '310199', '--department', 'urban_management'], 'a long enough passphrase\n');
    expect(add.code).toBe(0);
    expect(add.out).toMatch(/user cg\.li created \(department, area 310199\), department urban_management/);
    const stored = await database.pool.query(`SELECT department_code FROM users WHERE username = 'cg.li'`);
    expect(stored.rows[0].department_code).toBe('urban_management');
    const unknown = await cli(['user', 'add', '--username', 'cg.wu', '--role', 'department', '--area', '310199', '--department', 'nope'], 'a long enough passphrase\n');
    expect(unknown.code).toBe(2);
    expect(unknown.out).toMatch(/no department "nope"; the departments: urban_management, /);
    expect((await database.pool.query(`SELECT 1 FROM users WHERE username = 'cg.wu'`)).rowCount).toBe(0);
  });

  it.each([
    [['user', 'add', '--username', 'nodep', '--role', 'department', '--area', '310199'], 2, /a department account needs --department CODE/],
    [['user', 'add', '--username', 'vdep', '--role', 'viewer', '--area', '310199', '--department', 'housing'], 2, /only department accounts have a department/],
    [['user', 'add', '--username', 'weak', '--role', 'viewer', '--area', '*'], 2, /only admins may have the whole installation/],
    [['user', 'add', '--username', 'nopw', '--role', 'viewer', '--area', '310199'], 2, /no password on standard input/],
    [['user', 'add', '--username', 'r', '--role', 'king', '--area', '310199'], 2, /--role must be one of/],
    [['user', 'disable', '--username', 'ghost'], 1, /no user "ghost"/],
    [['frobnicate'], 2, /unknown command "frobnicate"/],
    [['generate', '--preset', 'huge'], 2, /--preset must be one of tiny, demo, city/],
    [['generate', '--preset', 'tiny', '--seed', '-4'], 2, /Option '--seed' argument is ambiguous/],
    [['generate', '--preset', 'tiny', '--seed=-4'], 2, /--seed must be a non-negative integer/],
    [['generate', '--preset', 'tiny', '--seed=abc'], 2, /--seed must be a non-negative integer/],
    [['import', '--layer', 'parks', '--file', 'x'], 2, /--layer must be one of/],
    [['import', '--layer', 'roads'], 2, /--file is required/],
    [['import', '--layer', 'roads', '--file', '/nonexistent/roads.geojson'], 1, /error: .*nonexistent/],
    [['import', '--layer', 'roads', '--file', '/etc/hostname', '--crs', 'EPSG:999999'], 1, /error: /],
  ])('%j exits %i with a clear message', async (args, code, message) => {
    const r = await cli(args as string[]);
    expect(r.code).toBe(code);
    expect(r.out).toMatch(message);
    expect(r.out).not.toMatch(/^\s+at /m);
  });
});
