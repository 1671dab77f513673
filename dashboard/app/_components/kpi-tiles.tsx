import { WARNING_LEVELS, WARNING_LEVEL_INFO } from '@cityops/schemas';
import { useMemo } from 'react';
import { useLang } from '../_lib/i18n.js';
import { isActive, STALE_AFTER_MS, type FeedView } from '../_lib/live-feed.js';
import { responseKpis } from '../_lib/response-kpis.js';

const HOUR_MS = 3_600_000;

/**
 * Open incidents per level (worst first), warnings in the last hour, sensors reporting, SLA
 * compliance with the mean times to dispatch and to resolve, data freshness.
 */
export function KpiTiles({ view }: { view: FeedView }) {
  const { lang, text } = useLang();
  const { incidents, warnings, now, city, sensorsReporting, newestReadingTs, dispatchByIncident } = view;
  const response = useMemo(() => responseKpis(incidents, dispatchByIncident, now ?? 0), [incidents, dispatchByIncident, now]);
  const minutes = (m: number | null) => (m === null ? text.kpiNone : text.minutes(Math.round(m)));
  const slaClass =
    response.slaCompliance === null
      ? ''
      : response.slaCompliance >= 0.9
        ? 'kpi-good'
        : response.slaCompliance >= 0.7
          ? 'kpi-warn'
          : 'kpi-bad';
  const byLevel = useMemo(() => {
    const counts = { blue: 0, yellow: 0, orange: 0, red: 0 };
    for (const i of incidents) if (isActive(i)) counts[i.level]++;
    return counts;
  }, [incidents]);
  const warningsLastHour = now === null ? 0 : countSince(warnings, now - HOUR_MS);
  const freshnessS = now === null || newestReadingTs === null ? null : Math.max(0, Math.round((now - newestReadingTs) / 1000));
  const freshnessClass =
    freshnessS === null ? 'kpi-bad' : freshnessS * 1000 > STALE_AFTER_MS ? 'kpi-bad' : freshnessS > 5 ? 'kpi-warn' : 'kpi-good';
  const sensorTotal = city?.sensors.length ?? 0;
  const sensorClass =
    sensorTotal === 0 ? '' : sensorsReporting === sensorTotal ? 'kpi-good' : sensorsReporting >= sensorTotal * 0.9 ? 'kpi-warn' : 'kpi-bad';

  return (
    <section className="kpis" aria-label={text.kpiOpenIncidents}>
      <div className="kpi-group">
        <div className="kpi-group-title">{text.kpiOpenIncidents}</div>
        <div className="kpi-levels">
          {[...WARNING_LEVELS].reverse().map((level) => {
            const info = WARNING_LEVEL_INFO[level];
            const count = byLevel[level];
            return (
              <div
                key={level}
                className={`kpi kpi-level${count > 0 ? ' kpi-level-hot' : ''}`}
                style={{ ['--level' as string]: info.colorHex }}
                data-testid={`kpi-level-${level}`}
              >
                <div className="kpi-value">{count}</div>
                <div className="kpi-label">{info[lang]}</div>
              </div>
            );
          })}
        </div>
      </div>
      <div className="kpi">
        <div className="kpi-value">{warningsLastHour}</div>
        <div className="kpi-label">{text.kpiWarningsHour}</div>
      </div>
      <div className={`kpi ${sensorClass}`}>
        <div className="kpi-value">
          {sensorsReporting}
          <span className="kpi-unit"> / {sensorTotal}</span>
        </div>
        <div className="kpi-label">{text.kpiSensors}</div>
      </div>
      <div className={`kpi ${slaClass}`} data-testid="kpi-sla">
        <div className="kpi-value">{response.slaCompliance === null ? text.kpiNone : `${Math.round(response.slaCompliance * 100)}%`}</div>
        <div className="kpi-label">{text.kpiSla}</div>
        <div className="kpi-sub" data-testid="kpi-response-times">
          {text.kpiResponseTimes(minutes(response.meanDispatchMin), minutes(response.meanResolveMin))}
        </div>
      </div>
      <div className={`kpi ${freshnessClass}`} data-testid="kpi-freshness">
        <div className="kpi-value">{freshnessS === null ? text.kpiNone : text.seconds(freshnessS)}</div>
        <div className="kpi-label">{text.kpiFreshness}</div>
      </div>
    </section>
  );
}

/** Warnings are sorted newest first, so counting stops at the first older one. */
export function countSince(warnings: readonly { ts: number }[], sinceMs: number): number {
  let n = 0;
  for (const w of warnings) {
    if (w.ts < sinceMs) break;
    n++;
  }
  return n;
}
