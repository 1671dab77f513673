'use client';

import { useCallback, useEffect, useState } from 'react';
import { isLang, LANG_STORAGE_KEY, type Lang } from './i18n.js';

/** The language choice shared by every page (the wall's toggle key), remembered in localStorage. */
export function useStoredLang(): [Lang, (lang: Lang) => void] {
  const [lang, setLangState] = useState<Lang>('zh');
  useEffect(() => {
    try {
      const saved = window.localStorage.getItem(LANG_STORAGE_KEY);
      if (isLang(saved)) setLangState(saved);
    } catch {
      // Storage disabled by policy: stay on the default.
    }
  }, []);
  useEffect(() => {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  }, [lang]);
  const setLang = useCallback((next: Lang) => {
    setLangState(next);
    try {
      window.localStorage.setItem(LANG_STORAGE_KEY, next);
    } catch {
      // The toggle still works for this page.
    }
  }, []);
  return [lang, setLang];
}
