/**
 * `pnpm bench`: benchmark figures on the city preset (BENCH_DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/wangge_bench, generated on first use; BENCH_ONLY picks tables).
 * Nothing here asserts; machines are noisy, so every figure that matters is a ratio measured in
 * the same run.
 *
 * Two modes:
 *  - default (tables.ts): this checkout against its own baselines — the endpoint vs the raw SQL it
 *    runs, SSE vs a bare Node loop, sign-in work, map start-up, embedded start.
 *    BENCH_ONLY=tiles,collections,candidates,intake,kpi,planner,sse,login,map,embedded (default: all).
 *  - before/after (side-by-side.ts), when BENCH_BASELINE_DIR names another checkout, e.g. of the
 *    commit before a change (`git clone /work/main /work/bench-old && git -C /work/bench-old
 *    checkout <commit> && (cd /work/bench-old && pnpm install --frozen-lockfile)`): this checkout's
 *    API ("new") and that checkout's API ("old") run as two processes on the same benchmark
 *    database, and every HTTP benchmark alternates between them in one run; each figure is
 *    printed as new, old and new/old, and one more than 10 % worse on the new side is flagged.
 *      BENCH_BASELINE_DIR=/work/bench-old pnpm bench
 *    BENCH_ONLY=tiles,collections,incidents,candidates,responders,intake (default: all of these).
 *    BENCH_NEW_DIR=/other/checkout replaces this checkout as the new side: with a second clone of
 *    the old commit the run is A/A and its ratios show the noise floor (≈ 1.0).
 *    Set-up (schema, preset, bench accounts) uses the old checkout's code and the new side is only
 *    reached over HTTP, so a broken new server is reported as FAILED next to the old figures.
 */
export {};

const baselineDir = process.env.BENCH_BASELINE_DIR;

if (baselineDir) {
  const { sideBySide, SIDE_BY_SIDE_BENCHES } = await import('./side-by-side.js');
  try {
    await sideBySide({
      baselineDir,
      newDir: process.env.BENCH_NEW_DIR,
      databaseUrl: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/wangge_bench',
      only: new Set((process.env.BENCH_ONLY ?? SIDE_BY_SIDE_BENCHES.join(',')).split(',').map((s) => s.trim()).filter(Boolean)),
    });
  } catch (err) {
    console.error(err);
    process.exit(1);
  }
} else {
  await import('./tables.js');
}
