'use client';

import { useCallback, useEffect, useState } from 'react';

/*
 * The wall's main panel can alternate between views on a schedule (`/?cycle=60`: seconds per
 * view; off without it). An operator who clicks a view pins it until clicked again. The schedule
 * runs on the display's own clock: it is about what people in the room see, not event time.
 */

export const WALL_VIEWS = ['map', 'forecasts'] as const;
export type WallView = (typeof WALL_VIEWS)[number];

/** Shortest period accepted from the URL, in seconds (a faster wall cannot be read). */
const MIN_CYCLE_S = 2;
const MAX_CYCLE_S = 3600;

/** Seconds per view from `?cycle=`; null (no cycling) when absent or not a whole number in range. */
export function cyclePeriodS(search: string): number | null {
  const raw = new URLSearchParams(search).get('cycle');
  if (raw === null || !/^\d+$/.test(raw)) return null;
  const s = Number(raw);
  return s >= MIN_CYCLE_S && s <= MAX_CYCLE_S ? s : null;
}

export interface ViewCycle {
  view: WallView;
  /** Seconds per view; null when the wall does not cycle. */
  periodS: number | null;
  /** Seconds until the next switch; null when not cycling or pinned. */
  secondsLeft: number | null;
  pinned: boolean;
  /** Shows `view` and pins it; the pinned view clicked again releases the pin. */
  choose(view: WallView): void;
}

const nextView = (v: WallView): WallView => WALL_VIEWS[(WALL_VIEWS.indexOf(v) + 1) % WALL_VIEWS.length] ?? 'map';

export function useViewCycle(): ViewCycle {
  const [periodS, setPeriodS] = useState<number | null>(null);
  const [shown, setShown] = useState<{ view: WallView; switchAt: number }>({ view: 'map', switchAt: 0 });
  const [pinned, setPinned] = useState(false);
  const [now, setNow] = useState(0);

  // The static export renders without a URL: read it once mounted.
  useEffect(() => setPeriodS(cyclePeriodS(window.location.search)), []);

  useEffect(() => {
    if (periodS === null || pinned) return;
    const periodMs = periodS * 1000;
    // A released pin starts a full period for the view on screen.
    setShown((s) => ({ view: s.view, switchAt: Date.now() + periodMs }));
    setNow(Date.now());
    const timer = window.setInterval(() => {
      const t = Date.now();
      setNow(t);
      setShown((s) => (t < s.switchAt ? s : { view: nextView(s.view), switchAt: t + periodMs }));
    }, 250);
    return () => window.clearInterval(timer);
  }, [periodS, pinned]);

  const choose = useCallback(
    (next: WallView) => {
      if (pinned && next === shown.view) {
        setPinned(false);
        return;
      }
      setShown((s) => ({ view: next, switchAt: s.switchAt }));
      setPinned(true);
    },
    [pinned, shown.view],
  );

  const secondsLeft = periodS === null || pinned ? null : Math.max(0, Math.ceil((shown.switchAt - now) / 1000));
  return { view: shown.view, periodS, secondsLeft, pinned, choose };
}
