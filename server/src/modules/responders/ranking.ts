/**
 * Ranking of dispatch candidates (pure: no IO; candidates.service.ts supplies the travel times).
 *
 * ETA = travel time (over the road network, or the straight-line fallback) + stalePenaltySeconds
 * when the responder's position is stale (it may have moved since).
 *
 * The responsibility ladder, with `best` = the smallest ETA among all candidates:
 *  1. own_grid workers (home grid = the incident's grid) whose ETA ≤ best + ownGridExtraSeconds;
 *  2. neighbour_grid workers (home grid touches the incident's grid, or is one of the grids the
 *     incident lies within 30 m of) whose ETA ≤ best + neighbourExtraSeconds;
 *  3. everyone else (including own/neighbour workers beyond their extra time), by ETA.
 * Within a group: by ETA, then by responder id (a stable order for equal times).
 */
export type Tier = 'own_grid' | 'neighbour_grid' | 'other';
export type Presence = 'online' | 'stale' | 'offline';
/** Why the straight line was used: no roads at all, a point too far from any road, no connection / beyond the search bound. */
export type Fallback = 'no_network' | 'off_network' | 'unconnected';
export type ReasonCode =
  | 'own_grid_within_extra'
  | 'neighbour_within_extra'
  | 'fastest'
  | 'own_grid_beyond_extra'
  | 'neighbour_beyond_extra'
  | 'by_eta';

export interface LadderConfig {
  stalePenaltySeconds: number;
  ownGridExtraSeconds: number;
  neighbourExtraSeconds: number;
  /** Speed of the straight-line fallback (named in the reason). */
  offNetworkKmh: number;
}

export interface CandidateInput {
  responderId: string;
  name: string;
  kind: string;
  status: string;
  presence: Presence;
  positionAgeSeconds: number;
  homeGridId: string | null;
  homeGridCode: string | null;
  tier: Tier;
  travelSeconds: number;
  distanceMetres: number;
  routed: boolean;
  fallback?: Fallback;
  route?: { type: 'LineString'; coordinates: [number, number][] } | null;
}

export interface RankedCandidate {
  responderId: string;
  name: string;
  kind: string;
  status: string;
  presence: Presence;
  positionAgeSeconds: number;
  homeGridId: string | null;
  homeGridCode: string | null;
  tier: Tier;
  etaSeconds: number;
  distanceMetres: number;
  routed: boolean;
  reasonCode: ReasonCode;
  reason: string;
  route: { type: 'LineString'; coordinates: [number, number][] } | null;
}

export type Lang = 'zh' | 'en';

export function etaOf(c: Pick<CandidateInput, 'travelSeconds' | 'presence'>, cfg: Pick<LadderConfig, 'stalePenaltySeconds'>): number {
  return c.travelSeconds + (c.presence === 'stale' ? cfg.stalePenaltySeconds : 0);
}

/** Ranks every candidate (best first); the caller keeps the first k. */
export function rankCandidates(candidates: CandidateInput[], cfg: LadderConfig, lang: Lang = 'zh'): RankedCandidate[] {
  if (candidates.length === 0) return [];
  const withEta = candidates.map((c) => ({ c, eta: etaOf(c, cfg) }));
  const best = Math.min(...withEta.map((x) => x.eta));
  const graded = withEta.map(({ c, eta }) => {
    let group = 2;
    let code: ReasonCode = eta === best ? 'fastest' : 'by_eta';
    if (c.tier === 'own_grid') {
      if (eta <= best + cfg.ownGridExtraSeconds) {
        group = 0;
        code = 'own_grid_within_extra';
      } else code = 'own_grid_beyond_extra';
    } else if (c.tier === 'neighbour_grid') {
      if (eta <= best + cfg.neighbourExtraSeconds) {
        group = 1;
        code = 'neighbour_within_extra';
      } else code = 'neighbour_beyond_extra';
    }
    return { c, eta, group, code };
  });
  graded.sort((a, b) => a.group - b.group || a.eta - b.eta || (a.c.responderId < b.c.responderId ? -1 : a.c.responderId > b.c.responderId ? 1 : 0));
  return graded.map(({ c, eta, code }) => ({
    responderId: c.responderId,
    name: c.name,
    kind: c.kind,
    status: c.status,
    presence: c.presence,
    positionAgeSeconds: c.positionAgeSeconds,
    homeGridId: c.homeGridId,
    homeGridCode: c.homeGridCode,
    tier: c.tier,
    etaSeconds: Math.round(eta),
    distanceMetres: Math.round(c.distanceMetres),
    routed: c.routed,
    reasonCode: code,
    reason: reasonText(c, code, cfg, lang),
    route: c.routed ? (c.route ?? null) : null,
  }));
}

