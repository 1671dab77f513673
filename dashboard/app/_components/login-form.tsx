'use client';

import { useEffect, useState, type FormEvent } from 'react';
import { afterLoginPath, ApiError, changePassword, fetchMe, login, type MeResponse } from '../_lib/auth-client.js';
import { AUTH_TEXT } from '../_lib/auth-text.js';
import { useStoredLang } from '../_lib/use-stored-lang.js';

/** Login, then — for a one-time password — the forced password change, then on to the wall or the admin page. */
export function LoginForm() {
  const [lang, setLang] = useStoredLang();
  const text = AUTH_TEXT[lang];
  const [me, setMe] = useState<MeResponse | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  // Already logged in (e.g. sent here to change the password): pick up where the session is.
  useEffect(() => {
    void fetchMe().then((r) => {
      if (r.kind !== 'ok') return;
      if (r.me.must_change_password) setMe(r.me);
      else window.location.replace(afterLoginPath(r.me));
    });
  }, []);

  function describe(e: unknown): string {
    if (e instanceof ApiError && e.status === 401) return text.loginFailed;
    if (e instanceof ApiError && e.status === 429) return text.rateLimited(Number(/(\d+) s/.exec(e.message)?.[1] ?? 60));
    return e instanceof Error ? e.message : String(e);
  }

  async function onLogin(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      const answer = await login(formText(form, 'login', ''), formText(form, 'password', ''));
      if (answer.must_change_password) setMe(answer);
      else window.location.replace(afterLoginPath(answer));
    } catch (e) {
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  }

  async function onChange(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const next = formText(form, 'new_password', '');
    if (next !== formText(form, 'confirm_password', '')) {
      setError(text.mismatch);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const answer = await changePassword(formText(form, 'current_password', ''), next);
      window.location.replace(afterLoginPath(answer));
    } catch (e) {
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="auth-page">
      <button
        type="button"
        className="lang-toggle auth-lang"
        data-testid="lang-toggle"
        onClick={() => setLang(lang === 'zh' ? 'en' : 'zh')}
      >
        {text.toggleTo}
      </button>
      <main className="auth-card">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true" />
          <h1>{text.appTitle}</h1>
        </div>
        {me === null ? (
          <form key="login" onSubmit={(e) => void onLogin(e)} data-testid="login-form">
            <h2>{text.loginTitle}</h2>
            <label>
              {text.login}
              <input name="login" autoComplete="username" required autoFocus data-testid="login-name" />
            </label>
            <label>
              {text.password}
              <input name="password" type="password" autoComplete="current-password" required data-testid="login-password" />
            </label>
            <button type="submit" className="primary" disabled={busy} data-testid="login-submit">
              {busy ? text.submitting : text.submit}
            </button>
          </form>
        ) : (
          <form key="password" onSubmit={(e) => void onChange(e)} data-testid="password-form">
            <h2>{text.changeTitle}</h2>
            <p className="hint">{text.changeHint}</p>
            <label>
              {text.currentPassword}
              <input name="current_password" type="password" autoComplete="current-password" required data-testid="current-password" />
            </label>
            <label>
              {text.newPassword}
              <input name="new_password" type="password" autoComplete="new-password" minLength={12} required data-testid="new-password" />
            </label>
            <label>
              {text.confirmPassword}
              <input
                name="confirm_password"
                type="password"
                autoComplete="new-password"
                minLength={12}
                required
                data-testid="confirm-password"
              />
            </label>
            <button type="submit" className="primary" disabled={busy} data-testid="password-submit">
              {text.save}
            </button>
          </form>
        )}
        {error !== null && (
          <p className="auth-error" role="alert" data-testid="auth-error">
            {error}
          </p>
        )}
      </main>
    </div>
  );
}

/** A text field of a submitted form ('' or `fallback` when absent; a file input would be a bug). */
function formText(form: FormData, name: string, fallback = ''): string {
  const value = form.get(name);
  return typeof value === 'string' ? value : fallback;
}
