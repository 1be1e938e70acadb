import { getJson } from './http';

export interface Health {
  status: 'ok' | 'degraded';
  database: {
    mode: 'embedded' | 'external';
    postgres: string;
    postgis: string;
    nativeMvt: boolean;
    reachable?: boolean;
  };
}

/** Service and database status. */
export function fetchHealth(signal?: AbortSignal): Promise<Health> {
  return getJson<Health>('/api/health', { signal });
}
