import { describe, expect, it } from 'vitest';
import { BASEMAP } from './palette';

/** WCAG 2.x relative luminance of a #rrggbb colour. */
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
    .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG 2.x contrast ratio of two colours (1–21). */
function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

describe('map label colours (issue 10 item 5: WCAG AA on the dark basemap)', () => {
  it('computes contrast as WCAG does', () => {
    expect(contrast('#ffffff', '#000000')).toBeCloseTo(21, 5);
    expect(contrast('#777777', '#ffffff')).toBeCloseTo(4.48, 2);
  });

  // Road labels sit on the road they name (placed along the line), on the areas and buildings beside it and on their halo.
  const underRoadLabels = ['background', 'district', 'street', 'building', 'roadMajor', 'roadMinor', 'roadPath', 'roadCasing', 'labelHalo'] as const;
  it.each(underRoadLabels)('road labels against %s reach 4.5:1', (surface) => {
    expect(contrast(BASEMAP.roadLabel, BASEMAP[surface])).toBeGreaterThanOrEqual(4.5);
  });

  it.each(['background', 'district', 'street', 'building', 'labelHalo'] as const)('grid and area labels against %s reach 4.5:1', (surface) => {
    expect(contrast(BASEMAP.gridLabel, BASEMAP[surface])).toBeGreaterThanOrEqual(4.5);
    expect(contrast(BASEMAP.areaLabel, BASEMAP[surface])).toBeGreaterThanOrEqual(4.5);
  });
});
