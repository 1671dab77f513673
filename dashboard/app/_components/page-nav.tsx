'use client';

import { logout, type MeResponse } from '../_lib/auth-client.js';
import { AUTH_TEXT } from '../_lib/auth-text.js';
import type { Lang } from '../_lib/i18n.js';
import { OPS_TEXT } from '../_lib/ops-text.js';
import { canOpen, PAGES, requiredPermission, type PageId } from '../_lib/page-access.js';

/** The header of the desk pages: title, links to the pages this role may open, who, language, logout. */
export function PageHeader(props: { me: MeResponse | null; current: PageId; title: string; lang: Lang; setLang: (lang: Lang) => void }) {
  const { me, current, title, lang, setLang } = props;
  const text = OPS_TEXT[lang];
  return (
    <header className="ops-header">
      <h1>{title}</h1>
      <nav className="ops-nav" data-testid="page-nav">
        {me !== null &&
          PAGES.filter((p) => p.id !== current && canOpen(me, p.id)).map((p) => (
            <a key={p.id} href={p.path} data-testid={`nav-${p.id}`}>
              {text.pages[p.id]}
            </a>
          ))}
      </nav>
      {me !== null && (
        <span className="ops-who" data-testid="who">
          {me.user.login} · {AUTH_TEXT[lang].roles[me.user.role]}
        </span>
      )}
      <button type="button" className="ops-button" data-testid="lang-toggle" onClick={() => setLang(lang === 'zh' ? 'en' : 'zh')}>
        {text.toggleTo}
      </button>
      <button type="button" className="ops-button" data-testid="logout" onClick={() => void logout()}>
        {text.logout}
      </button>
    </header>
  );
}

/** What a role that may not open the page sees instead of it. */
export function Forbidden(props: { me: MeResponse; page: PageId; lang: Lang }) {
  const text = OPS_TEXT[props.lang];
  return (
    <div className="ops-forbidden" role="alert" data-testid="forbidden">
      <h2>{text.forbiddenTitle}</h2>
      <p>{text.forbidden(requiredPermission(props.page), AUTH_TEXT[props.lang].roles[props.me.user.role])}</p>
    </div>
  );
}
