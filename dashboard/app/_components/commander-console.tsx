'use client';

import { useCallback, useEffect, useRef, useState } from 'react';
import type { ApiAction, IncidentDetail, IncidentList } from '@cityops/incidents';
import { levelRank, WARNING_LEVEL_INFO, type IncidentEvent } from '@cityops/schemas';
import type { CityResponse, IncidentEventsResponse } from '../../src/api-types.js';
import { api } from '../_lib/auth-client.js';
import { beep, rememberSound, soundWanted, unlockAudio } from '../_lib/beep.js';
import { kindLabel, levelLabel, localName, UI_TEXT, type Lang } from '../_lib/i18n.js';
import { OPS_TEXT } from '../_lib/ops-text.js';
import { canOpen } from '../_lib/page-access.js';
import { useMe } from '../_lib/use-me.js';
import { useStoredLang } from '../_lib/use-stored-lang.js';
import { Forbidden, PageHeader } from './page-nav.js';

/*
 * The commander's console (issue 7): an alert inbox of cases, most severe and newest first, kept
 * current by the live stream, with a beep for a new orange or red case; the detail of one case —
 * its evidence chain, severity and priority with their reasons, the SLA clock, the rule version
 * and the audit trail — and the actions the API says this principal may take. Works on a phone:
 * one column, the detail replacing the list, 48 px touch targets.
 */

type CaseView = IncidentList['items'][number];

/** The actions this page offers; merge and split need several cases or warnings picked and stay on the API. */
const CONSOLE_ACTIONS: readonly ApiAction[] = [
  'confirm',
  'accept',
  'arrive',
  'reassign',
  'escalate',
  'recall',
  'comment',
  'resolve',
  'verify',
  'close',
];
/** Statuses the inbox shows unless closed cases are asked for. */
const ACTIVE = 'open,dispatched,accepted,resolved';
const LOUD_LEVELS = new Set(['orange', 'red']);

function inboxOrder(a: CaseView, b: CaseView): number {
  return levelRank(b.incident.level) - levelRank(a.incident.level) || b.incident.opened_at - a.incident.opened_at;
}

