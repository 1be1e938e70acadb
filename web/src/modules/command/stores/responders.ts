import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import { listResponders, type ResponderListProperties } from '@/api/responders';
import type { ResponderMovedData, ResponderStatusData } from '@/stores/live';

export interface ResponderPoint {
  id: string;
  name: string;
  kind: string;
  status: string;
  /** Epoch ms of the last position, or null. */
  positionAt: number | null;
  homeGridCode: string | null;
  activeIncidentId: string | null;
  lon: number;
  lat: number;
}

/**
 * The responders of the user's area at their last position, for the command map: loaded from
 * `GET /api/responders` and kept current by the live stream (`responder.moved` moves a point,
 * `responder.status` restyles it). `version` changes on every update (the map layer redraws).
 */
export const useCommandRespondersStore = defineStore('commandResponders', () => {
  const byId = shallowRef(new Map<string, ResponderPoint>());
  const version = ref(0);
  const loaded = ref(false);
  let loading: Promise<void> | null = null;

  function toPoint(id: string, p: ResponderListProperties, coords: number[]): ResponderPoint {
    return {
      id, name: p.name, kind: p.kind, status: p.status,
      positionAt: p.positionAt ? Date.parse(p.positionAt) : null,
      homeGridCode: p.homeGridCode, activeIncidentId: p.activeIncidentId, lon: coords[0], lat: coords[1],
    };
  }

  /** (Re)loads the whole list; concurrent calls share one request. */
  function load(): Promise<void> {
    loading ??= (async () => {
      try {
        const fc = await listResponders({ limit: 2000 });
        const next = new Map<string, ResponderPoint>();
        for (const f of fc.features) {
          if (!f.geometry) continue;
          const id = String(f.properties.id ?? f.id);
          next.set(id, toPoint(id, f.properties, f.geometry.coordinates));
        }
        byId.value = next;
        loaded.value = true;
        version.value += 1;
      } catch {
        // Kept as it was; the next event or the next minute tries again.
      } finally {
        loading = null;
      }
    })();
    return loading;
  }

  /** A live `responder.moved`: true when the responder was known (else the caller reloads). */
  function moved(d: ResponderMovedData): boolean {
    const r = byId.value.get(d.responderId);
    if (!r) return false;
    const at = Date.parse(d.recordedAt);
    // The current position moves only to a newer point (as on the server).
    if (r.positionAt !== null && at < r.positionAt) return true;
    byId.value.set(d.responderId, { ...r, lon: d.lon, lat: d.lat, positionAt: at });
    version.value += 1;
    return true;
  }

  /** A live `responder.status`: true when the responder was known. */
  function statusChanged(d: ResponderStatusData): boolean {
    const r = byId.value.get(d.responderId);
    if (!r) return false;
    byId.value.set(d.responderId, { ...r, status: d.status });
    version.value += 1;
    return true;
  }

  function get(id: string): ResponderPoint | undefined {
    return byId.value.get(id);
  }

  function clear(): void {
    byId.value = new Map();
    loaded.value = false;
    version.value += 1;
  }

  return { byId, version, loaded, load, moved, statusChanged, get, clear };
});
