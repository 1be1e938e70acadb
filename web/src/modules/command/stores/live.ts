import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import type { IncidentCreatedData, IncidentUpdatedData, LiveEvent } from '@/stores/live';
import { useMetaStore } from '@/stores/meta';
import { pushRecent } from '../commandFormat';
import { useAlarmsStore } from './alarms';
import { useIncidentDetailStore } from './detail';

/** An incident touched by the live stream in this tab, drawn from GeoJSON over the tiles. */
export interface LiveIncident {
  id: string;
  lon: number;
  lat: number;
  status: string;
  priority: string;
  category: string | null;
  /** Epoch ms until which the map pulses it. */
  flashUntil: number;
}

export interface FeedItem {
  eventId: string;
  type: 'incident.created' | 'incident.updated';
  incidentId: string;
  /** Epoch ms the tab received it. */
  receivedAt: number;
  status: string;
  priority: string;
  category: string | null;
  gridCode: string;
  /** The step taken ('reassign': a dispatch that replaced the assignee). */
  action: string | null;
  lon: number;
  lat: number;
}

export type IncidentEvent = LiveEvent<'incident.created'> | LiveEvent<'incident.updated'>;

const FLASH_MS = 6000;
const FEED_MAX = 60;

/**
 * The command centre's view of the live stream: the feed, the incidents changed in this tab (the
 * map draws and flashes them), and the urgent alarms they raise. Events come in through
 * {@link applyLive}, called by the command view that holds the stream open.
 */
export const useLiveIncidentsStore = defineStore('liveIncidents', () => {
  const meta = useMetaStore();
  const alarms = useAlarmsStore();
  const detail = useIncidentDetailStore();

  const feed = shallowRef<FeedItem[]>([]);
  const liveIncidents = shallowRef(new Map<string, LiveIncident>());
  const liveVersion = ref(0);

  function touchLive(id: string, patch: Omit<LiveIncident, 'id' | 'flashUntil' | 'category'> & { category?: string | null }): void {
    const before = liveIncidents.value.get(id);
    const next = new Map(liveIncidents.value);
    next.set(id, {
      id, ...patch,
      category: patch.category ?? before?.category ?? null,
      flashUntil: Date.now() + FLASH_MS,
    });
    liveIncidents.value = next;
    liveVersion.value += 1;
  }

  /**
   * A live incident event: into the feed, onto the map (flashing), an alarm when it is urgent and
   * open. Returns true when a new alarm was raised (the view sounds it).
   */
  function applyLive(event: IncidentEvent): boolean {
    const d = event.data as IncidentCreatedData | IncidentUpdatedData;
    const category = d.category ?? null;
    const action = 'action' in d ? d.action ?? null : null;
    // A dispatch of a dispatched incident replaced its assignee (改派).
    const reassign = action === 'dispatch' && 'changes' in d && d.changes?.status?.from === 'dispatched';
    feed.value = pushRecent(feed.value, {
      eventId: event.id, type: event.type, incidentId: d.incidentId,
      // The opening history is dated by the server; news by its arrival.
      receivedAt: d.recent && d.at ? Date.parse(d.at) : Date.now(),
      status: d.status, priority: d.priority, category: category ?? liveIncidents.value.get(d.incidentId)?.category ?? null,
      gridCode: d.gridCode, action: reassign ? 'reassign' : action, lon: d.lon, lat: d.lat,
    }, (x) => x.eventId, FEED_MAX);
    // History is in the feed only: the map's tiles show it already, and old news raises no alarm.
    if (d.recent) return false;
    touchLive(d.incidentId, { lon: d.lon, lat: d.lat, status: d.status, priority: d.priority, category });
    const open = meta.isOpen(d.status);
    const becameUrgent = event.type === 'incident.created'
      || (event.type === 'incident.updated' && (d as IncidentUpdatedData).changes?.priority !== undefined);
    let raised = false;
    if (d.priority === 'urgent' && open && becameUrgent) {
      raised = alarms.raiseAlarm({
        incidentId: d.incidentId, category: category ?? liveIncidents.value.get(d.incidentId)?.category ?? null,
        gridCode: d.gridCode, lon: d.lon, lat: d.lat, receivedAt: Date.now(),
      });
    }
    if (!open || d.priority !== 'urgent') alarms.dismissAlarm(d.incidentId);
    if (detail.detailId === d.incidentId && event.type === 'incident.updated') void detail.reloadDetail();
    return raised;
  }

  /** Fills in the category of a live incident first seen through an update. */
  function setLiveCategory(id: string, category: string): void {
    const li = liveIncidents.value.get(id);
    if (!li || li.category === category) return;
    const next = new Map(liveIncidents.value);
    next.set(id, { ...li, category });
    liveIncidents.value = next;
    liveVersion.value += 1;
  }

  /**
   * After a `reset` (events were missed): the incidents drawn from the stream may be out of date,
   * so the map goes back to the tiles for them; the feed and the alarms stay (what they say happened).
   */
  function forgetLiveIncidents(): void {
    liveIncidents.value = new Map();
    liveVersion.value += 1;
  }

  /** When the view closes (sign-out, another view): nothing of the previous stream is kept. */
  function clearLive(): void {
    feed.value = [];
    liveIncidents.value = new Map();
    liveVersion.value += 1;
    alarms.dismissAlarm();
  }

  return { feed, liveIncidents, liveVersion, applyLive, setLiveCategory, forgetLiveIncidents, clearLive };
});
