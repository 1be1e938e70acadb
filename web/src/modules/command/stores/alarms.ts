import { defineStore } from 'pinia';
import { ref } from 'vue';

export interface Alarm {
  incidentId: string;
  category: string | null;
  gridCode: string;
  lon: number;
  lat: number;
  receivedAt: number;
}

const MUTE_KEY = 'wangge.alarm.muted';
const ALARMS_MAX = 20;

function loadMuted(): boolean {
  try {
    return window.localStorage.getItem(MUTE_KEY) === 'true';
  } catch {
    return false;
  }
}

/** The command centre's urgent alarms (newest first, one per incident) and whether they sound. */
export const useAlarmsStore = defineStore('alarms', () => {
  const alarms = ref<Alarm[]>([]);
  const muted = ref(loadMuted());

  /** Returns true when the alarm is new (the view sounds it). */
  function raiseAlarm(a: Alarm): boolean {
    if (alarms.value.some((x) => x.incidentId === a.incidentId)) return false;
    alarms.value = [a, ...alarms.value].slice(0, ALARMS_MAX);
    return true;
  }

  function dismissAlarm(incidentId?: string): void {
    alarms.value = incidentId ? alarms.value.filter((a) => a.incidentId !== incidentId) : [];
  }

  function setMuted(on: boolean): void {
    muted.value = on;
    try {
      window.localStorage.setItem(MUTE_KEY, String(on));
    } catch {
      // Not remembered; applies to this page.
    }
  }

  return { alarms, muted, raiseAlarm, dismissAlarm, setMuted };
});
