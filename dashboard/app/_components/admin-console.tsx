'use client';

import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { CityResponse } from '../../src/api-types.js';
import type { PublicApiKey } from '../../src/auth/api-keys.js';
import type { AuditRecord } from '../../src/auth/audit.js';
import { ROLES, type Role } from '../../src/auth/authorize.js';
import type { PublicUser } from '../../src/auth/user-store.js';
import { api, fetchMe, logout, type MeResponse } from '../_lib/auth-client.js';
import { AdminCatalog } from './admin-catalog.js';
import { AdminRules } from './admin-rules.js';
import { CameraHealthTable } from './camera-health-table.js';
import { AUTH_TEXT } from '../_lib/auth-text.js';
import { localName } from '../_lib/i18n.js';
import { OPS_TEXT } from '../_lib/ops-text.js';
import { useStoredLang } from '../_lib/use-stored-lang.js';

/**
 * Users, ingest keys, the city's catalog (cameras, sensors, areas), the responsibility rules and
 * the audit trail. Passwords and keys appear once, in the answer to the
 * action that made them, and are gone on the next reload: the server keeps hashes only.
 */
export function AdminConsole() {
  const [lang, setLang] = useStoredLang();
  const text = AUTH_TEXT[lang];
  const [me, setMe] = useState<MeResponse | null>(null);
  const [users, setUsers] = useState<PublicUser[]>([]);
  const [keys, setKeys] = useState<PublicApiKey[]>([]);
  const [audit, setAudit] = useState<AuditRecord[]>([]);
  const [departments, setDepartments] = useState<CityResponse['departments']>([]);
  const [secret, setSecret] = useState<{ label: string; value: string } | null>(null);
  const [error, setError] = useState<string | null>(null);

  const reload = useCallback(async () => {
    // All three settle before anything is shown: the error named is the first in this order
    // (users, keys, audit), not whichever refusal happened to arrive first.
    const [u, k, a] = await Promise.allSettled([
      api<{ users: PublicUser[] }>('GET', '/api/admin/users'),
      api<{ api_keys: PublicApiKey[] }>('GET', '/api/admin/api-keys'),
      api<{ records: AuditRecord[] }>('GET', '/api/admin/audit?limit=100'),
    ]);
    if (u.status === 'fulfilled' && k.status === 'fulfilled' && a.status === 'fulfilled') {
      setUsers(u.value.users);
      setKeys(k.value.api_keys);
      setAudit(a.value.records);
      return;
    }
    const failed = [u, k, a].find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
    const e: unknown = failed.reason;
    setError(e instanceof Error ? e.message : String(e));
  }, []);

  useEffect(() => {
    void fetchMe().then(async (r) => {
      if (r.kind === 'anonymous' || (r.kind === 'ok' && r.me.must_change_password)) {
        window.location.replace('/login?next=/admin');
        return;
      }
      if (r.kind === 'error') {
        setError(r.message);
        return;
      }
      setMe(r.me);
      await reload();
      const city = await api<CityResponse>('GET', '/api/city').catch(() => null);
      if (city !== null) setDepartments(city.departments);
    });
  }, [reload]);

  async function act(action: () => Promise<void>) {
    setError(null);
    try {
      await action();
      await reload();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }

  function onCreateUser(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const formElement = event.currentTarget;
    const department = formText(form, 'department_id', '');
    void act(async () => {
      const r = await api<{ user: PublicUser; one_time_password: string }>('POST', '/api/admin/users', {
        login: formText(form, 'login', ''),
        role: formText(form, 'role', 'wall'),
        ...(department === '' ? {} : { department_id: department }),
      });
      setSecret({ label: text.oneTimeFor(r.user.login), value: r.one_time_password });
      formElement.reset();
    });
  }

  function onCreateKey(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const formElement = event.currentTarget;
    void act(async () => {
      const r = await api<{ key: string }>('POST', '/api/admin/api-keys', { label: formText(form, 'label', '') });
      setSecret({ label: text.keyShownOnce, value: r.key });
      formElement.reset();
    });
  }

  const deptName = (id: string | undefined) => {
    if (id === undefined) return text.none;
    const d = departments.find((x) => x.id === id);
    return d === undefined ? id : localName(d, lang);
  };
  const time = (ms: number) => (ms === 0 ? text.never : new Date(ms).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB'));

  return (
    <div className="admin-page" data-testid="admin-page">
      <header className="admin-header">
        <h1>{text.adminTitle}</h1>
        <span className="admin-who" data-testid="who">
          {me?.user.login}
        </span>
        <a href="/" className="admin-link">
          {text.toWall}
        </a>
        <a href="/console" className="admin-link" data-testid="nav-console">
          {OPS_TEXT[lang].pages.console}
        </a>
        <a href="/analyst" className="admin-link" data-testid="nav-analyst">
          {OPS_TEXT[lang].pages.analyst}
        </a>
        <button type="button" className="lang-toggle" data-testid="lang-toggle" onClick={() => setLang(lang === 'zh' ? 'en' : 'zh')}>
          {text.toggleTo}
        </button>
        <button type="button" className="lang-toggle" data-testid="logout" onClick={() => void logout()}>
          {text.logout}
        </button>
      </header>
      {error !== null && (
        <p className="auth-error" role="alert" data-testid="admin-error">
          {error}
        </p>
      )}
      {secret !== null && (
        <div className="secret-box" data-testid="secret">
          <span>{secret.label}</span>
          <code data-testid="secret-value">{secret.value}</code>
          <button type="button" onClick={() => setSecret(null)}>
            ×
          </button>
        </div>
      )}

      <section className="admin-section">
        <h2>{text.users}</h2>
        <table className="admin-table" data-testid="users-table">
          <thead>
            <tr>
              <th>{text.colLogin}</th>
              <th>{text.colRole}</th>
              <th>{text.colDepartment}</th>
              <th>{text.colState}</th>
              <th>{text.colCreated}</th>
              <th>{text.colActions}</th>
            </tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <tr key={u.login} data-testid="user-row">
                <td>{u.login}</td>
                <td>
                  <select
                    value={u.role}
                    aria-label={text.colRole}
                    disabled={u.login === me?.user.login}
                    onChange={(e) =>
                      void act(() => api('PATCH', `/api/admin/users/${encodeURIComponent(u.login)}`, { role: e.target.value }))
                    }
                  >
                    {ROLES.map((r) => (
                      <option key={r} value={r}>
                        {text.roles[r]}
                      </option>
                    ))}
                  </select>
                </td>
                <td>{deptName(u.department_id)}</td>
                <td>
                  {u.disabled ? text.disabled : text.enabled}
                  {u.must_change_password ? ` · ${text.mustChange}` : ''}
                </td>
                <td>{time(u.created_at)}</td>
                <td className="admin-actions">
                  {u.login !== me?.user.login && (
                    <button
                      type="button"
                      onClick={() =>
                        void act(() => api('PATCH', `/api/admin/users/${encodeURIComponent(u.login)}`, { disabled: !u.disabled }))
                      }
                    >
                      {u.disabled ? text.enable : text.disable}
                    </button>
                  )}
                  <button
                    type="button"
                    onClick={() =>
                      void act(async () => {
                        const r = await api<{ one_time_password: string }>('PATCH', `/api/admin/users/${encodeURIComponent(u.login)}`, {
                          reset_password: true,
                        });
                        setSecret({ label: text.oneTimeFor(u.login), value: r.one_time_password });
                      })
                    }
                  >
                    {text.resetPassword}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <form className="admin-form" onSubmit={onCreateUser} data-testid="create-user">
          <strong>{text.createUser}</strong>
          <input name="login" placeholder={text.colLogin} required pattern="[a-z0-9][a-z0-9._\-]{1,63}" />
          <select name="role" defaultValue={'commander' satisfies Role} aria-label={text.colRole}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {text.roles[r]}
              </option>
            ))}
          </select>
          <select name="department_id" defaultValue="" aria-label={text.colDepartment}>
            <option value="">{text.none}</option>
            {departments.map((d) => (
              <option key={d.id} value={d.id}>
                {localName(d, lang)}
              </option>
            ))}
          </select>
          <button type="submit" className="primary">
            {text.create}
          </button>
        </form>
      </section>

      <section className="admin-section">
        <h2>{text.apiKeys}</h2>
        <table className="admin-table" data-testid="keys-table">
          <thead>
            <tr>
              <th>{text.colPrefix}</th>
              <th>{text.colLabel}</th>
              <th>{text.colCreated}</th>
              <th>{text.colLastUsed}</th>
              <th>{text.colActions}</th>
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => (
              <tr key={k.id} data-testid="key-row">
                <td>
                  <code>{k.prefix}…</code>
                </td>
                <td>{k.label}</td>
                <td>
                  {time(k.created_at)} · {k.created_by}
                </td>
                <td>{time(k.last_used_at)}</td>
                <td className="admin-actions">
                  {k.revoked_at === undefined ? (
                    <button type="button" onClick={() => void act(() => api('DELETE', `/api/admin/api-keys/${encodeURIComponent(k.id)}`))}>
                      {text.revoke}
                    </button>
                  ) : (
                    text.revoked
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <form className="admin-form" onSubmit={onCreateKey} data-testid="create-key">
          <strong>{text.createKey}</strong>
          <input name="label" placeholder={text.keyLabel} required maxLength={100} />
          <button type="submit" className="primary">
            {text.create}
          </button>
        </form>
      </section>

      {me?.permissions.includes('catalog:manage') === true && (
        <>
          <AdminCatalog lang={lang} onChanged={() => void reload()} />
          <CameraHealthTable lang={lang} />
          <AdminRules lang={lang} csrfToken={me.csrf_token} onChanged={() => void reload()} />
        </>
      )}

      <section className="admin-section">
        <h2>{text.audit}</h2>
        <table className="admin-table admin-audit" data-testid="audit-table">
          <thead>
            <tr>
              <th>{text.colTime}</th>
              <th>{text.colActor}</th>
              <th>{text.colAction}</th>
              <th>{text.colTarget}</th>
              <th>{text.colOutcome}</th>
              <th>{text.colIp}</th>
              <th>{text.colDetail}</th>
            </tr>
          </thead>
          <tbody>
            {audit.map((r) => (
              <tr key={r.id} className={`outcome-${r.outcome}`}>
                <td>{time(r.ts)}</td>
                <td>{r.actor === '' ? '—' : `${r.actor} (${r.role})`}</td>
                <td>{r.action}</td>
                <td>{r.target}</td>
                <td>{r.outcome}</td>
                <td>{r.ip}</td>
                <td>{r.detail}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </div>
  );
}

/** A text field of a submitted form ('' or `fallback` when absent; a file input would be a bug). */
function formText(form: FormData, name: string, fallback = ''): string {
  const value = form.get(name);
  return typeof value === 'string' ? value : fallback;
}
