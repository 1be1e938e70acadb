import { tempDir } from '../support/database.js';
import { startServerProcess } from '../support/server-process.js';
import { fmt, type Row } from './stats.js';

/** Embedded first start (initdb + PostGIS + migrate + demo generation) and a later start on the same folder. */
export async function benchEmbeddedStart(): Promise<Row[]> {
  const dir = tempDir('bench-embedded');
  const first = await startServerProcess(dir);
  await first.stop();
  const second = await startServerProcess(dir);
  await second.stop();
  return [
    { what: 'embedded first start (incl. demo generation)', ours: `${fmt(first.startMs / 1000)} s`, baseline: '', ratio: '', note: 'process spawn → ready' },
    { what: 'embedded later start', ours: `${fmt(second.startMs / 1000)} s`, baseline: `${fmt(first.startMs / 1000)} s first`, ratio: `${fmt(first.startMs / second.startMs, 1)}× faster`, note: '' },
  ];
}