export function CommanderConsole() {
  const [lang, setLang] = useStoredLang();
  const text = OPS_TEXT[lang];
  const { me, error: meError } = useMe();
  const allowedPage = me !== null && canOpen(me, 'console');

  const [cases, setCases] = useState<CaseView[]>([]);
  const [overdue, setOverdue] = useState<ReadonlySet<string>>(new Set());
  const [showClosed, setShowClosed] = useState(false);
  const [selected, setSelected] = useState<string | null>(null);
  const [detail, setDetail] = useState<IncidentDetail | null>(null);
  const [trail, setTrail] = useState<IncidentEvent[]>([]);
  const [city, setCity] = useState<CityResponse | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [sound, setSound] = useState(false);
  const [now, setNow] = useState(() => Date.now());
  /** Ids seen so far: a case not among them at orange or red is new and beeps (not on the first load). */
  const seen = useRef<Set<string> | null>(null);
  const soundRef = useRef(false);
  soundRef.current = sound;

  const loadCases = useCallback(async () => {
    try {
      const status = showClosed ? '' : `&status=${ACTIVE}`;
      const [list, late] = await Promise.all([
        api<IncidentList>('GET', `/api/cases?limit=500${status}`),
        api<IncidentList>('GET', '/api/cases?limit=1000&overdue=true'),
      ]);
      const items = [...list.items].sort(inboxOrder);
      const known = seen.current;
      if (known !== null && items.some((c) => !known.has(c.incident.id) && LOUD_LEVELS.has(c.incident.level)) && soundRef.current) beep();
      seen.current = new Set([...(known ?? []), ...items.map((c) => c.incident.id)]);
      setCases(items);
      setOverdue(new Set(late.items.map((c) => c.incident.id)));
      setNow(Date.now());
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }, [showClosed]);

  const loadDetail = useCallback(async (id: string) => {
    try {
      const d = await api<IncidentDetail>('GET', `/api/cases/${encodeURIComponent(id)}`);
      setDetail(d);
      // The incidents role gives the trail when its backend keeps one; otherwise the store has it.
      if (d.events.length > 0) setTrail(d.events);
      else {
        const stored = await api<IncidentEventsResponse>('GET', `/api/incidents/${encodeURIComponent(id)}/events`).catch(() => null);
        setTrail(stored?.events ?? []);
      }
    } catch (e) {
      setDetail(null);
      setError(e instanceof Error ? e.message : String(e));
    }
  }, []);

  useEffect(() => {
    if (!allowedPage) return;
    void loadCases();
    void api<CityResponse>('GET', '/api/city')
      .then(setCity)
      .catch(() => undefined);
  }, [allowedPage, loadCases]);

  // The live stream says when a case changed; the inbox reloads (coalesced) from the case API.
  useEffect(() => {
    if (!allowedPage) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const schedule = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        void loadCases();
        if (selected !== null) void loadDetail(selected);
      }, 300);
    };
    const es = new EventSource('/api/stream');
    for (const name of ['incident', 'dispatch', 'hello']) es.addEventListener(name, schedule);
    const tick = setInterval(() => setNow(Date.now()), 15_000);
    return () => {
      es.close();
      clearTimeout(timer);
      clearInterval(tick);
    };
  }, [allowedPage, loadCases, loadDetail, selected]);

  useEffect(() => {
    if (selected !== null) void loadDetail(selected);
    else setDetail(null);
  }, [selected, loadDetail]);

  // Sound was turned on before: browsers still need one gesture on this page to allow audio.
  useEffect(() => {
    if (!soundWanted()) return;
    setSound(true);
    const unlock = () => void unlockAudio();
    document.addEventListener('pointerdown', unlock, { once: true });
    return () => document.removeEventListener('pointerdown', unlock);
  }, []);

  async function toggleSound() {
    const next = !sound;
    if (next) {
      await unlockAudio();
      beep();
    }
    setSound(next);
    rememberSound(next);
  }

  async function act(action: ApiAction, body: Record<string, unknown>) {
    if (selected === null) return;
    setError(null);
    setNotice(null);
    try {
      await api('POST', `/api/cases/${encodeURIComponent(selected)}/${action}`, body);
      setNotice(text.done(text.actionNames[action]));
      await Promise.all([loadDetail(selected), loadCases()]);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }

  const areaName = (id: string) => {
    const a = city?.areas.find((x) => x.id === id);
    return a === undefined ? id || UI_TEXT[lang].citywide : localName(a, lang);
  };
  const deptName = (id: string) => {
    const d = city?.departments.find((x) => x.id === id);
    return d === undefined ? id || UI_TEXT[lang].undispatched : localName(d, lang);
  };
  const time = (ms: number) => new Date(ms).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB', { hour12: false });

  return (
    <div className="ops-page" data-testid="console-page">
      <PageHeader me={me} current="console" title={text.consoleTitle} lang={lang} setLang={setLang} />
      {meError !== null && <p className="auth-error">{meError}</p>}
      {me !== null && !allowedPage && <Forbidden me={me} page="console" lang={lang} />}
      {allowedPage && (
        <>
          <div className="ops-toolbar">
            <button
              type="button"
              className={`ops-button${sound ? ' is-on' : ''}`}
              data-testid="sound-toggle"
              aria-pressed={sound}
              onClick={() => void toggleSound()}
            >
              {sound ? text.soundOn : text.soundOff}
            </button>
            <label className="ops-check">
              <input type="checkbox" checked={showClosed} onChange={(e) => setShowClosed(e.target.checked)} />
              {text.showClosed}
            </label>
          </div>
          {/* Sticky: on a phone the answer to a tap must be seen where the thumb is, not scrolled away. */}
          <div className="ops-messages">
            {error !== null && (
              <p className="auth-error" role="alert" data-testid="console-error">
                {error}
                <button type="button" className="ops-dismiss" onClick={() => setError(null)} aria-label="×">
                  ×
                </button>
              </p>
            )}
            {notice !== null && (
              <p className="ops-notice" role="status" data-testid="console-notice">
                {notice}
              </p>
            )}
          </div>
          <main className={`console-body${selected === null ? '' : ' has-detail'}`}>
            <section className="console-inbox" aria-label={text.inbox}>
              <h2>
                {text.inbox} <span className="muted">{text.inboxCount(cases.length)}</span>
              </h2>
              {cases.length === 0 && <p className="muted">{text.inboxEmpty}</p>}
              <ul className="case-list">
                {cases.map((c) => {
                  const late = overdue.has(c.incident.id);
                  return (
                    <li key={c.incident.id}>
                      <button
                        type="button"
                        className={`case-row${selected === c.incident.id ? ' is-selected' : ''}${late ? ' is-overdue' : ''}`}
                        style={{ ['--level' as string]: WARNING_LEVEL_INFO[c.incident.level].colorHex }}
                        data-testid="case-row"
                        data-level={c.incident.level}
                        data-status={c.incident.status}
                        onClick={() => setSelected(c.incident.id)}
                      >
                        <span className="level-chip">{UI_TEXT[lang].levelChip(WARNING_LEVEL_INFO[c.incident.level].roman)}</span>
                        <span className="case-main">
                          <span className="case-title">
                            {kindLabel(c.incident.kind, lang)} · {areaName(c.incident.area_id)}
                          </span>
                          <span className="case-sub">{c.incident.title}</span>
                        </span>
                        <span className="case-meta">
                          <span className={`status status-${c.incident.status}`} data-testid="case-status">
                            {UI_TEXT[lang].status[c.incident.status]}
                          </span>
                          <span>{c.priority}</span>
                          <span className="muted">{UI_TEXT[lang].age(Math.max(0, Math.floor((now - c.incident.opened_at) / 60_000)))}</span>
                          {late && (
                            <span className="overdue-badge" data-testid="overdue">
                              {text.overdue}
                            </span>
                          )}
                        </span>
                      </button>
                    </li>
                  );
                })}
              </ul>
            </section>
            <section className="console-detail" aria-live="polite">
              {selected === null && <p className="muted">{text.pickCase}</p>}
              {selected !== null && (
                <button type="button" className="ops-button console-back" onClick={() => setSelected(null)}>
                  ← {text.back}
                </button>
              )}
              {detail !== null && selected !== null && (
                <CaseDetail
                  detail={detail}
                  trail={trail}
                  lang={lang}
                  overdue={overdue.has(detail.case.incident.id)}
                  departments={city?.departments ?? []}
                  areaName={areaName}
                  deptName={deptName}
                  time={time}
                  onAct={(action, body) => void act(action, body)}
                />
              )}
            </section>
          </main>
        </>
      )}
    </div>
  );
}

