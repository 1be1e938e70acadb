import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { escalateOverdueForSystem } from '../modules/incidents/incidents.service.js';
import { applyDueGridPlansForSystem } from '../modules/planner/planner.service.js';
import { purgeExpiredKeys } from '../write/idempotency.repository.js';
import { pruneLiveEventsForSystem } from '../live/live.repository.js';
import { purgeEndedCounters } from '../auth/throttle.repository.js';

/** How often overdue incidents are escalated (督办) and expired idempotency keys purged. */
export const ESCALATION_INTERVAL_MS = 60_000;

/** Work the system does on an interval, not on a request. */
export interface SystemJob {
  name: string;
  everyMs: number;
  /** First run this long after start (default: after `everyMs`), so that short-lived processes run it too. */
  firstAfterMs?: number;
  /** The job itself; one that must run in one API process at a time says so by taking a lock (as the escalation does). */
  run(): Promise<unknown>;
}

/** The system's jobs; each is unscoped work under a `…ForSystem` / `…Unscoped` name. */
function systemJobs(app: FastifyInstance, opts: TimersOptions): SystemJob[] {
  return [
    { name: 'escalation', everyMs: ESCALATION_INTERVAL_MS, run: () => escalateOverdueForSystem({ db: app.db, live: app.live }) },
    // Grid plans whose date has come take effect (issue 13), each exactly once.
    { name: 'grid plans', everyMs: ESCALATION_INTERVAL_MS, run: () => applyDueGridPlansForSystem({ db: app.db, live: app.live }) },
    { name: 'idempotency-key purge', everyMs: ESCALATION_INTERVAL_MS, run: () => purgeExpiredKeys(app.db) },
    { name: 'sign-in counter purge', everyMs: ESCALATION_INTERVAL_MS, run: () => purgeEndedCounters(app.db, opts.loginWindowSeconds) },
    {
      name: 'live-event pruning',
      everyMs: app.liveHub.settings.retentionIntervalMs,
      firstAfterMs: Math.min(60_000, app.liveHub.settings.retentionIntervalMs),
      run: async () => {
        const { retentionDays } = app.liveHub.settings;
        const n = await pruneLiveEventsForSystem(app.db, retentionDays);
        if (n) app.log.info(`live: pruned ${n} events older than ${retentionDays} days`);
      },
    },
  ];
}

export interface TimersOptions {
  /** The sign-in throttle's window (auth/login-policy.ts): counters whose window ended are purged. */
  loginWindowSeconds: number;
}

/**
 * Runs the system's jobs on their intervals once the app is ready. A job never overlaps itself in
 * this process (a tick while it still runs is skipped); a failure is logged and the next tick
 * tries again; closing the app waits for running jobs.
 */
export default fp(
  async function timers(app: FastifyInstance, opts: TimersOptions) {
    const timers: NodeJS.Timeout[] = [];
    const running = new Map<string, Promise<void>>();
    const tick = (job: SystemJob) => {
      if (running.has(job.name)) return;
      const run = job
        .run()
        .then(() => undefined, (err: unknown) => app.log.warn({ err }, `${job.name} failed`))
        .finally(() => running.delete(job.name));
      running.set(job.name, run);
    };
    app.addHook('onReady', async () => {
      for (const job of systemJobs(app, opts)) {
        // Timers never keep the process alive by themselves.
        timers.push(setInterval(() => tick(job), job.everyMs).unref());
        if (job.firstAfterMs !== undefined) timers.push(setTimeout(() => tick(job), job.firstAfterMs).unref());
      }
    });
    app.addHook('onClose', async () => {
      for (const t of timers) clearTimeout(t);
      await Promise.all(running.values());
    });
  },
  { name: 'timers', dependencies: ['database', 'live'] },
);
