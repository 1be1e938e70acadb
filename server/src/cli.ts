import { parseArgs } from 'node:util';
import { loadConfig, ConfigError } from './config.js';
import { openDatabase, type Database } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';
import { dataDirOwner, DataDirOwnedError } from './db/data-lock.js';
import { consoleProgress } from './seed.js';
import { isAreaCode, isRole, ROLES } from './auth/permissions.js';
import { listAllUsers } from './modules/users/users.repository.js';
import { listDepartments } from './modules/incidents/incidents.repository.js';
import { ApiError } from './plugins/errors.js';
import { createUser, disableByUsername, resetPasswordByUsername, UserInputError } from './modules/users/users.service.js';
import { generate, importGeoJson, LAYERS, PRESETS, type Layer, type Preset } from '@wangge/geo-data';

const USAGE = `usage: pnpm cli <command> [options]

commands:
  migrate                                   apply pending migrations
  generate --preset tiny|demo|city [--seed N]
                                            generate a synthetic district (replaces existing data)
  import --layer buildings|roads|areas|grids --file F [--crs GCJ02|BD09|EPSG:code] [--source NAME] [--report F]
                                            import GeoJSON; invalid features are rejected one by one and reported

  user add --username U --role ROLE --area CODE|* [--name DISPLAY] [--department CODE]
                                            create an account; the password is read from standard input;
                                            a department account needs --department (its queue)
  user list                                 list accounts
  user disable --username U                 disable an account and end its sessions
  user reset-password --username U          set a new password (read from standard input), ending its sessions

Roles: admin, commander, planner, grid_worker, department, viewer. Area: a 6/9/12-digit area code,
a 15-digit grid code, or * (whole installation, admins only). Departments: urban_management,
market_regulation, public_security, housing, fire_rescue, greening, civil_affairs (and any added since).
The database is DATABASE_URL when set, else the embedded database in DATA_DIR (default .data/). While a
server runs on DATA_DIR, the user commands go through it; migrate, generate and import need it stopped.`;

class UsageError extends Error {}

/**
 * Runs `fn` on the database: DATABASE_URL, else the embedded database in DATA_DIR, which this
 * process then owns for the command's duration (db/data-lock.ts). While a server owns DATA_DIR, a
 * `user` command (`viaServer`) goes through the database socket the server serves there — its
 * change is the server's at once (sessions ended, a new account signs in); any other command is
 * refused: it would need the folder to itself.
 */
async function withDatabase<T>(command: string, fn: (db: Database) => Promise<T>, opts: { viaServer?: boolean } = {}): Promise<T> {
  const config = loadConfig();
  const owner = config.databaseUrl ? undefined : dataDirOwner(config.dataDir);
  if (owner && !(opts.viaServer && owner.kind === 'server' && owner.url)) {
    throw new DataDirBusyError(
      owner.kind === 'server'
        ? `\`${command}\` needs the embedded database to itself, and a wangge server (pid ${owner.pid}) is running on ${config.dataDir}: ` +
          'stop the server (Ctrl-C in its terminal), run the command, then start the server again'
        : new DataDirOwnedError(config.dataDir, owner).message,
    );
  }
  const database = owner
    ? await openDatabase({ databaseUrl: owner.url, dataDir: '', poolSize: 2 })
    : await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, owner: 'cli' }).catch((err) => {
        throw err instanceof DataDirOwnedError ? new DataDirBusyError(err.message) : err;
      });
  try {
    // The server migrated its database when it started.
    if (!owner) await migrateToLatest(database.db);
    return await fn(database);
  } finally {
    await database.close();
  }
}

/** The data folder is another process's: exit 1 with the message, no usage text. */
class DataDirBusyError extends Error {}

async function run(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'migrate': {
      await withDatabase('migrate', async () => {});
      console.log('migrations: up to date');
      return;
    }
    case 'generate': {
      const { values } = parseArgs({ args: rest, options: { preset: { type: 'string' }, seed: { type: 'string', default: '1' } } });
      const preset = values.preset as Preset | undefined;
      if (!preset || !(PRESETS as readonly string[]).includes(preset)) throw new UsageError(`--preset must be one of ${PRESETS.join(', ')}`);
      const seed = Number(values.seed);
      if (!Number.isInteger(seed) || seed < 0) throw new UsageError('--seed must be a non-negative integer');
      const started = Date.now();
      const result = await withDatabase('generate', (db) => generate(db.pool, { preset, seed, onProgress: consoleProgress('generate') }));
      console.log(`generated preset ${preset} (seed ${seed}) in ${((Date.now() - started) / 1000).toFixed(1)} s:`, result.counts);
      return;
    }
    case 'import': {
      const { values } = parseArgs({
        args: rest,
        options: {
          layer: { type: 'string' },
          file: { type: 'string' },
          crs: { type: 'string' },
          source: { type: 'string' },
          report: { type: 'string' },
        },
      });
      const layer = values.layer as Layer | undefined;
      if (!layer || !(LAYERS as readonly string[]).includes(layer)) throw new UsageError(`--layer must be one of ${LAYERS.join(', ')}`);
      if (!values.file) throw new UsageError('--file is required');
      const result = await withDatabase('import', (db) =>
        importGeoJson(db.pool, {
          layer,
          file: values.file!,
          crs: values.crs,
          source: values.source,
          reportFile: values.report,
          onProgress: consoleProgress(`import ${layer}`),
        }),
      );
      console.log(
        `import ${layer}: ${result.imported} imported (${result.inserted} new, ${result.updated} updated), ${result.rejected} rejected; report: ${result.reportFile}`,
      );
      for (const [reason, n] of Object.entries(result.rejectedByReason)) console.log(`  rejected ${n}: ${reason}`);
      return;
    }
    case 'user':
      await userCommand(rest);
      return;
    case undefined:
    case 'help':
    case '--help':
      console.log(USAGE);
      return;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/** Reads a password from standard input (piped or typed; the first line). */
async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('password: ');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
    if (Buffer.concat(chunks).includes(10)) break;
  }
  const password = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0];
  if (!password) throw new UsageError('no password on standard input (e.g. `printf %s "$PW" | pnpm cli user add …`)');
  return password;
}

