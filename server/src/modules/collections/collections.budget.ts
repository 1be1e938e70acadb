/**
 * The per-user read budget of the collections' items pages, counted in features served rather than
 * in requests.
 *
 * Why not requests: standard OGC API Features clients page a collection by its `next` links with
 * small pages — GDAL 3.6's OAPIF driver asks `limit=10`, so exporting the demo district's six
 * collections (~8,900 features) takes ~900 requests in a few seconds, and a budget of 600 requests
 * a minute refused it half-way. What costs the server is what it serves, so a request is charged
 * the features it returned, but at least `minimumCost` (the page and count statements every request
 * runs however small its page). A token bucket per user holds one minute's worth and refills
 * continuously: an export of a whole demo district (~45,000 with GDAL's small pages) fits many
 * times over, while a client repeating large reads (e.g. `limit=10000` of the buildings, 5,596 a
 * time) or a flood of tiny requests runs dry and is answered 429 `RATE_LIMITED` with the
 * `Retry-After` seconds until it may read again.
 *
 * Per process, like the other request budgets (`@fastify/rate-limit`, memory store).
 */
export interface FeatureBudgetPolicy {
  /** Features one user may be served per minute (and the bucket's size: one minute's worth). */
  featuresPerMinute: number;
  /** What one request costs at least, in features. */
  minimumCost: number;
}

export const ITEMS_BUDGET: FeatureBudgetPolicy = { featuresPerMinute: 100_000, minimumCost: 50 };

interface Bucket {
  tokens: number;
  at: number;
}

export class FeatureBudget {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  constructor(
    readonly policy: FeatureBudgetPolicy = ITEMS_BUDGET,
    private readonly now: () => number = Date.now,
  ) {
    this.perMs = policy.featuresPerMinute / 60_000;
  }

  private bucket(key: string): Bucket {
    const t = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= 10_000) this.prune(t);
      b = { tokens: this.policy.featuresPerMinute, at: t };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(this.policy.featuresPerMinute, b.tokens + (t - b.at) * this.perMs);
    b.at = t;
    return b;
  }

  /** 0 when `key` may be served now; otherwise the whole seconds until it may. */
  retryAfterSeconds(key: string): number {
    const b = this.bucket(key);
    // (A hair of tolerance: the refill is summed in floating point, request by request.)
    if (b.tokens >= this.policy.minimumCost - 1e-6) return 0;
    return Math.max(1, Math.ceil((this.policy.minimumCost - b.tokens) / this.perMs / 1000));
  }

  /** Charges what was served: `features`, at least the minimum cost. The bucket may go into debt. */
  charge(key: string, features: number): void {
    this.bucket(key).tokens -= Math.max(features, this.policy.minimumCost);
  }

  /** Forgets users whose buckets have filled up again (they are as good as new). */
  private prune(t: number) {
    for (const [key, b] of this.buckets) {
      if (b.tokens + (t - b.at) * this.perMs >= this.policy.featuresPerMinute) this.buckets.delete(key);
    }
  }
}
