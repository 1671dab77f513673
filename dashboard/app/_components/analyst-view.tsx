'use client';

import { useCallback, useEffect, useMemo, useState, type FormEvent } from 'react';
import type { Forecast } from '@cityops/schemas';
import { WARNING_LEVEL_INFO } from '@cityops/schemas';
import type {
  ForecastTrackRecordResponse,
  IndicatorForecastsResponse,
  IndicatorsResponse,
  IndicatorTicksResponse,
  IndicatorWarningsResponse,
} from '../../src/api-types.js';
import { api } from '../_lib/auth-client.js';
import { kindLabel, levelLabel, localName } from '../_lib/i18n.js';
import { OPS_TEXT } from '../_lib/ops-text.js';
import { canOpen } from '../_lib/page-access.js';
import { useMe } from '../_lib/use-me.js';
import { useStoredLang } from '../_lib/use-stored-lang.js';
import { FanChart } from './fan-chart.js';
import { Forbidden, PageHeader } from './page-nav.js';

/*
 * The analyst's view (issue 7, on issue 5's API): one indicator over a chosen range — its
 * realised values, the latest forecast path of a model as a fan chart with the 95% interval,
 * breach probabilities, the market warnings — with filters, CSV export of each table, and every
 * model's forecast-vs-actual track record (MAE, bias, interval coverage) for that range.
 */

const HOUR = 3_600_000;

/** `<input type=datetime-local>` speaks local wall time without a zone. */
function toLocalInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

function fromLocalInput(value: string): number | null {
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? ms : null;
}

/** A text field of a submitted form ('' when absent; a file field is never text). */
function formText(form: FormData, name: string): string {
  const v = form.get(name);
  return typeof v === 'string' ? v : '';
}

interface Query {
  indicatorId: string;
  fromMs: number;
  toMs: number;
}

interface Loaded {
  query: Query;
  ticks: IndicatorTicksResponse['ticks'];
  forecasts: Forecast[];
  warnings: IndicatorWarningsResponse['warnings'];
  track: ForecastTrackRecordResponse['records'];
}

