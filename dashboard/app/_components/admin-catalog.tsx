'use client';

import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { SENSOR_KIND_INFO, SENSOR_KINDS, type Area, type Camera, type Retirement, type Sensor, type SensorKind } from '@cityops/schemas';
import { api } from '../_lib/auth-client.js';
import { AUTH_TEXT } from '../_lib/auth-text.js';
import { localName, type Lang } from '../_lib/i18n.js';

/*
 * Cameras, sensors and areas on the admin page: a table per kind and one form that adds a record
 * or, after "Edit", changes one (the id stays). What the server says is shown as it is: its 400
 * names the field. A saved record goes out on city.dimensions; the answer says whether the store
 * has it yet, and the list is reloaded from the store.
 */

type CatalogText = (typeof AUTH_TEXT)[Lang]['catalog'];
type Segment = 'areas' | 'sensors' | 'cameras';
type RecordOf = { areas: Area; sensors: Sensor; cameras: Camera };
type AnyRecord = Area | Sensor | Camera;

interface FieldSpec {
  name: string;
  label: keyof CatalogText;
  input: 'text' | 'number' | 'area' | 'sensor-kind' | 'geometry';
  /** Number inputs: the step (coordinates want decimals). */
  step?: string;
}

const FIELDS: Readonly<Record<Segment, readonly FieldSpec[]>> = {
  areas: [
    { name: 'id', label: 'colId', input: 'text' },
    { name: 'name_zh', label: 'nameZh', input: 'text' },
    { name: 'name_en', label: 'nameEn', input: 'text' },
    { name: 'population', label: 'population', input: 'number', step: '1' },
    { name: 'lon', label: 'lon', input: 'number', step: 'any' },
    { name: 'lat', label: 'lat', input: 'number', step: 'any' },
    { name: 'geometry', label: 'geometry', input: 'geometry' },
  ],
  sensors: [
    { name: 'id', label: 'colId', input: 'text' },
    { name: 'name', label: 'colName', input: 'text' },
    { name: 'kind', label: 'colKind', input: 'sensor-kind' },
    { name: 'area_id', label: 'colArea', input: 'area' },
    { name: 'lon', label: 'lon', input: 'number', step: 'any' },
    { name: 'lat', label: 'lat', input: 'number', step: 'any' },
  ],
  cameras: [
    { name: 'id', label: 'colId', input: 'text' },
    { name: 'name', label: 'colName', input: 'text' },
    { name: 'area_id', label: 'colArea', input: 'area' },
    { name: 'url', label: 'colUrl', input: 'text' },
    { name: 'fps', label: 'colFps', input: 'number', step: 'any' },
    { name: 'lon', label: 'lon', input: 'number', step: 'any' },
    { name: 'lat', label: 'lat', input: 'number', step: 'any' },
  ],
};

const SEGMENTS: readonly Segment[] = ['areas', 'sensors', 'cameras'];

export function AdminCatalog({ lang, onChanged }: { lang: Lang; onChanged: () => void }) {
  const text = AUTH_TEXT[lang].catalog;
  const [records, setRecords] = useState<{ [S in Segment]: RecordOf[S][] }>({ areas: [], sensors: [], cameras: [] });
  const [retired, setRetired] = useState<Retirement[]>([]);
  const [error, setError] = useState<string | null>(null);

  const reload = useCallback(async () => {
    const [areas, sensors, cameras, retirements] = await Promise.all([
      api<{ areas: Area[] }>('GET', '/api/admin/areas'),
      api<{ sensors: Sensor[] }>('GET', '/api/admin/sensors'),
      api<{ cameras: Camera[] }>('GET', '/api/admin/cameras'),
      api<{ retirements: Retirement[] }>('GET', '/api/admin/retirements'),
    ]);
    setRecords({ areas: areas.areas, sensors: sensors.sensors, cameras: cameras.cameras });
    setRetired(retirements.retirements.filter((r) => r.retired));
  }, []);

  const afterChange = async () => {
    await reload();
    onChanged();
  };

  useEffect(() => {
    reload().catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  }, [reload]);

  const areaName = (id: string) => {
    const a = records.areas.find((x) => x.id === id);
    return a === undefined ? id : localName(a, lang);
  };

  return (
    <>
      {error !== null && (
        <p className="auth-error" role="alert" data-testid="catalog-error">
          {error}
        </p>
      )}
      {SEGMENTS.map((segment) => (
        <CatalogSection
          key={segment}
          segment={segment}
          lang={lang}
          records={records[segment]}
          areas={records.areas}
          areaName={areaName}
          onSaved={afterChange}
        />
      ))}
      <RetiredSection lang={lang} retired={retired} onSaved={afterChange} />
      <p className="admin-note">{text.noRetire}</p>
    </>
  );
}

