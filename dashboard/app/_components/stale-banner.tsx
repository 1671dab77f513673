import { useLang } from '../_lib/i18n.js';
import type { FeedView } from '../_lib/live-feed.js';

/** Shown over everything when the picture on the wall may be old: nobody should act on a frozen screen. */
export function StaleBanner({ view }: { view: FeedView }) {
  const { text } = useLang();
  if (!view.stale) return null;
  return (
    <div className="stale-banner" role="alert" data-testid="stale-banner">
      <span className="stale-icon" aria-hidden="true">
        ⚠
      </span>
      <strong>{text.staleTitle}</strong>
      <span>{text.staleSince(view.staleForS)}</span>
      <span className="stale-action">{view.connection === 'live' ? text.staleWaiting : text.staleReconnecting}</span>
    </div>
  );
}
