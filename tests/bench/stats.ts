import http from 'node:http';

/** Small statistics for benchmark figures: medians and percentiles of samples. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export const median = (values: number[]) => percentile(values, 50);

/** Milliseconds taken by `fn`. */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export interface Row {
  what: string;
  ours: string;
  baseline: string;
  ratio: string;
  note?: string;
}

export function printTable(title: string, rows: Row[], head: Row = { what: 'benchmark', ours: 'ours', baseline: 'baseline', ratio: 'ratio', note: 'note' }) {
  const all = [head, ...rows];
  const w = (k: keyof Row) => Math.max(...all.map((r) => [...(r[k] ?? '')].length));
  const pad = (s: string, n: number) => s + ' '.repeat(Math.max(0, n - [...s].length));
  console.log(`\n## ${title}\n`);
  for (const [i, r] of all.entries()) {
    console.log(`| ${(['what', 'ours', 'baseline', 'ratio', 'note'] as const).map((k) => pad(r[k] ?? '', w(k))).join(' | ')} |`);
    if (i === 0) console.log(`|${(['what', 'ours', 'baseline', 'ratio', 'note'] as const).map((k) => '-'.repeat(w(k) + 2)).join('|')}|`);
  }
}

export const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '–');


const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/**
 * GET over a keep-alive connection, body drained; status and byte count. Lighter than fetch, so
 * the load generator measures the server rather than itself.
 */
export function httpGet(url: string, headers: Record<string, string> = { 'accept-encoding': 'gzip' }): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent, headers }, (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/** POST of a JSON body over a keep-alive connection, body drained; status and byte count (as httpGet). */
export function httpPost(url: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
