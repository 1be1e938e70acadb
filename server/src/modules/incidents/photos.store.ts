/**
 * The bytes of incident photos: what type they are (by magic bytes, never by the declared type
 * alone), and the optional photo folder (`command.photoDir`) where they are kept under their
 * SHA-256 instead of in the database.
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

/** Writes the bytes under their hash unless already there (content-addressed: same bytes, same file). */
export async function writePhotoFile(dir: string, sha: string, data: Buffer): Promise<void> {
  const file = photoPath(dir, sha);
  try {
    await fs.access(file);
    return;
  } catch {
    // not there yet
  }
  await fs.mkdir(path.dirname(file), { recursive: true });
  // Written aside and renamed, so a reader never sees half a file.
  const tmp = `${file}.${crypto.randomBytes(6).toString('hex')}.tmp`;
  await fs.writeFile(tmp, data);
  await fs.rename(tmp, file);
}

/** The bytes kept in the folder under `sha`, or null when the file is missing. */
export async function readPhotoFile(dir: string, sha: string): Promise<Buffer | null> {
  return fs.readFile(photoPath(dir, sha)).catch(() => null);
}