function CaseDetail(props: {
  detail: IncidentDetail;
  trail: readonly IncidentEvent[];
  lang: Lang;
  overdue: boolean;
  departments: CityResponse['departments'];
  areaName: (id: string) => string;
  deptName: (id: string) => string;
  time: (ms: number) => string;
  onAct: (action: ApiAction, body: Record<string, unknown>) => void;
}) {
  const { detail, trail, lang, departments, deptName, time } = props;
  const text = OPS_TEXT[lang];
  const c = detail.case;
  const i = c.incident;
  const [note, setNote] = useState('');
  const [comment, setComment] = useState('');
  const [department, setDepartment] = useState('');
  const actions = CONSOLE_ACTIONS.filter((a) => detail.allowed.includes(a));

  function run(action: ApiAction) {
    const withNote = note.trim() === '' ? {} : { note: note.trim() };
    if (action === 'comment') props.onAct(action, { text: comment.trim() });
    else if (action === 'reassign') props.onAct(action, { ...withNote, department_id: department });
    else if (action === 'confirm' && department !== '') props.onAct(action, { ...withNote, department_id: department });
    else props.onAct(action, withNote);
    setNote('');
    setComment('');
  }

  return (
    <article className="case-detail" data-testid="case-detail" data-status={i.status}>
      <header className="case-detail-head" style={{ ['--level' as string]: WARNING_LEVEL_INFO[i.level].colorHex }}>
        <span className="level-chip">{levelLabel(i.level, lang)}</span>
        <h2>{i.title}</h2>
        <p>
          {kindLabel(i.kind, lang)} · {props.areaName(i.area_id)} ·{' '}
          <span className={`status status-${i.status}`} data-testid="detail-status">
            {UI_TEXT[lang].status[i.status]}
          </span>
          {props.overdue && <span className="overdue-badge">{text.overdue}</span>}
        </p>
      </header>
      <dl className="case-facts">
        <dt>{text.severity}</dt>
        <dd>
          <strong>{Math.round(c.severity)}</strong> / 100
        </dd>
        <dt>{text.priority}</dt>
        <dd>
          <strong>{c.priority}</strong>
        </dd>
        <dt>{text.reasons}</dt>
        <dd>
          <ul className="plain-list">
            {c.severity_reasons.map((r) => (
              <li key={r}>{r}</li>
            ))}
          </ul>
        </dd>
        <dt>{text.stage}</dt>
        <dd>
          {text.stages[c.stage] ?? c.stage} · {text.dueAt}: {c.due_at === 0 ? text.noClock : time(c.due_at)}
        </dd>
        <dt>{text.department}</dt>
        <dd>
          {deptName(i.department_id)}
          {c.assist_ids.length > 0 && ` · ${text.assists}: ${c.assist_ids.map(deptName).join('、')}`}
          {c.escalation_level > 0 && ` · ${text.escalation} ${c.escalation_level} (${deptName(c.escalated_to)})`}
        </dd>
        <dt>{text.ruleVersion}</dt>
        <dd>
          <code>{i.rule_version}</code> <span className="machine-tag">{text.machineMade}</span>
        </dd>
      </dl>

      <section className="case-section">
        <h3>{text.actions}</h3>
        {actions.length === 0 && <p className="muted">{text.noActions}</p>}
        {actions.length > 0 && (
          <div className="case-actions">
            <input
              className="ops-input"
              value={note}
              onChange={(e) => setNote(e.target.value)}
              placeholder={text.note}
              aria-label={text.note}
            />
            {(actions.includes('reassign') || actions.includes('confirm')) && (
              <select
                className="ops-input"
                value={department}
                onChange={(e) => setDepartment(e.target.value)}
                aria-label={text.pickDepartment}
                data-testid="department-picker"
              >
                <option value="">{text.pickDepartment}</option>
                {departments.map((d) => (
                  <option key={d.id} value={d.id}>
                    {localName(d, lang)}
                  </option>
                ))}
              </select>
            )}
            {actions.includes('comment') && (
              <input
                className="ops-input"
                value={comment}
                onChange={(e) => setComment(e.target.value)}
                placeholder={text.commentText}
                aria-label={text.commentText}
                data-testid="comment-text"
              />
            )}
            <div className="case-buttons">
              {actions.map((a) => (
                <button
                  key={a}
                  type="button"
                  className="ops-button action-button"
                  data-testid={`action-${a}`}
                  disabled={(a === 'reassign' && department === '') || (a === 'comment' && comment.trim() === '')}
                  onClick={() => run(a)}
                >
                  {text.actionNames[a]}
                </button>
              ))}
            </div>
          </div>
        )}
      </section>

      <section className="case-section">
        <h3>{text.evidence}</h3>
        <table className="ops-table" data-testid="evidence">
          <thead>
            <tr>
              <th>{text.evidenceWarning}</th>
              <th>{text.evidenceSource}</th>
              <th>{text.evidenceIds}</th>
            </tr>
          </thead>
          <tbody>
            {c.evidence.map((e) => (
              <tr key={e.warning_id}>
                <td>
                  {e.level !== '' && (
                    <span className="level-dot" style={{ background: WARNING_LEVEL_INFO[e.level].colorHex }} aria-label={e.level} />
                  )}
                  <code>{e.warning_id}</code>
                  <div className="muted">{time(e.ts)}</div>
                </td>
                <td>
                  <code>{e.source}</code>
                  {e.cleared && <div className="muted">{text.cleared}</div>}
                </td>
                <td>
                  {e.evidence_ids.filter((id) => !id.startsWith('snapshot:')).join(', ')}
                  {/* Camera evidence: the masked picture the warning cites (faces and plates pixelated). */}
                  {e.evidence_ids
                    .filter((id) => id.startsWith('snapshot:'))
                    .map((id) => (
                      <img key={id} className="evidence-snapshot" data-testid="evidence-snapshot" src={`/api/snapshots/${id}`} alt={id} />
                    ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <section className="case-section">
        <h3>{text.audit}</h3>
        <ol className="audit-trail" data-testid="audit-trail">
          {trail.map((e) => (
            <li key={e.id}>
              <span className="muted">{time(e.ts)}</span> <strong>{e.type}</strong> · {e.machine_made ? `${text.machine} ` : ''}
              <code>{e.actor}</code>
              {e.detail !== '' && <div className="audit-detail">{e.detail}</div>}
            </li>
          ))}
        </ol>
      </section>
    </article>
  );
}
