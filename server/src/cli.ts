import { parseArgs } from 'node:util';
import { loadConfig, ConfigError } from './config.js';
import { openDatabase, type Database } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';
import { consoleProgress } from './seed.js';
import { generate, importGeoJson, LAYERS, PRESETS, type Layer, type Preset } from '@wangge/geo-data';

const USAGE = `usage: pnpm cli <command> [options]

commands:
  migrate                                   apply pending migrations
  generate --preset tiny|demo|city [--seed N]
                                            generate a synthetic district (replaces existing data)
  import --layer buildings|roads|areas|grids --file F [--crs GCJ02|BD09|EPSG:code] [--source NAME] [--report F]
                                            import GeoJSON; invalid features are rejected one by one and reported

The database is DATABASE_URL when set, else the embedded database in DATA_DIR (default .data/).`;

class UsageError extends Error {}

async function withDatabase<T>(fn: (db: Database) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await migrateToLatest(database.db);
    return await fn(database);
  } finally {
    await database.close();
  }
}

async function run(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'migrate': {
      await withDatabase(async () => {});
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
      const result = await withDatabase((db) => generate(db.pool, { preset, seed, onProgress: consoleProgress('generate') }));
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
      const result = await withDatabase((db) =>
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
    case undefined:
    case 'help':
    case '--help':
      console.log(USAGE);
      return;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
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
