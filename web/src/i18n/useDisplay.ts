import { useI18n } from 'vue-i18n';
import type { ApiProblem } from '@/api/http';
import { useMetaStore } from '@/stores/meta';
import { ageParts, areaParts, distanceParts, formatDateTime } from './format';

/** One of an incident's two clocks as shown: its name, its time, whether it has passed. */
export interface ClockRow {
  key: 'step' | 'deadline';
  label: string;
  at: string;
  overdue: boolean;
}

/** Display helpers bound to the current UI language. */
export function useDisplay() {
  const { t, te, locale } = useI18n();
  const meta = useMetaStore();

  return {
    area(squareMetres: number): string {
      const { n, unit } = areaParts(squareMetres, locale.value);
      return t(`units.${unit}`, { n });
    },
    /** "460 米" / "1.2 km". */
    distance(metres: number): string {
      const { n, unit } = distanceParts(metres);
      return t(`units.${unit}`, { n });
    },
    count(n: number | undefined): string {
      return n === undefined ? '—' : new Intl.NumberFormat(locale.value).format(n);
    },
    /** Time in Asia/Shanghai. */
    dateTime(iso: string | null | undefined): string {
      return iso ? formatDateTime(iso) : '—';
    },
    /** "5 分钟前" / "5 min ago". */
    ago(iso: string | null | undefined, now = Date.now()): string {
      if (!iso) return '—';
      const { n, unit } = ageParts((now - new Date(iso).getTime()) / 1000);
      return t('panel.positionAge', { age: t(`age.${unit}`, { n }) });
    },
    /**
     * A message for a failed request: the server's code in words where we have them — first under
     * `prefix` (a view's own wording, e.g. 'field.errors'), then the app's.
     */
    problem(p: ApiProblem, prefix?: string): string {
      if (prefix && te(`${prefix}.${p.code}`)) return t(`${prefix}.${p.code}`);
      return te(`errors.${p.code}`) ? t(`errors.${p.code}`) : t('errors.generic', { code: p.code });
    },
    /** A department's name in the UI language (GET /api/meta), or its code while unknown; '—' for none. */
    department(code: string | null | undefined): string {
      if (!code) return '—';
      const d = meta.departments.find((x) => x.code === code);
      return d ? (locale.value === 'en' ? d.nameEn : d.nameZh) : code;
    },
    /**
     * An incident's two clocks (issue 12) as labelled rows: its step limit, named by the step it
     * waits for (受理时限, 派遣时限 …), then its overall deadline (总时限); each with its time and
     * whether it has passed. None for a closed incident.
     */
    clocks(p: { step?: string | null; stepDueAt?: string | null; dueAt?: string | null; stepOverdue?: boolean; deadlineOverdue?: boolean }): ClockRow[] {
      const rows: ClockRow[] = [];
      if (p.stepDueAt) {
        const label = p.step && te(`clock.step.${p.step}`) ? t(`clock.step.${p.step}`) : t('clock.stepGeneric');
        rows.push({ key: 'step', label, at: formatDateTime(p.stepDueAt), overdue: !!p.stepOverdue });
      }
      if (p.dueAt) rows.push({ key: 'deadline', label: t('clock.deadline'), at: formatDateTime(p.dueAt), overdue: !!p.deadlineOverdue });
      return rows;
    },
    /** A span of minutes as minutes, hours or days (one decimal), e.g. the department scores' times. */
    duration(minutes: number): string {
      if (minutes < 60) return t('units.minutes', { n: Math.round(minutes) });
      if (minutes < 1440) return t('units.hours', { n: (minutes / 60).toFixed(1) });
      return t('units.days', { n: (minutes / 1440).toFixed(1) });
    },
    /** A vocabulary term (category, status, ...), or the raw value when unknown. */
    term(group: string, value: string | null | undefined): string {
      if (!value) return '—';
      return te(`${group}.${value}`) ? t(`${group}.${value}`) : value;
    },
  };
}
