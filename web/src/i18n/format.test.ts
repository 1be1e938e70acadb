import { describe, expect, it } from 'vitest';
import { ageParts, areaParts, distanceParts, etaMinutes, formatClock, formatDateTime } from './format';

describe('format', () => {
  it('shows UTC instants in Asia/Shanghai (UTC+8) whatever the viewer zone', () => {
    expect(formatDateTime('2025-03-08T06:05:09.000Z')).toBe('2025-03-08 14:05:09');
    expect(formatClock(new Date('2025-03-08T23:59:59Z'))).toBe('07:59:59');
  });

  it('rolls the date over at midnight Shanghai time, not UTC', () => {
    expect(formatDateTime('2025-12-31T16:00:00Z')).toBe('2026-01-01 00:00:00');
  });

  it('shows a dash for an unparsable time', () => {
    expect(formatDateTime('not a date')).toBe('—');
  });

  it('picks the coarsest whole unit of an age', () => {
    expect(ageParts(42)).toEqual({ n: 42, unit: 'seconds' });
    expect(ageParts(15 * 60 + 5)).toEqual({ n: 15, unit: 'minutes' });
    expect(ageParts(3 * 3600)).toEqual({ n: 3, unit: 'hours' });
    expect(ageParts(-5)).toEqual({ n: 0, unit: 'seconds' });
  });

  it('switches from square metres to square kilometres at 0.1 km²', () => {
    expect(areaParts(61_234, 'en')).toEqual({ n: '61,234', unit: 'squareMetres' });
    expect(areaParts(1_234_567, 'en')).toEqual({ n: '1.23', unit: 'squareKilometres' });
  });
});

describe('etaMinutes', () => {
  it('rounds to whole minutes and has its own case under a minute', () => {
    expect(etaMinutes(0)).toEqual({ minutes: 0, lessThanMinute: true });
    expect(etaMinutes(59)).toEqual({ minutes: 0, lessThanMinute: true });
    expect(etaMinutes(60)).toEqual({ minutes: 1, lessThanMinute: false });
    expect(etaMinutes(312)).toEqual({ minutes: 5, lessThanMinute: false });
    expect(etaMinutes(330)).toEqual({ minutes: 6, lessThanMinute: false });
    expect(etaMinutes(Number.NaN).lessThanMinute).toBe(true);
  });
});

describe('distanceParts', () => {
  it('shows metres below a kilometre and kilometres with one decimal above', () => {
    expect(distanceParts(42.4)).toEqual({ n: 42, unit: 'metres' });
    expect(distanceParts(456)).toEqual({ n: 460, unit: 'metres' });
    expect(distanceParts(1180)).toEqual({ n: 1.2, unit: 'kilometres' });
    expect(distanceParts(-3)).toEqual({ n: 0, unit: 'metres' });
  });
});