async function userCommand(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: { username: { type: 'string' }, role: { type: 'string' }, area: { type: 'string' }, name: { type: 'string' }, department: { type: 'string' } },
  });
  const need = (v: string | undefined, flag: string) => {
    if (!v) throw new UsageError(`--${flag} is required`);
    return v;
  };
  switch (sub) {
    case 'add': {
      const username = need(values.username, 'username');
      const role = need(values.role, 'role');
      const areaCode = need(values.area, 'area');
      if (!isRole(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
      if (!isAreaCode(areaCode)) throw new UsageError('--area must be * or a 6/9/12-digit area code or a 15-digit grid code');
      if (areaCode === '*' && role !== 'admin') throw new UsageError('only admins may have the whole installation (*) as their area');
      if (role === 'department' && !values.department) throw new UsageError('a department account needs --department CODE (its queue)');
      if (role !== 'department' && values.department) throw new UsageError(`only department accounts have a department (role ${role})`);
      const password = await readPassword();
      const departmentCode = values.department;
      const created = await withDatabase('user add', (db) =>
        createUser(db.db, { username, password, role, areaCode, displayName: values.name, departmentCode }).catch(async (err) => {
          // An unknown department: say which there are.
          if (err instanceof ApiError && err.code === 'UNKNOWN_DEPARTMENT') {
            throw new UsageError(`${err.message}; the departments: ${(await listDepartments(db.db)).map((d) => d.code).join(', ')}`);
          }
          return asUsageError(err);
        }), { viaServer: true });
      const extra = [created.responderId && `responder ${created.responderId}`, created.departmentCode && `department ${created.departmentCode}`].filter(Boolean);
      console.log(`user ${username} created (${role}, area ${areaCode})${extra.map((e) => `, ${e}`).join('')}`);
      return;
    }
    case 'list': {
      const users = await withDatabase('user list', (db) => listAllUsers(db.db), { viaServer: true });
      if (!users.length) console.log('no users');
      for (const u of users) console.log(`${u.username.padEnd(24)} ${u.role.padEnd(12)} ${u.areaCode.padEnd(16)} ${u.disabled ? 'disabled' : 'active  '} ${u.createdOn}`);
      return;
    }
    case 'disable': {
      const username = need(values.username, 'username');
      const found = await withDatabase('user disable', (db) => disableByUsername(db.db, username), { viaServer: true });
      if (!found) throw new Error(`no user "${username}"`);
      console.log(`user ${username} disabled; its sessions ended`);
      return;
    }
    case 'reset-password': {
      const username = need(values.username, 'username');
      const password = await readPassword();
      const found = await withDatabase('user reset-password', (db) => resetPasswordByUsername(db.db, username, password).catch(asUsageError), { viaServer: true });
      if (!found) throw new Error(`no user "${username}"`);
      console.log(`password of ${username} reset; its sessions ended`);
      return;
    }
    default:
      throw new UsageError(`unknown user command "${sub ?? ''}": add, list, disable, reset-password`);
  }
}

/** A field the user typed wrong (UserInputError) is a usage error. */
function asUsageError(err: unknown): never {
  throw err instanceof UserInputError ? new UsageError(err.message) : err;
}

/** Node's argument parser throws plain errors; they are usage errors to the user. */
function usageErrorOf(err: unknown): unknown {
  const code = (err as { code?: string })?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS') ? new UsageError((err as Error).message) : err;
}

run(process.argv.slice(2)).catch((err) => Promise.reject(usageErrorOf(err))).then(
  () => process.exit(0),
  (err) => {
    if (err instanceof UsageError) console.error(`error: ${err.message}\n\n${USAGE}`);
    else if (err instanceof ConfigError) console.error(`configuration error: ${err.message}`);
    else console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
