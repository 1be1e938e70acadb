/**
 * The bytes of incident photos: what type they are (by magic bytes, never by the declared type
 * alone), and the optional photo folder (`command.photoDir`) where they are kept under their
 * SHA-256 instead of in the database: written aside, moved into place once their row committed,
 * and swept of orphans (files no row names) when the photo routes start.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { PHOTO_TYPES } from './incidents.schemas.js';

export type PhotoType = (typeof PHOTO_TYPES)[number];

/** The image type the bytes say they are (magic numbers), if one we accept. */
export function sniffImage(b: Buffer): PhotoType | undefined {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') return 'image/webp';
  return undefined;
}

export const sha256Of = (data: Buffer) => crypto.createHash('sha256').update(data).digest('hex');

const photoPath = (dir: string, sha: string) => path.join(dir, sha.slice(0, 2), sha);

/** A photo's bytes written aside under a temporary name, waiting for its row to commit. */
export interface PendingPhotoFile {
  /** Moves the bytes into place under their hash (after the row committed). */
  commit(): Promise<void>;
  /** Removes the temporary file (the row did not commit). */
  discard(): Promise<void>;
}

/**
 * Writes the bytes to a temporary name beside their place (`<sha>.<random>.tmp`); nothing is under
 * the hash until `commit`, which renames it there (atomic, so a reader never sees half a file; the
 * same bytes replace the same bytes when the file is already there, and the fresh modification
 * time tells the orphan sweep it is in use).
 */
export async function writePendingPhotoFile(dir: string, sha: string, data: Buffer): Promise<PendingPhotoFile> {
  const file = photoPath(dir, sha);
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${crypto.randomBytes(6).toString('hex')}.tmp`;
  try {
    await fs.writeFile(tmp, data);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  return {
    commit: () => fs.rename(tmp, file),
    discard: () => fs.rm(tmp, { force: true }),
  };
}

/** The bytes kept in the folder under `sha`, or null when the file is missing. */
export async function readPhotoFile(dir: string, sha: string): Promise<Buffer | null> {
  return fs.readFile(photoPath(dir, sha)).catch(() => null);
}

/**
 * Files younger than this are left alone by the sweep: another API process may be between writing
 * a photo's temporary file and committing its row, or between the commit and the rename.
 */
export const ORPHAN_GRACE_MS = 10 * 60_000;

const SHA_DIR = /^[0-9a-f]{2}$/;
const PHOTO_FILE = /^([0-9a-f]{64})(\.[0-9a-f]+\.tmp)?$/;

interface PhotoFile {
  file: string;
  sha: string;
  tmp: boolean;
}

/** The files of the folder named as this store names them (`ab/<sha>`, `ab/<sha>.<random>.tmp`); nothing else is touched. */
async function photoFiles(dir: string): Promise<PhotoFile[]> {
  const top = await fs.readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  const found: PhotoFile[] = [];
  for (const sub of top) {
    if (!sub.isDirectory() || !SHA_DIR.test(sub.name)) continue;
    for (const f of await fs.readdir(path.join(dir, sub.name), { withFileTypes: true })) {
      const m = PHOTO_FILE.exec(f.name);
      if (!f.isFile() || !m || !m[1].startsWith(sub.name)) continue;
      found.push({ file: path.join(dir, sub.name, f.name), sha: m[1], tmp: m[2] !== undefined });
    }
  }
  return found;
}

const exists = (file: string) => fs.access(file).then(() => true, () => false);

/**
 * Removes the folder's orphans — files whose hash no photo row names, and temporary files left by
 * an upload that never committed — when older than `graceMs`. A temporary file whose row did
 * commit (the process stopped before the rename) is moved into place instead. `named` answers
 * which of the given hashes rows name. Returns the number of files removed.
 */
export async function removeOrphanPhotoFiles(
  dir: string,
  named: (shas: string[]) => Promise<Set<string>>,
  graceMs = ORPHAN_GRACE_MS,
): Promise<number> {
  const startedAt = Date.now();
  const files = await photoFiles(dir);
  const known = new Set<string>();
  const shas = [...new Set(files.map((f) => f.sha))];
  for (let i = 0; i < shas.length; i += 1000) for (const sha of await named(shas.slice(i, i + 1000))) known.add(sha);
  let removed = 0;
  for (const f of files) {
    // Checked again just before acting: a file written since the listing is in use.
    const stat = await fs.stat(f.file).catch(() => null);
    if (!stat || stat.mtimeMs > startedAt - graceMs) continue;
    if (f.tmp && known.has(f.sha) && !(await exists(photoPath(dir, f.sha)))) {
      await fs.rename(f.file, photoPath(dir, f.sha));
      continue;
    }
    if (f.tmp || !known.has(f.sha)) {
      await fs.rm(f.file, { force: true });
      removed++;
    }
  }
  return removed;
}
