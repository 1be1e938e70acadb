/** What the cache holds for one tile; `bytes` empty for a tile with no feature. */
export interface CachedTile {
  bytes: Buffer;
  /** Strong ETag of `bytes` (quoted), undefined for an empty tile. */
  etag?: string;
  /** gzip of `bytes`, kept for tiles worth compressing, with its own ETag. */
  gzip?: Buffer;
  gzipEtag?: string;
}

interface Entry {
  tile: CachedTile;
  size: number;
  expiresAt: number;
}

/** Bookkeeping per entry (key, map slot), so that many empty tiles still count against the budget. */
const ENTRY_OVERHEAD_BYTES = 200;

/**
 * An in-process LRU of encoded tiles, bounded by bytes, entries expiring after a short TTL so that
 * edits show up without explicit invalidation. Concurrent misses on one key share one fill.
 */
export class TileCache {
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Map<string, Promise<CachedTile>>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(
    readonly maxBytes: number,
    readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }

  /** The cached tile, or the result of `fill` (stored unless larger than the whole cache). */
  async getOrFill(key: string, fill: () => Promise<CachedTile>): Promise<CachedTile> {
    const hit = this.get(key);
    if (hit) {
      this.hits++;
      return hit;
    }
    this.misses++;
    const inFlight = this.pending.get(key);
    if (inFlight) return inFlight;
    const promise = fill()
      .then((tile) => {
        this.set(key, tile);
        return tile;
      })
      .finally(() => this.pending.delete(key));
    this.pending.set(key, promise);
    return promise;
  }

  get(key: string): CachedTile | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= this.now()) {
      this.bytes -= entry.size;
      return undefined;
    }
    this.entries.set(key, entry); // most recently used last
    return entry.tile;
  }

  set(key: string, tile: CachedTile): void {
    const size = tile.bytes.length + (tile.gzip?.length ?? 0) + ENTRY_OVERHEAD_BYTES;
    this.delete(key);
    if (size > this.maxBytes) return;
    this.entries.set(key, { tile, size, expiresAt: this.now() + this.ttlMs });
    this.bytes += size;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= entry.size;
    }
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entry.size;
  }

  /** Drops every tile whose key starts with `prefix` (all when omitted). */
  clear(prefix = ''): void {
    for (const key of [...this.entries.keys()]) if (key.startsWith(prefix)) this.delete(key);
  }
}
