'use client';

import { lazy, Suspense, useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import { fetchMe, logout, type MeResponse } from '../_lib/auth-client.js';
import { AUTH_TEXT } from '../_lib/auth-text.js';
import { formatDate, formatTime } from '../_lib/format.js';
import { LangContext, UI_TEXT, type LangContextValue } from '../_lib/i18n.js';
import { LiveFeed, type FeedView } from '../_lib/live-feed.js';
import { OPS_TEXT } from '../_lib/ops-text.js';
import { canOpen, PAGES } from '../_lib/page-access.js';
import { IncidentsList } from './incidents-list.js';
import { KpiTiles } from './kpi-tiles.js';
import { MapLegend } from './map-legend.js';
import { ReplayBar } from './replay-bar.js';
import { StaleBanner } from './stale-banner.js';
import { WarningsTicker } from './warnings-ticker.js';
import { useStoredLang } from '../_lib/use-stored-lang.js';
import { useViewCycle, WALL_VIEWS } from '../_lib/view-cycle.js';
import { WallForecasts } from './wall-forecasts.js';

// deck.gl needs WebGL: load it in the browser only, in its own chunk, after the first paint.
const CityMap = lazy(() => import('./city-map.js').then((m) => ({ default: m.CityMap })));

// The query goes along (`?cycle=60`): a kiosk logged out in the night comes back cycling.
const toLogin = () => window.location.replace(`/login?next=${encodeURIComponent(window.location.pathname + window.location.search)}`);

export function WallDisplay() {
  const [feed] = useState(() => new LiveFeed('', toLogin));
  // Nothing is fetched before the session is known: an anonymous browser goes to /login.
  const [me, setMe] = useState<MeResponse | null>(null);
  useEffect(() => {
    void fetchMe().then((r) => {
      if (r.kind === 'anonymous' || (r.kind === 'ok' && r.me.must_change_password)) toLogin();
      else if (r.kind === 'ok') setMe(r.me);
    });
  }, []);
  useEffect(() => {
    if (me === null) return;
    feed.start();
    return () => feed.stop();
  }, [feed, me]);
  const view = useSyncExternalStore(feed.subscribe, feed.getView, feed.getView);
  // The time slider's picture replaces the live one everywhere below the header while it is open.
  const [replayView, setReplayView] = useState<FeedView | null>(null);
  const shown = replayView ?? view;

  // Chinese first; the pre-rendered HTML is Chinese, a saved choice applies after hydration.
  const [lang, setLang] = useStoredLang();
  const langValue = useMemo((): LangContextValue => ({ lang, text: UI_TEXT[lang], setLang }), [lang, setLang]);
  const text = langValue.text;
  const mounted = view.now !== null;
  const cycle = useViewCycle();

  return (
    <LangContext.Provider value={langValue}>
      <div
        className={`wall${shown.stale ? ' is-stale' : ''}${replayView === null ? '' : ' is-replay'}`}
        data-testid="wall"
        data-mode={replayView === null ? 'live' : 'replay'}
      >
        <header className="wall-header">
          <div className="brand">
            <span className="brand-mark" aria-hidden="true" />
            <div>
              <h1>{text.title}</h1>
              <p className="brand-sub">{text.subtitle}</p>
            </div>
          </div>
          <div className="clock" data-testid="clock">
            {view.now !== null && (
              <>
                <span className="clock-time">{formatTime(view.now, lang)}</span>
                <span className="clock-date">{formatDate(view.now, lang)}</span>
              </>
            )}
          </div>
          <div className="header-right">
            <span className={`conn conn-${view.connection}`} data-testid="connection">
              <span className="conn-dot" aria-hidden="true" />
              {text.connection[view.connection]}
            </span>
            {me !== null && me.user.role !== 'wall' && (
              <span className="user-chip" data-testid="user-chip">
                {me.user.login} · {AUTH_TEXT[lang].roles[me.user.role]}
                {PAGES.filter((p) => p.id !== 'wall' && canOpen(me, p.id)).map((p) => (
                  <a key={p.id} href={p.path} className="user-link" data-testid={`nav-${p.id}`}>
                    {OPS_TEXT[lang].pages[p.id]}
                  </a>
                ))}
                <button type="button" className="user-link" data-testid="logout" onClick={() => void logout()}>
                  {AUTH_TEXT[lang].logout}
                </button>
              </span>
            )}
            <button
              type="button"
              className="lang-toggle"
              data-testid="lang-toggle"
              aria-label={text.toggleLabel}
              onClick={() => setLang(lang === 'zh' ? 'en' : 'zh')}
            >
              {text.toggleTo}
            </button>
          </div>
        </header>
        <StaleBanner view={shown} />
        {replayView !== null && (
          <div className="replay-banner" data-testid="replay-banner">
            {text.replay.banner}
          </div>
        )}
        <KpiTiles view={shown} />
        <main className="wall-body">
          <section className="map-panel" aria-label={text.views[cycle.view]} data-testid="main-panel" data-view={cycle.view}>
            <div className="map-title view-switch" data-testid="view-switch">
              {WALL_VIEWS.map((v) => (
                <button
                  key={v}
                  type="button"
                  className={`view-tab${v === cycle.view ? ' is-on' : ''}${v === cycle.view && cycle.pinned ? ' is-pinned' : ''}`}
                  data-testid={`view-tab-${v}`}
                  title={v === cycle.view && cycle.pinned ? text.viewPinned : text.viewPinHint}
                  aria-pressed={v === cycle.view}
                  onClick={() => cycle.choose(v)}
                >
                  {text.views[v]}
                  {v === cycle.view && cycle.pinned && <span className="view-pin"> · {text.viewPinnedShort}</span>}
                </button>
              ))}
              {cycle.secondsLeft !== null && (
                <span className="view-countdown" data-testid="view-countdown">
                  {text.viewNext(cycle.secondsLeft)}
                  <span
                    className="view-countdown-bar"
                    style={{ width: `${Math.round((100 * cycle.secondsLeft) / (cycle.periodS ?? 1))}%` }}
                    aria-hidden="true"
                  />
                </span>
              )}
            </div>
            {mounted && (
              <Suspense fallback={<div className="map-loading">{text.loading}</div>}>
                <CityMap view={shown} lang={lang} />
              </Suspense>
            )}
            {view.city === null && <div className="map-loading">{view.loadError ?? text.loading}</div>}
            <MapLegend />
            {view.city !== null && <ReplayBar live={view} onView={setReplayView} />}
            {/* Over the map rather than instead of it: the map keeps its WebGL context across switches. */}
            {cycle.view === 'forecasts' && <WallForecasts />}
          </section>
          <aside className="side">
            <WarningsTicker view={shown} />
            <IncidentsList view={shown} />
          </aside>
        </main>
        <footer className="wall-footer">
          <span className="machine-tag">{text.machineMade}</span>
          {text.footer}
        </footer>
      </div>
    </LangContext.Provider>
  );
}
