'use client';

import { useCallback, useEffect, useState } from 'react';
import type { IncidentReport } from '@cityops/incidents';
import { api } from '../_lib/auth-client.js';
import { useMe } from '../_lib/use-me.js';
import { useStoredLang } from '../_lib/use-stored-lang.js';
import { PageHeader } from './page-nav.js';

/*
 * The incident analysis of the last day or week (GET /api/reports/incidents): counts by kind, area
 * and department, SLA compliance per stage, mean times to dispatch and to close, how cases were
 * verified, hotspots and the trend; the same figures as a CSV download. The API decides who may
 * see it (analytics:read); a wall display account gets its 403 message here.
 */

const TEXT = {
  zh: {
    title: '事件分析报告',
    day: '日报',
    week: '周报',
    csv: '导出 CSV',
    total: '事件总数',
    closed: '已结案',
    compliance: 'SLA 达标率',
    dispatch: '平均派遣用时',
    close: '平均结案用时',
    verification: '核查（自动 / 人工 / 未核查）',
    byKind: '按类型',
    byArea: '按区域',
    byDepartment: '按部门',
    byPriority: '按优先级',
    sla: '各环节 SLA',
    hotspots: '热点',
    trend: '趋势',
    stage: '环节',
    clocks: '计时',
    breached: '超时',
    key: '项目',
    count: '数量',
    change: '变化',
    none: '—',
  },
  en: {
    title: 'Incident analysis',
    day: 'Daily',
    week: 'Weekly',
    csv: 'Export CSV',
    total: 'Incidents',
    closed: 'Closed',
    compliance: 'SLA compliance',
    dispatch: 'Mean time to dispatch',
    close: 'Mean time to close',
    verification: 'Verified (auto / by a person / not)',
    byKind: 'By kind',
    byArea: 'By area',
    byDepartment: 'By department',
    byPriority: 'By priority',
    sla: 'SLA per stage',
    hotspots: 'Hotspots',
    trend: 'Trend',
    stage: 'Stage',
    clocks: 'Clocks',
    breached: 'Breached',
    key: 'Item',
    count: 'Count',
    change: 'Change',
    none: '—',
  },
} as const;

function minutes(ms: number | null, none: string): string {
  return ms === null ? none : `${(ms / 60_000).toFixed(1)} min`;
}

function Counts({ title, rows, text }: { title: string; rows: IncidentReport['by_kind']; text: (typeof TEXT)['en' | 'zh'] }) {
  return (
    <section className="admin-section">
      <h2>{title}</h2>
      <table className="admin-table">
        <thead>
          <tr>
            <th>{text.key}</th>
            <th>{text.count}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.key}>
              <td>{r.key}</td>
              <td>{r.count}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function IncidentReportView() {
  const [lang, setLang] = useStoredLang();
  const text = TEXT[lang];
  const { me, error: meError } = useMe();
  const [period, setPeriod] = useState<'day' | 'week'>('day');
  const [report, setReport] = useState<IncidentReport | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async (p: 'day' | 'week') => {
    try {
      setReport(await api<IncidentReport>('GET', `/api/reports/incidents?period=${p}`));
      setError(null);
    } catch (e) {
      // The API's own refusal (403 naming the permission) is what the page shows: no hidden button.
      setError(e instanceof Error ? e.message : String(e));
    }
  }, []);

  useEffect(() => {
    if (me !== null) void load(period);
  }, [me, load, period]);

  return (
    <div className="admin-page" data-testid="reports-page">
      <PageHeader me={me} current="reports" title={text.title} lang={lang} setLang={setLang} />
      <div className="admin-header">
        <button type="button" className="lang-toggle" data-testid="period-day" disabled={period === 'day'} onClick={() => setPeriod('day')}>
          {text.day}
        </button>
        <button
          type="button"
          className="lang-toggle"
          data-testid="period-week"
          disabled={period === 'week'}
          onClick={() => setPeriod('week')}
        >
          {text.week}
        </button>
        <a className="admin-link" data-testid="csv" href={`/api/reports/incidents?period=${period}&format=csv`}>
          {text.csv}
        </a>
      </div>
      {(error ?? meError) !== null && (
        <p className="auth-error" role="alert" data-testid="reports-error">
          {error ?? meError}
        </p>
      )}
      {report !== null && (
        <>
          <section className="admin-section" data-testid="summary">
            <table className="admin-table">
              <tbody>
                <tr>
                  <th>{text.total}</th>
                  <td data-testid="total">{report.total}</td>
                  <th>{text.closed}</th>
                  <td>{report.closed}</td>
                  <th>{text.compliance}</th>
                  <td>{(report.sla_compliance * 100).toFixed(1)}%</td>
                </tr>
                <tr>
                  <th>{text.dispatch}</th>
                  <td>{minutes(report.mean_time_to_dispatch_ms, text.none)}</td>
                  <th>{text.close}</th>
                  <td>{minutes(report.mean_time_to_close_ms, text.none)}</td>
                  <th>{text.verification}</th>
                  <td>
                    {report.verification.auto} / {report.verification.manual} / {report.verification.unverified}
                  </td>
                </tr>
              </tbody>
            </table>
          </section>
          <section className="admin-section">
            <h2>{text.sla}</h2>
            <table className="admin-table">
              <thead>
                <tr>
                  <th>{text.stage}</th>
                  <th>{text.clocks}</th>
                  <th>{text.breached}</th>
                  <th>{text.compliance}</th>
                </tr>
              </thead>
              <tbody>
                {report.sla.map((s) => (
                  <tr key={s.stage}>
                    <td>{s.stage}</td>
                    <td>{s.clocks}</td>
                    <td>{s.breached}</td>
                    <td>{(s.compliance * 100).toFixed(1)}%</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
          <Counts title={text.byKind} rows={report.by_kind} text={text} />
          <Counts title={text.byArea} rows={report.by_area} text={text} />
          <Counts title={text.byDepartment} rows={report.by_department} text={text} />
          <Counts title={text.byPriority} rows={report.by_priority} text={text} />
          <Counts title={text.hotspots} rows={report.hotspots} text={text} />
          <section className="admin-section">
            <h2>{text.trend}</h2>
            <table className="admin-table">
              <thead>
                <tr>
                  <th>{text.key}</th>
                  <th>{text.count}</th>
                  <th>{text.change}</th>
                </tr>
              </thead>
              <tbody>
                {report.trend.map((t) => (
                  <tr key={t.bucket}>
                    <td>{t.bucket}</td>
                    <td>{t.count}</td>
                    <td>{t.change > 0 ? `+${t.change}` : t.change}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        </>
      )}
    </div>
  );
}
