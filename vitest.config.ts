import { defineConfig } from 'vitest/config';

const external = Boolean(process.env.TEST_DATABASE_URL);

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts', 'web/src/**/*.test.ts', 'geo-data/src/**/*.test.ts'],
    globalSetup: ['tests/support/global-setup.ts'],
    testTimeout: 60_000,
    // expect.poll waits up to 10 s (vitest's default is 1 s): browser tests wait for the map, the
    // live stream or a refetch, which a loaded CI machine can stretch past a second.
    expect: { poll: { timeout: 10_000 } },
    hookTimeout: 180_000,
    // The embedded database serves one process: its test files share it and run one at a time.
    fileParallelism: external,
    maxWorkers: external ? 2 : 1,
    reporters: ['default'],
  },
});
