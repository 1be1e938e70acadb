/**
 * Photos from a phone camera: large JPEGs (or formats the API does not take) are re-encoded to a
 * JPEG of at most {@link MAX_EDGE} pixels before upload, so they pass the API's limits (`GET
 * /api/meta`) and a weak network; small accepted images go as they are.
 */
import type { PhotoLimits } from '@/api/meta';
import type { QueuedPhoto } from './reportQueue';

const MAX_EDGE = 1600;
/** Accepted images up to this size are uploaded untouched. */
const KEEP_BYTES = 1.5 * 1024 * 1024;


async function reencode(file: Blob): Promise<Blob | null> {
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, MAX_EDGE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    canvas.getContext('2d')?.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    return await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.85));
  } catch {
    return null;
  }
}

/**
 * The image to upload for a chosen file, or null when it cannot be made acceptable within
 * `limits` (the accepted types and the largest size).
 */
export async function preparePhoto(file: Blob, limits: Pick<PhotoLimits, 'types' | 'maxBytes'>): Promise<Blob | null> {
  const accepted = (limits.types as readonly string[]).includes(file.type);
  const keepBytes = Math.min(KEEP_BYTES, limits.maxBytes);
  if (accepted && file.size <= keepBytes) return file;
  const smaller = await reencode(file);
  if (smaller && smaller.size <= limits.maxBytes) return smaller;
  return accepted && file.size <= limits.maxBytes ? file : null;
}

export function blobToBase64(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => {
      const url = String(reader.result);
      resolve(url.slice(url.indexOf(',') + 1));
    };
    reader.onerror = () => reject(reader.error ?? new Error('read failed'));
    reader.readAsDataURL(blob);
  });
}

export async function toQueuedPhoto(blob: Blob, name?: string): Promise<QueuedPhoto> {
  return { contentType: blob.type, base64: await blobToBase64(blob), name };
}
