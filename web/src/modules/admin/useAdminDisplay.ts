import { useI18n } from 'vue-i18n';
import { asProblem } from '@/api/http';
import { useDisplay } from '@/i18n/useDisplay';
import { formatClock } from '@/i18n/format';

/** Display helpers of the administration page. */
export function useAdminDisplay() {
  const { t, te } = useI18n();
  const display = useDisplay();
  return {
    ...display,
    /** The server's code in words, and its `detail` (what exactly is wrong) when it sent one. */
    problemText(err: unknown): string {
      const p = asProblem(err);
      const words = display.problem(p);
      const detail = p.problem.detail;
      return detail && detail !== words && p.code !== 'NETWORK_ERROR' ? `${words}：${detail}` : words;
    },
    role(role: string | null | undefined): string {
      return display.term('roles', role);
    },
    /** `user.create` → "创建用户"; unknown actions as they are. */
    action(action: string): string {
      return te(`admin.actions.${action}`) ? t(`admin.actions.${action}`) : action;
    },
    entity(entity: string): string {
      return te(`admin.entities.${entity}`) ? t(`admin.entities.${entity}`) : entity;
    },
    /**
     * A counted entry (repeated contact reads within 15 minutes are one row): "×6，最后 10:42:05"
     * (the last time as a Beijing clock: it is within 15 minutes of the entry's own time); '' once.
     */
    repeated(entry: { count: number; lastAt: string }, key: 'repeated' | 'repeatedTitle' = 'repeated'): string {
      if (entry.count <= 1) return '';
      const last = key === 'repeated' ? formatClock(new Date(entry.lastAt)) : display.dateTime(entry.lastAt);
      return t(`admin.audit.${key}`, { n: display.count(entry.count), last });
    },
  };
}
