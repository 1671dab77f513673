import type { Lang } from './i18n.js';

const timeFormats: Record<Lang, Intl.DateTimeFormat> = {
  zh: new Intl.DateTimeFormat('zh-CN', { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }),
  en: new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }),
};

const dateFormats: Record<Lang, Intl.DateTimeFormat> = {
  zh: new Intl.DateTimeFormat('zh-CN', { year: 'numeric', month: 'long', day: 'numeric', weekday: 'long' }),
  en: new Intl.DateTimeFormat('en-GB', { year: 'numeric', month: 'short', day: 'numeric', weekday: 'short' }),
};

/** 24-hour wall time, HH:MM:SS, in the display's local zone. */
export function formatTime(ms: number, lang: Lang): string {
  return timeFormats[lang].format(ms);
}

export function formatDate(ms: number, lang: Lang): string {
  return dateFormats[lang].format(ms);
}

/** Whole minutes since `sinceMs`, never negative (clocks of producers may run slightly ahead). */
export function minutesSince(sinceMs: number, nowMs: number): number {
  return Math.max(0, Math.floor((nowMs - sinceMs) / 60_000));
}
