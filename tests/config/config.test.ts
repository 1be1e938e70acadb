import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_COMMAND_CONFIG, EnvSchema, loadConfig, repoRoot } from '../../server/src/config.js';
import { DEFAULT_LOGIN_POLICY } from '../../server/src/auth/login-policy.js';
import { DEFAULT_LIVE_SETTINGS } from '../../server/src/live/settings.js';

describe('configuration from the environment', () => {
  it('an empty environment gives the defaults: embedded database, demo seeded and simulated', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      host: '0.0.0.0',
      databaseUrl: undefined,
      dataDir: path.join(repoRoot, '.data'),
      seedDemo: true,
      simulateDemo: true,
      logLevel: 'info',
      logFormat: 'auto',
      bodyLimitBytes: 2 * 1024 * 1024,
      trustProxy: false,
    });
    expect(config.command).toEqual({ ...DEFAULT_COMMAND_CONFIG, warmGraphOnStart: true });
    expect(config.live).toEqual(DEFAULT_LIVE_SETTINGS);
  });

  it('an empty value counts as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '', LIVE_POLL_MS: '' })).toMatchObject({ port: 3000, databaseUrl: undefined, live: { pollMs: 5000 } });
  });

  it('an external database turns the demo off unless asked for; flags read 1/true/yes and 0/false/no', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://h/db' })).toMatchObject({ seedDemo: false, simulateDemo: false });
    expect(loadConfig({ DATABASE_URL: 'postgresql://h/db', SEED_DEMO: 'YES', TRUST_PROXY: '1', WARM_ROUTING_GRAPH: 'no' })).toMatchObject({
      seedDemo: true,
      trustProxy: true,
      command: { warmGraphOnStart: false },
    });
  });

  it('dispatch and live settings come from the same schema', () => {
    const config = loadConfig({ DISPATCH_OWN_GRID_EXTRA_SECONDS: '60', LIVE_POLL_MS: '3600000', LIVE_MAX_STREAMS_PER_USER: '2' });
    expect(config.command.ownGridExtraSeconds).toBe(60);
    expect(config.live).toMatchObject({ pollMs: 3_600_000, maxStreamsPerUser: 2 });
  });

  it('sign-in throttle numbers, the photo budget and the public URL come from the environment', () => {
    expect(loadConfig({}).login).toEqual(DEFAULT_LOGIN_POLICY);
    expect(loadConfig({}).publicUrl).toBe('http://localhost:3000');
    const config = loadConfig({
      PORT: '8080', LOGIN_MAX_PER_ACCOUNT_ADDRESS: '3', LOGIN_MAX_PER_ACCOUNT: '20', LOGIN_MAX_PER_ADDRESS: '100',
      LOGIN_WINDOW_SECONDS: '600', LOGIN_DELAY_BASE_SECONDS: '2', LOGIN_DELAY_MAX_SECONDS: '60', PHOTO_BUDGET_PER_HOUR: '10',
    });
    expect(config.login).toEqual({ windowSeconds: 600, maxPerAccountAddress: 3, maxPerAccount: 20, maxPerAddress: 100, delayBaseSeconds: 2, delayMaxSeconds: 60 });
    expect(config.publicUrl).toBe('http://localhost:8080');
    expect(config.command.photoBudgetPerHour).toBe(10);
    expect(loadConfig({ PUBLIC_URL: 'https://wangge.example.org' }).publicUrl).toBe('https://wangge.example.org');
    expect(() => loadConfig({ PUBLIC_URL: 'https://wangge.example.org/path' })).toThrow(/PUBLIC_URL must be an http\(s\) URL/);
    expect(() => loadConfig({ PUBLIC_URL: 'javascript:alert(1)' })).toThrow(ConfigError);
  });

  it.each([
    ['PORT', '70000', 'PORT must be an integer between 0 and 65535, got "70000"'],
    ['PORT', '1.5', 'PORT must be an integer between 0 and 65535, got "1.5"'],
    ['LIVE_POLL_MS', '10', 'LIVE_POLL_MS must be an integer between 50 and 3600000, got "10"'],
    ['RESPONDER_ONLINE_SECONDS', 'soon', 'RESPONDER_ONLINE_SECONDS must be an integer between 10 and 86400, got "soon"'],
    ['TRUST_PROXY', 'maybe', 'TRUST_PROXY must be true or false, got "maybe"'],
    ['LOG_LEVEL', 'loud', 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"'],
    ['LOG_FORMAT', 'fancy', 'LOG_FORMAT must be one of auto, pretty, json, got "fancy"'],
  ])('a bad %s (%s) stops the start, naming the variable and what it allows', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });

  it('a DATABASE_URL that is not PostgreSQL is refused without repeating it (it may hold a password)', () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://user:secret@h/db' })).toThrow('DATABASE_URL must start with postgres:// or postgresql://');
    expect(() => loadConfig({ DATABASE_URL: 'mysql://user:secret@h/db' })).not.toThrow(/secret/);
  });

  it("README's configuration table lists every variable of the schema", () => {
    const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    const missing = Object.keys(EnvSchema.properties).filter((name) => !readme.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });
});