function CatalogSection({
  segment,
  lang,
  records,
  areas,
  areaName,
  onSaved,
}: {
  segment: Segment;
  lang: Lang;
  records: readonly AnyRecord[];
  areas: readonly Area[];
  areaName: (id: string) => string;
  onSaved: () => Promise<void>;
}) {
  const text = AUTH_TEXT[lang].catalog;
  const [editing, setEditing] = useState<AnyRecord | null>(null);
  const [kind, setKind] = useState<SensorKind>(SENSOR_KINDS[0]);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const fields = FIELDS[segment];

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    const body: Record<string, unknown> = {};
    for (const f of fields) {
      if (editing !== null && f.name === 'id') continue;
      const raw = form.get(f.name);
      if (typeof raw !== 'string' || raw === '') continue; // left out: the server names the missing field
      body[f.name] = f.input === 'number' ? Number(raw) : raw;
    }
    setBusy(true);
    setMessage(null);
    const request =
      editing === null
        ? api<Record<string, unknown>>('POST', `/api/admin/${segment}`, body)
        : api<Record<string, unknown>>('PATCH', `/api/admin/${segment}/${encodeURIComponent(editing.id)}`, body);
    request
      .then(async (answer) => {
        const id = editing?.id ?? String(body.id);
        setMessage({ ok: true, text: answer.stored === true ? text.stored(id) : text.storedLater(id) });
        setEditing(null);
        formElement.reset();
        await onSaved();
      })
      .catch((e: unknown) => setMessage({ ok: false, text: e instanceof Error ? e.message : String(e) }))
      .finally(() => setBusy(false));
  }

  function startEdit(record: AnyRecord) {
    setEditing(record);
    setMessage(null);
    if ('kind' in record) setKind(record.kind);
  }

  const value = (record: AnyRecord | null, name: string): string => {
    if (record === null) return '';
    const v = (record as unknown as Record<string, string | number | undefined>)[name];
    return v === undefined ? '' : String(v);
  };

  return (
    <section className="admin-section" data-testid={`catalog-${segment}`}>
      <h2>
        {text[segment]} <span className="admin-count">{records.length}</span>
      </h2>
      <div className="admin-scroll">
        <table className="admin-table" data-testid={`${segment}-table`}>
          <thead>
            <tr>
              <th>{text.colId}</th>
              <th>{text.colName}</th>
              {segment === 'sensors' && <th>{text.colKind}</th>}
              {segment !== 'areas' && <th>{text.colArea}</th>}
              {segment === 'cameras' && <th>{text.colFps}</th>}
              {segment === 'areas' && <th>{text.population}</th>}
              <th>{text.colPosition}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {records.length === 0 && (
              <tr>
                <td colSpan={6} className="admin-empty">
                  {text.empty}
                </td>
              </tr>
            )}
            {records.map((r) => (
              <tr key={r.id} data-testid={`${segment}-row`}>
                <td>
                  <code>{r.id}</code>
                </td>
                <td>{'name' in r ? r.name : localName(r, lang)}</td>
                {'kind' in r && (
                  <td>
                    {lang === 'zh' ? SENSOR_KIND_INFO[r.kind].zh : SENSOR_KIND_INFO[r.kind].en} ({r.unit})
                  </td>
                )}
                {'area_id' in r && <td>{areaName(r.area_id)}</td>}
                {'fps' in r && <td>{r.fps}</td>}
                {'population' in r && <td>{r.population.toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB')}</td>}
                <td>
                  {r.lon.toFixed(4)}, {r.lat.toFixed(4)}
                </td>
                <td className="admin-actions">
                  <button type="button" onClick={() => startEdit(r)}>
                    {text.edit}
                  </button>
                  <DecisionButton
                    label={text.retire}
                    lang={lang}
                    testId={`retire-${r.id}`}
                    path={`/api/admin/${segment}/${encodeURIComponent(r.id)}/retire`}
                    onDone={async () => {
                      setMessage({ ok: true, text: text.retiredOk(r.id) });
                      await onSaved();
                    }}
                    onError={(m) => setMessage({ ok: false, text: m })}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {/* Keyed by what is edited: React then renders fresh inputs with that record's values. */}
      <form key={editing?.id ?? 'new'} className="admin-form catalog-form" onSubmit={onSubmit} data-testid={`create-${segment}`} noValidate>
        <strong>{editing === null ? `${text.add} · ${text[segment]}` : text.editing(editing.id)}</strong>
        {fields.map((f) => {
          if (editing !== null && f.name === 'id') return null;
          const label = text[f.label] as string;
          const initial = value(editing, f.name);
          switch (f.input) {
            case 'area':
              return (
                <label key={f.name}>
                  {label}
                  <select name={f.name} defaultValue={initial}>
                    <option value="">—</option>
                    {areas.map((a) => (
                      <option key={a.id} value={a.id}>
                        {localName(a, lang)} ({a.id})
                      </option>
                    ))}
                  </select>
                </label>
              );
            case 'sensor-kind':
              return (
                <label key={f.name}>
                  {label}
                  <select name={f.name} value={kind} onChange={(e) => setKind(e.target.value as SensorKind)}>
                    {SENSOR_KINDS.map((k) => (
                      <option key={k} value={k}>
                        {lang === 'zh' ? SENSOR_KIND_INFO[k].zh : SENSOR_KIND_INFO[k].en}
                      </option>
                    ))}
                  </select>
                  <small>
                    {text.unitAuto}: {SENSOR_KIND_INFO[kind].unit}
                  </small>
                </label>
              );
            case 'geometry':
              return (
                <label key={f.name} className="catalog-wide">
                  {label}
                  <textarea
                    name={f.name}
                    defaultValue={initial}
                    rows={3}
                    spellCheck={false}
                    placeholder='{"type":"Polygon","coordinates":[[[lon,lat],…]]}'
                  />
                </label>
              );
            default:
              return (
                <label key={f.name}>
                  {label}
                  <input
                    name={f.name}
                    defaultValue={initial}
                    inputMode={f.input === 'number' ? 'decimal' : undefined}
                    type={f.input === 'number' ? 'number' : 'text'}
                    step={f.step}
                    autoComplete="off"
                  />
                </label>
              );
          }
        })}
        <div className="catalog-buttons">
          <button type="submit" className="primary" disabled={busy}>
            {editing === null ? text.add : text.save}
          </button>
          {editing !== null && (
            <button type="button" onClick={() => setEditing(null)}>
              {text.cancel}
            </button>
          )}
        </div>
        {message !== null && (
          <p className={message.ok ? 'catalog-ok' : 'auth-error'} role={message.ok ? 'status' : 'alert'} data-testid={`${segment}-message`}>
            {message.text}
          </p>
        )}
      </form>
    </section>
  );
}

const SEGMENT_OF: Readonly<Record<Retirement['target'], Segment>> = { Area: 'areas', Sensor: 'sensors', Camera: 'cameras' };

/** What is out of service, each with its reason, and the way back. */
function RetiredSection({ lang, retired, onSaved }: { lang: Lang; retired: readonly Retirement[]; onSaved: () => Promise<void> }) {
  const text = AUTH_TEXT[lang].catalog;
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  return (
    <section className="admin-section" data-testid="catalog-retired">
      <h2>
        {text.retiredTitle} <span className="admin-count">{retired.length}</span>
      </h2>
      {retired.length === 0 ? (
        <p className="admin-note">{text.noneRetired}</p>
      ) : (
        <div className="admin-scroll">
          <table className="admin-table">
            <thead>
              <tr>
                <th>{text.colTarget}</th>
                <th>{text.colId}</th>
                <th>{text.reason}</th>
                <th>{text.colSince}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {retired.map((r) => (
                <tr key={r.id} data-testid="retired-row">
                  <td>{text[SEGMENT_OF[r.target]]}</td>
                  <td>
                    <code>{r.target_id}</code>
                  </td>
                  <td>{r.reason}</td>
                  <td>{new Date(r.ts).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB')}</td>
                  <td className="admin-actions">
                    <DecisionButton
                      label={text.restore}
                      lang={lang}
                      testId={`restore-${r.target_id}`}
                      path={`/api/admin/${SEGMENT_OF[r.target]}/${encodeURIComponent(r.target_id)}/restore`}
                      onDone={async () => {
                        setMessage({ ok: true, text: text.restoredOk(r.target_id) });
                        await onSaved();
                      }}
                      onError={(m) => setMessage({ ok: false, text: m })}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {message !== null && (
        <p className={message.ok ? 'catalog-ok' : 'auth-error'} role="status">
          {message.text}
        </p>
      )}
    </section>
  );
}

/** A retire or restore: asks for the reason in place (it goes into the record and the audit trail), then posts it. */
function DecisionButton({
  label,
  lang,
  testId,
  path,
  onDone,
  onError,
}: {
  label: string;
  lang: Lang;
  testId: string;
  path: string;
  onDone: () => Promise<void>;
  onError: (message: string) => void;
}) {
  const text = AUTH_TEXT[lang].catalog;
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  if (!open) {
    return (
      <button type="button" data-testid={testId} onClick={() => setOpen(true)}>
        {label}
      </button>
    );
  }
  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const reason = new FormData(event.currentTarget).get('reason');
    setBusy(true);
    api('POST', path, { reason: typeof reason === 'string' ? reason : '' })
      .then(async () => {
        setOpen(false);
        await onDone();
      })
      .catch((e: unknown) => onError(e instanceof Error ? e.message : String(e)))
      .finally(() => setBusy(false));
  }
  return (
    <form className="decision-form" onSubmit={onSubmit} data-testid={`${testId}-form`}>
      <input name="reason" placeholder={text.reason} required maxLength={500} autoFocus />
      <button type="submit" className="primary" disabled={busy}>
        {label}
      </button>
      <button type="button" onClick={() => setOpen(false)}>
        {text.cancel}
      </button>
    </form>
  );
}
