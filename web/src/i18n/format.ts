/**
 * Formatting of times, ages, areas, distances and ETAs for display. Pure functions: every time is shown in
 * Asia/Shanghai whatever the viewer's own time zone, as the command centre and the field work in it.
 */

export const DISPLAY_TIME_ZONE = 'Asia/Shanghai';

const dateTimeFormats = new Map<string, Intl.DateTimeFormat>();

function dateTimeFormat(locale: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `${locale}|${JSON.stringify(options)}`;
  let format = dateTimeFormats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat(locale, { timeZone: DISPLAY_TIME_ZONE, hourCycle: 'h23', ...options });
    dateTimeFormats.set(key, format);
  }
  return format;
}

function parts(date: Date, locale: string, options: Intl.DateTimeFormatOptions): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of dateTimeFormat(locale, options).formatToParts(date)) out[p.type] = p.value;
  return out;
}

/** `2025-03-08 14:05:09` in Asia/Shanghai: the unambiguous form dispatchers read aloud. */
export function formatDateTime(value: string | number | Date): string {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return '—';
  const p = parts(date, 'en-GB', {
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  });
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

/** Clock text `14:05:09` in Asia/Shanghai. */
export function formatClock(date: Date): string {
  const p = parts(date, 'en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return `${p.hour}:${p.minute}:${p.second}`;
}

/** Date with weekday, in the UI language, in Asia/Shanghai. */
export function formatDate(date: Date, locale: string): string {
  return dateTimeFormat(locale, { year: 'numeric', month: 'long', day: 'numeric', weekday: 'short' }).format(date);
}

export type AgeUnit = 'seconds' | 'minutes' | 'hours' | 'days';

/** The coarsest whole unit of an age, for "5 minutes ago" style text. */
export function ageParts(ageSeconds: number): { n: number; unit: AgeUnit } {
  const s = Math.max(0, Math.floor(ageSeconds));
  if (s < 60) return { n: s, unit: 'seconds' };
  if (s < 3600) return { n: Math.floor(s / 60), unit: 'minutes' };
  if (s < 86_400) return { n: Math.floor(s / 3600), unit: 'hours' };
  return { n: Math.floor(s / 86_400), unit: 'days' };
}

/** An area in m² below 0.1 km², in km² (two decimals) above; returns the number text and its unit key. */
export function areaParts(squareMetres: number, locale: string): { n: string; unit: 'squareMetres' | 'squareKilometres' } {
  if (squareMetres < 100_000) {
    return { n: new Intl.NumberFormat(locale, { maximumFractionDigits: 0 }).format(squareMetres), unit: 'squareMetres' };
  }
  return {
    n: new Intl.NumberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(squareMetres / 1e6),
    unit: 'squareKilometres',
  };
}

/** Whole minutes of an ETA for display; under a minute is its own case (`lessThanMinute`). */
export function etaMinutes(seconds: number): { minutes: number; lessThanMinute: boolean } {
  if (!Number.isFinite(seconds) || seconds < 0) return { minutes: 0, lessThanMinute: true };
  if (seconds < 60) return { minutes: 0, lessThanMinute: true };
  return { minutes: Math.round(seconds / 60), lessThanMinute: false };
}

/** Metres below a kilometre (rounded to 10 m from 100 m), else kilometres with one decimal. */
export function distanceParts(metres: number): { n: number; unit: 'metres' | 'kilometres' } {
  const m = Math.max(0, metres);
  if (m < 100) return { n: Math.round(m), unit: 'metres' };
  if (m < 1000) return { n: Math.round(m / 10) * 10, unit: 'metres' };
  return { n: Math.round(m / 100) / 10, unit: 'kilometres' };
}
