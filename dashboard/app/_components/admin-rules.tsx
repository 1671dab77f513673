'use client';

import { useCallback, useEffect, useRef, useState } from 'react';
import type { ApiErrorBody } from '../../src/api-types.js';
import type { RulesResponse, RulesSaved } from '../../src/admin/rules-routes.js';
import { api, ApiError } from '../_lib/auth-client.js';
import { AUTH_TEXT } from '../_lib/auth-text.js';
import type { Lang } from '../_lib/i18n.js';

/*
 * The responsibility table (权责清单) editor: the YAML in force in a textarea, saved as a new
 * version with PUT /api/admin/rules. The server checks it with the incidents role's own loader;
 * its refusal lists each problem as "line N…", shown as buttons that put the cursor on that line.
 * The save carries the version it was edited from, so a concurrent save by another administrator
 * is refused (409) instead of silently undone.
 */

const LINE_OF_PROBLEM = /^line (\d+)/;

export function AdminRules({ lang, csrfToken, onChanged }: { lang: Lang; csrfToken: string; onChanged: () => void }) {
  const text = AUTH_TEXT[lang].rules;
  const [rules, setRules] = useState<RulesResponse | null>(null);
  const [draft, setDraft] = useState('');
  const [unavailable, setUnavailable] = useState(false);
  const [problems, setProblems] = useState<{ summary: string; lines: string[] } | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const editor = useRef<HTMLTextAreaElement>(null);

  const load = useCallback(async () => {
    try {
      const r = await api<RulesResponse>('GET', '/api/admin/rules');
      setRules(r);
      setDraft(r.yaml);
      setProblems(null);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) setUnavailable(true);
      else setProblems({ summary: e instanceof Error ? e.message : String(e), lines: [] });
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  async function save() {
    if (rules === null) return;
    setBusy(true);
    setSaved(null);
    setProblems(null);
    try {
      // api() speaks GET/POST/PATCH/DELETE; the table is replaced whole, which is a PUT.
      const res = await fetch('/api/admin/rules', {
        method: 'PUT',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrfToken },
        credentials: 'same-origin',
        cache: 'no-store',
        body: JSON.stringify({ yaml: draft, base_version: rules.version }),
      });
      const body = (await res.json()) as RulesSaved | ApiErrorBody;
      if (!res.ok || 'error' in body) {
        const message = 'error' in body ? body.error.message : `HTTP ${res.status}`;
        const [summary = message, ...lines] = message.split('\n');
        setProblems({ summary, lines });
        return;
      }
      setSaved(text.saved(body.previous_version, body.version));
      await load();
      onChanged();
    } catch (e) {
      setProblems({ summary: e instanceof Error ? e.message : String(e), lines: [] });
    } finally {
      setBusy(false);
    }
  }

  /** Selects line `n` (1-based) of the textarea and scrolls it into view. */
  function goToLine(n: number) {
    const area = editor.current;
    if (area === null) return;
    const lines = draft.split('\n');
    const start = lines.slice(0, n - 1).reduce((sum, l) => sum + l.length + 1, 0);
    area.focus();
    area.setSelectionRange(start, start + (lines[n - 1]?.length ?? 0));
    const lineHeight = area.scrollHeight / Math.max(1, lines.length);
    area.scrollTop = Math.max(0, (n - 3) * lineHeight);
  }

  return (
    <section className="admin-section" data-testid="rules-section">
      <h2>{text.title}</h2>
      {unavailable ? (
        <p className="admin-note">{text.unavailable}</p>
      ) : (
        <>
          <p className="admin-note">
            {text.version}: <strong data-testid="rules-version">{rules?.version ?? '…'}</strong>
            {rules !== null && ` · ${text.rulesCount(rules.summary.rules.length, rules.summary.departments.length)}`}
          </p>
          <p className="admin-note">{text.hint}</p>
          <textarea
            ref={editor}
            className="rules-editor"
            data-testid="rules-editor"
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            spellCheck={false}
            autoCapitalize="off"
            autoCorrect="off"
            rows={24}
          />
          <div className="catalog-buttons">
            <button
              type="button"
              className="primary"
              data-testid="rules-save"
              disabled={busy || rules === null}
              onClick={() => void save()}
            >
              {busy ? text.saving : text.save}
            </button>
            <button type="button" onClick={() => void load()}>
              {text.reload}
            </button>
          </div>
          {saved !== null && (
            <p className="catalog-ok" role="status" data-testid="rules-saved">
              {saved}
            </p>
          )}
          {problems !== null && (
            <div className="auth-error rules-problems" role="alert" data-testid="rules-problems">
              <p>{problems.lines.length > 0 ? text.problems : problems.summary}</p>
              <ul>
                {problems.lines.map((l) => {
                  const n = Number(LINE_OF_PROBLEM.exec(l)?.[1] ?? 0);
                  return (
                    <li key={l}>
                      {n > 0 ? (
                        <button type="button" onClick={() => goToLine(n)}>
                          {text.line(n)}
                        </button>
                      ) : null}{' '}
                      {l}
                    </li>
                  );
                })}
              </ul>
            </div>
          )}
          {rules !== null && rules.versions.length > 0 && (
            <details className="rules-versions">
              <summary>{text.versions}</summary>
              <ul>
                {rules.versions.map((v) => (
                  <li key={v.version}>
                    <code>{v.version}</code> · {new Date(v.saved_at).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB')}
                  </li>
                ))}
              </ul>
            </details>
          )}
        </>
      )}
    </section>
  );
}
