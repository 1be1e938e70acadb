/**
 * Colours shared by the map style and the legend, so that the two cannot drift. Tuned for a dark
 * basemap on a wall screen: saturated symbols, muted ground. The vocabularies themselves
 * (categories, statuses, priorities) come from the API (`GET /api/meta`).
 */
import type { IncidentPriority, IncidentStatus } from '@/api/meta';

/** Colours by category code; a category without one is drawn in {@link UNKNOWN_CATEGORY_COLOUR}. */
export const CATEGORY_COLOURS: Readonly<Record<string, string>> = {
  dispute: '#f59e0b',
  safety_hazard: '#ef4444',
  sanitation: '#22c55e',
  public_facility: '#3b82f6',
  appeal: '#a855f7',
  fire: '#ff5722',
  traffic: '#eab308',
  emergency: '#ec4899',
};
export const UNKNOWN_CATEGORY_COLOUR = '#94a3b8';

/** Tag colours of the side panel (element-plus tag types) by lifecycle stage. */
export const STATUS_TAG: Record<IncidentStatus, 'info' | 'warning' | 'primary' | 'success' | 'danger'> = {
  reported: 'danger',
  accepted: 'warning',
  dispatched: 'warning',
  in_progress: 'primary',
  resolved: 'primary',
  verified: 'success',
  closed: 'info',
  rejected: 'danger',
  reopened: 'danger',
};

export const PRIORITY_TAG: Record<IncidentPriority, 'info' | 'primary' | 'warning' | 'danger'> = {
  low: 'info',
  normal: 'primary',
  high: 'warning',
  urgent: 'danger',
};

export const RESPONDER_STATUSES = ['available', 'busy', 'off_duty'] as const;
export type ResponderStatus = (typeof RESPONDER_STATUSES)[number];
export const RESPONDER_COLOURS: Record<ResponderStatus, string> = {
  available: '#10b981',
  busy: '#f97316',
  off_duty: '#64748b',
};
export const RESPONDER_KINDS = ['grid_worker', 'patrol', 'volunteer', 'police'] as const;

/**
 * Presence by the age of the last position (the server's defaults, `onlineSeconds` and
 * `offlineSeconds`): online below the first, stale up to the second (drawn faded: the responder
 * may no longer be there), offline beyond (drawn fainter still).
 */
export const ONLINE_POSITION_SECONDS = 120;
export const STALE_POSITION_SECONDS = 15 * 60;
export const PRESENCES = ['online', 'stale', 'offline'] as const;
export type Presence = (typeof PRESENCES)[number];
export const PRESENCE_OPACITY: Record<Presence, number> = { online: 1, stale: 0.45, offline: 0.2 };

/** Presence of a position recorded at `positionAt` (ISO or epoch ms), seen at `now` (epoch ms). */
export function presenceAt(positionAt: string | number | null | undefined, now: number): Presence {
  if (positionAt === null || positionAt === undefined) return 'offline';
  const at = typeof positionAt === 'number' ? positionAt : Date.parse(positionAt);
  if (Number.isNaN(at)) return 'offline';
  const age = (now - at) / 1000;
  if (age < ONLINE_POSITION_SECONDS) return 'online';
  return age <= STALE_POSITION_SECONDS ? 'stale' : 'offline';
}

/** Candidate tiers of the responsibility ladder: own grid, neighbouring grid, other. */
export const TIER_TAG: Record<'own_grid' | 'neighbour_grid' | 'other', 'success' | 'warning' | 'info'> = {
  own_grid: 'success',
  neighbour_grid: 'warning',
  other: 'info',
};

/** Candidate routes on the map: the top one highlighted, the others quieter. */
export const ROUTE_COLOURS = { top: '#facc15', other: '#c084fc', straight: '#94a3b8' };
/** The pulsing ring of an incident that just arrived or changed. */
export const FLASH_COLOUR = '#fde047';

export const BASEMAP = {
  background: '#081424',
  district: '#0b1b2f',
  street: '#0d2036',
  communityLine: '#23415f',
  streetLine: '#3b6a93',
  districtLine: '#5b8db8',
  areaLabel: '#7fa3c4',
  building: '#1a3350',
  buildingOutline: '#27496d',
  buildingExtrusion: '#21405f',
  roadCasing: '#050c16',
  roadMajor: '#4b6784',
  roadMinor: '#344d67',
  roadPath: '#2b4157',
  // 4.5:1 (WCAG AA) even on the major road's own fill, where a label along the line sits (palette.test.ts).
  roadLabel: '#dce8f4',
  grid: '#22d3ee',
  gridFill: '#22d3ee',
  gridSelected: '#facc15',
  gridLabel: '#e0f7ff',
  labelHalo: '#07111e',
};

/** Local font stacks for map labels: no glyph server, MapLibre draws them with the system's fonts. */
export const FONT_REGULAR = ['Noto Sans CJK SC', 'Source Han Sans SC', 'PingFang SC', 'Microsoft YaHei', 'WenQuanYi Micro Hei', 'sans-serif'];
export const FONT_BOLD = ['Noto Sans CJK SC Bold', 'Source Han Sans SC Bold', 'PingFang SC', 'Microsoft YaHei', 'WenQuanYi Micro Hei', 'sans-serif'];
