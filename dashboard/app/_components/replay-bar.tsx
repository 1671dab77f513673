'use client';

import { useEffect, useMemo, useState } from 'react';
import type { ReplayResponse } from '../../src/api-types.js';
import { formatDate, formatTime } from '../_lib/format.js';
import { useLang } from '../_lib/i18n.js';
import type { FeedView } from '../_lib/live-feed.js';
import { ReplayModel, replayStepMs } from '../_lib/replay-model.js';

/*
 * The wall's time slider: live ↔ replay. Pick a window (start and span), load it from
 * /api/replay, then scrub, play, pause and change speed; the wall shows the replayed picture
 * through the same components until "back to live". The step is chosen so a window stays within
 * the frames a slider can show and the sensor-frames one answer may carry.
 */

const SPANS_MIN = [15, 60, 360, 1440] as const;
/** Frames a second when playing. */
const SPEEDS = [1, 4, 16] as const;
const MAX_FRAMES = 720;
/** Below the server's MAX_REPLAY_CELLS (api-routes.ts), so the chosen step is never refused. */
const CELL_BUDGET = 400_000;

interface Props {
  live: FeedView;
  /** The picture to show instead of the live one, or null for live. */
  onView: (view: FeedView | null) => void;
}

type Loaded = { kind: 'idle' } | { kind: 'loading' } | { kind: 'error'; message: string } | { kind: 'ready'; model: ReplayModel };

/** `YYYY-MM-DDTHH:mm` in the browser's time zone, as <input type="datetime-local"> wants it. */
function localInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

export function ReplayBar({ live, onView }: Props) {
  const { lang, text } = useLang();
  const t = text.replay;
  const [open, setOpen] = useState(false);
  const [spanMin, setSpanMin] = useState<number>(60);
  const [fromText, setFromText] = useState('');
  const [loaded, setLoaded] = useState<Loaded>({ kind: 'idle' });
  const [frame, setFrame] = useState(0);
  const [playing, setPlaying] = useState(false);
  const [speed, setSpeed] = useState<number>(SPEEDS[1]);

  const model = loaded.kind === 'ready' ? loaded.model : null;
  const view = useMemo(() => (model === null ? null : model.viewAt(frame, live)), [model, frame, live]);
  useEffect(() => onView(open ? view : null), [open, view, onView]);

  useEffect(() => {
    if (!playing || model === null) return;
    const timer = window.setInterval(() => {
      setFrame((f) => {
        if (f + 1 >= model.frames) {
          setPlaying(false);
          return f;
        }
        return f + 1;
      });
    }, 1000 / speed);
    return () => window.clearInterval(timer);
  }, [playing, speed, model]);

  const enter = () => {
    const now = live.now ?? Date.now();
    setFromText(localInput(Math.floor((now - spanMin * 60_000) / 60_000) * 60_000));
    setOpen(true);
  };
  const leave = () => {
    setPlaying(false);
    setOpen(false);
    setLoaded({ kind: 'idle' });
  };
  const load = async () => {
    const from = new Date(fromText).getTime();
    if (!Number.isFinite(from) || live.city === null) return;
    const spanMs = spanMin * 60_000;
    const step = replayStepMs(spanMs, live.city.sensors.length, MAX_FRAMES, CELL_BUDGET);
    setPlaying(false);
    setLoaded({ kind: 'loading' });
    try {
      const res = await fetch(`/api/replay?from=${from}&to=${from + spanMs}&step_ms=${step}`, { cache: 'no-store' });
      if (!res.ok) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
      const city = live.city;
      setLoaded({ kind: 'ready', model: new ReplayModel((await res.json()) as ReplayResponse, city) });
      setFrame(0);
    } catch (error) {
      setLoaded({ kind: 'error', message: error instanceof Error ? error.message : String(error) });
    }
  };

  if (!open) {
    return (
      <button type="button" className="replay-toggle" data-testid="replay-toggle" onClick={enter}>
        {t.enter}
      </button>
    );
  }
  const shownAt = model === null ? null : model.frameTime(frame);
  return (
    <div className="replay-bar" data-testid="replay-bar">
      <label className="replay-field">
        {t.from}
        <input type="datetime-local" value={fromText} onChange={(e) => setFromText(e.target.value)} data-testid="replay-from" />
      </label>
      <label className="replay-field">
        {t.span}
        <select value={spanMin} onChange={(e) => setSpanMin(Number(e.target.value))} data-testid="replay-span">
          {SPANS_MIN.map((m) => (
            <option key={m} value={m}>
              {t.spanMinutes(m)}
            </option>
          ))}
        </select>
      </label>
      <button
        type="button"
        className="replay-button"
        onClick={() => void load()}
        data-testid="replay-load"
        disabled={loaded.kind === 'loading'}
      >
        {loaded.kind === 'loading' ? t.loading : t.load}
      </button>
      {model !== null && (
        <>
          <button type="button" className="replay-button" onClick={() => setPlaying((p) => !p)} data-testid="replay-play">
            {playing ? t.pause : t.play}
          </button>
          <label className="replay-field">
            {t.speed}
            <select value={speed} onChange={(e) => setSpeed(Number(e.target.value))} data-testid="replay-speed">
              {SPEEDS.map((s) => (
                <option key={s} value={s}>
                  {s}×
                </option>
              ))}
            </select>
          </label>
          <input
            type="range"
            className="replay-slider"
            min={0}
            max={model.frames - 1}
            value={frame}
            onChange={(e) => setFrame(Number(e.target.value))}
            aria-label={t.frame}
            data-testid="replay-slider"
          />
          <span className="replay-time" data-testid="replay-time" data-ts={shownAt ?? ''}>
            {shownAt === null ? '' : `${formatDate(shownAt, lang)} ${formatTime(shownAt, lang)}`}
          </span>
        </>
      )}
      {loaded.kind === 'error' && (
        <span className="replay-error" data-testid="replay-error">
          {loaded.message}
        </span>
      )}
      <button type="button" className="replay-button replay-live" onClick={leave} data-testid="replay-live">
        {t.live}
      </button>
    </div>
  );
}