function minutes(seconds: number, lang: Lang): string {
  if (seconds < 60) return lang === 'en' ? 'under 1 min' : '不到 1 分钟';
  const m = Math.round(seconds / 60);
  return lang === 'en' ? `about ${m} min` : `约 ${m} 分钟`;
}

function distance(metres: number, lang: Lang): string {
  if (metres < 1000) return lang === 'en' ? `${Math.round(metres)} m` : `${Math.round(metres)} 米`;
  const km = (metres / 1000).toFixed(1);
  return lang === 'en' ? `${km} km` : `${km} 公里`;
}

const TIER_TEXT: Record<Tier, Record<Lang, string>> = {
  own_grid: { zh: '本网格', en: 'own grid' },
  neighbour_grid: { zh: '相邻网格', en: 'neighbouring grid' },
  other: { zh: '其他网格', en: 'other grid' },
};

const KIND_TEXT: Record<string, Record<Lang, string>> = {
  grid_worker: { zh: '网格员', en: 'grid worker' },
  patrol: { zh: '巡逻队员', en: 'patrol' },
  volunteer: { zh: '志愿者', en: 'volunteer' },
  police: { zh: '民警', en: 'police officer' },
};

const FALLBACK_TEXT: Record<Fallback, Record<Lang, string>> = {
  no_network: { zh: '无路网数据', en: 'no road network' },
  off_network: { zh: '距道路过远', en: 'too far from a road' },
  unconnected: { zh: '路网不连通', en: 'no road connection' },
};

const RULE_TEXT: Record<ReasonCode, Record<Lang, (c: LadderConfig) => string>> = {
  own_grid_within_extra: {
    zh: (c) => `本网格优先（比最快者慢不超过 ${Math.round(c.ownGridExtraSeconds / 60)} 分钟）`,
    en: (c) => `own grid first (within ${Math.round(c.ownGridExtraSeconds / 60)} min of the fastest)`,
  },
  neighbour_within_extra: {
    zh: (c) => `相邻网格优先（比最快者慢不超过 ${Math.round(c.neighbourExtraSeconds / 60)} 分钟）`,
    en: (c) => `neighbouring grid preferred (within ${Math.round(c.neighbourExtraSeconds / 60)} min of the fastest)`,
  },
  fastest: { zh: () => '用时最短', en: () => 'fastest' },
  own_grid_beyond_extra: { zh: () => '本网格但超出优先时限，按用时排序', en: () => 'own grid but beyond the preferred extra time; ranked by time' },
  neighbour_beyond_extra: { zh: () => '相邻网格但超出优先时限，按用时排序', en: () => 'neighbouring grid but beyond the preferred extra time; ranked by time' },
  by_eta: { zh: () => '按用时排序', en: () => 'ranked by time' },
};

/** The human-readable reason: who, how far and how long (and how it was estimated), and the rule. */
export function reasonText(c: CandidateInput, code: ReasonCode, cfg: LadderConfig, lang: Lang): string {
  const kind = KIND_TEXT[c.kind]?.[lang] ?? c.kind;
  const who = lang === 'en' ? `${kind[0].toUpperCase()}${kind.slice(1)} (${TIER_TEXT[c.tier].en})` : `${TIER_TEXT[c.tier].zh}${kind}`;
  const trip = c.routed
    ? lang === 'en'
      ? `${minutes(c.travelSeconds, lang)} by road (${distance(c.distanceMetres, lang)})`
      : `路网行程${minutes(c.travelSeconds, lang)}（${distance(c.distanceMetres, lang)}）`
    : lang === 'en'
      ? `straight-line estimate (${FALLBACK_TEXT[c.fallback ?? 'unconnected'].en}): ${distance(c.distanceMetres, lang)} at ${cfg.offNetworkKmh} km/h, ${minutes(c.travelSeconds, lang)}`
      : `直线估算（${FALLBACK_TEXT[c.fallback ?? 'unconnected'].zh}）：${distance(c.distanceMetres, lang)}，按 ${cfg.offNetworkKmh} 公里/小时${minutes(c.travelSeconds, lang)}`;
  const age = Math.max(1, Math.round(c.positionAgeSeconds / 60));
  const penalty = Math.round(cfg.stalePenaltySeconds / 60);
  const stale = c.presence === 'stale'
    ? lang === 'en' ? `; position ${age} min old, ${penalty} min added` : `；位置已 ${age} 分钟未更新，加计 ${penalty} 分钟`
    : '';
  const rule = RULE_TEXT[code][lang](cfg);
  return lang === 'en' ? `${who}, ${trip}${stale}; ${rule}` : `${who}，${trip}${stale}；${rule}`;
}
