import { createI18n } from 'vue-i18n';
import zhCN, { type Messages } from './messages/zh-CN';
import en from './messages/en';
import fieldZhCN, { type FieldMessages } from './messages/field.zh-CN';
import fieldEn from './messages/field.en';
import plannerZhCN, { type PlannerMessages } from './messages/planner.zh-CN';
import plannerEn from './messages/planner.en';

export const LOCALES = ['zh-CN', 'en'] as const;
export type Locale = (typeof LOCALES)[number];

const STORAGE_KEY = 'wangge.locale';

function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (LOCALES as readonly string[]).includes(value);
}

/** The saved language, else zh-CN (the product's default whatever the browser says). */
export function initialLocale(): Locale {
  try {
    const saved = window.localStorage.getItem(STORAGE_KEY);
    if (isLocale(saved)) return saved;
  } catch {
    // Storage can be disabled (private mode, policy): fall back to the default.
  }
  return 'zh-CN';
}

/** The views' own message files are merged in under their key (field views: `field`, the planner: `planner`). */
type AllMessages = Messages & { field: FieldMessages; planner: PlannerMessages };

export const i18n = createI18n<[AllMessages], Locale, false>({
  legacy: false,
  locale: initialLocale(),
  fallbackLocale: 'zh-CN',
  messages: { 'zh-CN': { ...zhCN, field: fieldZhCN, planner: plannerZhCN }, en: { ...en, field: fieldEn, planner: plannerEn } },
  missingWarn: false,
  fallbackWarn: false,
});

/** Switches the UI language, remembers it, and keeps `<html lang>` true for screen readers and fonts. */
export function setLocale(locale: Locale): void {
  i18n.global.locale.value = locale;
  document.documentElement.lang = locale;
  try {
    window.localStorage.setItem(STORAGE_KEY, locale);
  } catch {
    // Not remembered; the switch still applies to this page.
  }
}