export function AnalystView() {
  const [lang, setLang] = useStoredLang();
  const text = OPS_TEXT[lang];
  const { me, error: meError } = useMe();
  const allowedPage = me !== null && canOpen(me, 'analyst');

  const [indicators, setIndicators] = useState<IndicatorsResponse['indicators']>([]);
  const [query, setQuery] = useState<Query | null>(null);
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [model, setModel] = useState('');
  const [minBreach, setMinBreach] = useState(0);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!allowedPage) return;
    api<IndicatorsResponse>('GET', '/api/indicators')
      .then((r) => {
        setIndicators(r.indicators);
        const first = r.indicators[0];
        if (first !== undefined) {
          const now = Date.now();
          setQuery({
            indicatorId: first.id,
            fromMs: Math.floor((now - 3 * 24 * HOUR) / HOUR) * HOUR,
            toMs: Math.ceil((now + 24 * HOUR) / HOUR) * HOUR,
          });
        }
      })
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  }, [allowedPage]);

  const load = useCallback(async (q: Query) => {
    setError(null);
    const id = encodeURIComponent(q.indicatorId);
    const range = `from=${q.fromMs}&to=${q.toMs}`;
    const now = Date.now();
    try {
      const [ticks, forecasts, warnings, track] = await Promise.all([
        api<IndicatorTicksResponse>('GET', `/api/indicators/${id}/ticks?from=${q.fromMs}&to=${Math.min(q.toMs, now + 1)}`),
        api<IndicatorForecastsResponse>('GET', `/api/indicators/${id}/forecasts?${range}`),
        api<IndicatorWarningsResponse>('GET', `/api/indicators/${id}/warnings?from=${q.fromMs}&to=${Math.min(q.toMs, now + 1)}`),
        q.fromMs < now
          ? api<ForecastTrackRecordResponse>('GET', `/api/forecast-track-record?indicator_id=${id}&${range}`)
          : Promise.resolve({ from: q.fromMs, to: q.toMs, records: [] }),
      ]);
      setLoaded({ query: q, ticks: ticks.ticks, forecasts: forecasts.forecasts, warnings: warnings.warnings, track: track.records });
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }, []);

  useEffect(() => {
    if (query !== null) void load(query);
  }, [query, load]);

  const models = useMemo(() => [...new Set(loaded?.forecasts.map((f) => f.model) ?? [])].sort(), [loaded]);
  // The fan: the latest issue of the chosen model (or of whichever model issued last).
  const path = useMemo(() => {
    const pool = (loaded?.forecasts ?? []).filter((f) => model === '' || f.model === model);
    if (pool.length === 0) return [];
    const latest = pool.reduce((a, b) => (b.issued_at > a.issued_at ? b : a));
    return pool.filter((f) => f.issued_at === latest.issued_at && f.model === latest.model).sort((a, b) => a.target_ts - b.target_ts);
  }, [loaded, model]);
  const breachRows = path.filter((f) => f.breach_probability >= minBreach);
  const indicator = indicators.find((i) => i.id === loaded?.query.indicatorId);
  const time = (ms: number) =>
    new Date(ms).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB', {
      month: 'numeric',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      hour12: false,
    });
  const num = (v: number, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : '—');

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const fromMs = fromLocalInput(formText(form, 'from'));
    const toMs = fromLocalInput(formText(form, 'to'));
    const indicatorId = formText(form, 'indicator');
    if (fromMs === null || toMs === null || indicatorId === '') return;
    setQuery({ indicatorId, fromMs, toMs });
  }

  const csvHref = (kind: 'ticks' | 'forecasts' | 'warnings' | 'track') => {
    if (loaded === null) return '#';
    const q = loaded.query;
    const id = encodeURIComponent(q.indicatorId);
    const range = `from=${q.fromMs}&to=${q.toMs}`;
    if (kind === 'track') return `/api/forecast-track-record?indicator_id=${id}&${range}&format=csv`;
    const to = kind === 'forecasts' ? q.toMs : Math.min(q.toMs, Date.now() + 1);
    return `/api/indicators/${id}/${kind}?from=${q.fromMs}&to=${to}&format=csv`;
  };

  return (
    <div className="ops-page" data-testid="analyst-page">
      <PageHeader me={me} current="analyst" title={text.analystTitle} lang={lang} setLang={setLang} />
      {meError !== null && <p className="auth-error">{meError}</p>}
      {me !== null && !allowedPage && <Forbidden me={me} page="analyst" lang={lang} />}
      {error !== null && (
        <p className="auth-error" role="alert" data-testid="analyst-error">
          {error}
        </p>
      )}
      {allowedPage && query !== null && (
        <>
          <form className="analyst-filters" onSubmit={onSubmit} key={`${query.indicatorId}-${query.fromMs}-${query.toMs}`}>
            <label>
              {text.indicator}
              <select name="indicator" className="ops-input" defaultValue={query.indicatorId} data-testid="indicator-picker">
                {indicators.map((i) => (
                  <option key={i.id} value={i.id}>
                    {localName(i, lang)} ({i.unit})
                  </option>
                ))}
              </select>
            </label>
            <label>
              {text.from}
              <input type="datetime-local" name="from" className="ops-input" defaultValue={toLocalInput(query.fromMs)} />
            </label>
            <label>
              {text.to}
              <input type="datetime-local" name="to" className="ops-input" defaultValue={toLocalInput(query.toMs)} />
            </label>
            <button type="submit" className="ops-button primary-button" data-testid="apply">
              {text.apply}
            </button>
          </form>
          <div className="analyst-filters">
            <label>
              {text.model}
              <select className="ops-input" value={model} onChange={(e) => setModel(e.target.value)} data-testid="model-picker">
                <option value="">{text.allModels}</option>
                {models.map((m) => (
                  <option key={m} value={m}>
                    {m}
                  </option>
                ))}
              </select>
            </label>
            <label>
              {text.minBreach}
              <input
                type="number"
                min={0}
                max={1}
                step={0.05}
                className="ops-input"
                value={minBreach}
                onChange={(e) => setMinBreach(Math.min(1, Math.max(0, Number(e.target.value) || 0)))}
              />
            </label>
          </div>
        </>
      )}
      {allowedPage && loaded !== null && indicator !== undefined && (
        <main className="analyst-body">
          <section className="ops-panel analyst-chart">
            <h2>
              {text.chartTitle} · {localName(indicator, lang)}
            </h2>
            <FanChart
              ticks={loaded.ticks}
              path={path}
              warnings={loaded.warnings}
              riskUpper={indicator.risk_upper}
              riskLower={indicator.risk_lower}
              fromMs={loaded.query.fromMs}
              toMs={loaded.query.toMs}
              unit={indicator.unit}
              text={text}
              formatTime={time}
            />
            <p className="muted">
              {path[0] !== undefined && `${text.latestIssue(time(path[0].issued_at))} · ${path[0].model}@${path[0].model_version} · `}
              <span className="machine-tag">{text.machineMade}</span>
              <a className="csv-link" href={csvHref('ticks')} download data-testid="csv-ticks">
                {text.csv} ({text.actual})
              </a>
              <a className="csv-link" href={csvHref('forecasts')} download data-testid="csv-forecasts">
                {text.csv} ({text.forecastMean})
              </a>
            </p>
          </section>

          <section className="ops-panel">
            <h2>{text.breachTitle}</h2>
            <table className="ops-table" data-testid="breach-table">
              <thead>
                <tr>
                  <th>{text.colTarget}</th>
                  <th>{text.colStep}</th>
                  <th>{text.colMean}</th>
                  <th>{text.colInterval}</th>
                  <th>{text.colBreach}</th>
                </tr>
              </thead>
              <tbody>
                {breachRows.map((f) => (
                  <tr key={f.id} className={f.breach_probability >= 0.5 ? 'is-risky' : ''}>
                    <td>{time(f.target_ts)}</td>
                    <td>{f.horizon_step}</td>
                    <td>{num(f.mean)}</td>
                    <td>
                      {num(f.lower)} … {num(f.upper)}
                    </td>
                    <td>{Math.round(f.breach_probability * 100)}%</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>

          <section className="ops-panel">
            <h2>
              {text.warningsTitle}
              <a className="csv-link" href={csvHref('warnings')} download data-testid="csv-warnings">
                {text.csv}
              </a>
            </h2>
            {loaded.warnings.length === 0 && <p className="muted">{text.noWarnings}</p>}
            <ul className="plain-list" data-testid="market-warnings">
              {loaded.warnings.map((w) => (
                <li key={w.id} className="market-warning">
                  <span className="level-dot" style={{ background: WARNING_LEVEL_INFO[w.level].colorHex }} />
                  <span className="muted">{time(w.ts)}</span> {levelLabel(w.level, lang)} · {kindLabel(w.kind, lang)} — {w.title}
                  <div className="muted">
                    {w.reasons.join('; ')} · {w.produced_by}
                  </div>
                </li>
              ))}
            </ul>
          </section>

          <section className="ops-panel">
            <h2>
              {text.trackTitle}
              <a className="csv-link" href={csvHref('track')} download data-testid="csv-track">
                {text.csv}
              </a>
            </h2>
            {loaded.track.length === 0 && <p className="muted">{text.noTrack}</p>}
            {loaded.track.length > 0 && (
              <table className="ops-table" data-testid="track-record">
                <thead>
                  <tr>
                    <th>{text.colModel}</th>
                    <th>{text.colCount}</th>
                    <th>{text.colMae}</th>
                    <th>{text.colBias}</th>
                    <th>{text.colCoverage}</th>
                  </tr>
                </thead>
                <tbody>
                  {loaded.track.map((r) => (
                    <tr key={`${r.model}@${r.model_version}`} data-testid="track-row">
                      <td>
                        {r.model}@{r.model_version}
                      </td>
                      <td>{r.forecasts}</td>
                      <td>{num(r.mae, 3)}</td>
                      <td>{num(r.bias, 3)}</td>
                      {/* An honest 95% interval covers about 95%: much less means the model is overconfident. */}
                      <td className={r.coverage < 0.85 ? 'is-bad' : ''}>{Math.round(r.coverage * 100)}%</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        </main>
      )}
    </div>
  );
}
