'use client';

import { useEffect, useState } from 'react';
import type { WallForecast, WallForecastsResponse } from '../../src/api-types.js';
import { localName, useLang } from '../_lib/i18n.js';
import { OPS_TEXT } from '../_lib/ops-text.js';
import { FanChart } from './fan-chart.js';

/*
 * The wall's risk-forecast view: fan charts of the indicators whose newest forecast is most
 * likely to breach a risk threshold (GET /api/wall/forecasts, readable with the wall's city:read).
 * Read when the view comes on screen and again every REFRESH_MS while it stays there.
 */

const SHOWN = 4;
const REFRESH_MS = 5 * 60_000;

type Loaded = { kind: 'loading' } | { kind: 'ok'; forecasts: WallForecast[] } | { kind: 'error'; message: string };

export function WallForecasts() {
  const { lang, text } = useLang();
  const [loaded, setLoaded] = useState<Loaded>({ kind: 'loading' });

  useEffect(() => {
    let alive = true;
    const load = async () => {
      try {
        const res = await fetch(`/api/wall/forecasts?limit=${SHOWN}`, { cache: 'no-store' });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const body = (await res.json()) as WallForecastsResponse;
        if (alive) setLoaded({ kind: 'ok', forecasts: body.forecasts });
      } catch (error) {
        // The last picture stays up; a wall must not go blank for one failed read.
        if (alive)
          setLoaded((l) => (l.kind === 'ok' ? l : { kind: 'error', message: error instanceof Error ? error.message : String(error) }));
      }
    };
    void load();
    const timer = window.setInterval(() => void load(), REFRESH_MS);
    return () => {
      alive = false;
      window.clearInterval(timer);
    };
  }, []);

  const chartText = OPS_TEXT[lang];
  const time = (ms: number) =>
    new Date(ms).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB', {
      month: 'numeric',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
    });

  return (
    <div className="wall-forecasts" data-testid="wall-forecasts">
      <div className="wall-forecasts-title">{text.forecastsTitle}</div>
      {loaded.kind === 'loading' && <div className="map-loading">{text.loading}</div>}
      {loaded.kind === 'error' && <div className="map-loading">{text.forecastsError(loaded.message)}</div>}
      {loaded.kind === 'ok' && loaded.forecasts.length === 0 && <div className="map-loading">{text.forecastsEmpty}</div>}
      {loaded.kind === 'ok' && loaded.forecasts.length > 0 && (
        // One or two charts stacked at full width; three or four in a 2 × 2 grid.
        <div className={`wall-forecasts-grid${loaded.forecasts.length <= 2 ? ' is-single-column' : ''}`}>
          {loaded.forecasts.map((f) => {
            const first = f.path[0];
            const lastTarget = f.path.at(-1)?.target_ts ?? first?.issued_at ?? 0;
            const issued = first?.issued_at ?? 0;
            const fromMs = Math.min(issued - (lastTarget - issued), f.ticks[0]?.ts ?? issued);
            return (
              <section key={f.indicator.id} className="wall-forecast" data-testid="wall-forecast" data-indicator-id={f.indicator.id}>
                <header className="wall-forecast-head">
                  <span className="wall-forecast-name">{localName(f.indicator, lang)}</span>
                  <span className="wall-forecast-breach" data-testid="wall-forecast-breach">
                    {text.peakBreach(Math.round(f.peak_breach_probability * 100))}
                  </span>
                </header>
                <FanChart
                  ticks={f.ticks}
                  path={f.path}
                  warnings={[]}
                  riskUpper={f.indicator.risk_upper}
                  riskLower={f.indicator.risk_lower}
                  fromMs={fromMs}
                  toMs={Math.max(lastTarget, fromMs + 1)}
                  unit={f.indicator.unit}
                  text={chartText}
                  formatTime={time}
                />
                <div className="wall-forecast-foot">
                  {first !== undefined && `${chartText.latestIssue(time(first.issued_at))} · ${first.model}@${first.model_version} · `}
                  <span className="machine-tag">{text.machineMade}</span>
                </div>
              </section>
            );
          })}
        </div>
      )}
    </div>
  );
}
