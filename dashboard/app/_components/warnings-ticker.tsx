import { WARNING_LEVEL_INFO } from '@cityops/schemas';
import { formatTime } from '../_lib/format.js';
import { kindLabel, localName, useLang } from '../_lib/i18n.js';
import type { FeedView } from '../_lib/live-feed.js';
import { countSince } from './kpi-tiles.js';

/** Warnings worth a row on the wall; older ones are in the analyst views. */
const MAX_ROWS = 30;
/** A warning this new is highlighted so a glance at the wall catches it. */
const NEW_FOR_MS = 60_000;

export function WarningsTicker({ view }: { view: FeedView }) {
  const { lang, text } = useLang();
  const { warnings, city, now } = view;
  return (
    <section className="panel warnings" aria-live="polite">
      <header className="panel-header">
        <h2>{text.warningsTitle}</h2>
        <span className="panel-meta">{now === null ? '' : text.warningsCount(countSince(warnings, now - 3_600_000))}</span>
      </header>
      {warnings.length === 0 ? (
        <p className="empty">{text.warningsEmpty}</p>
      ) : (
        <ol className="ticker" data-testid="warnings-ticker">
          {warnings.slice(0, MAX_ROWS).map((w) => {
            const info = WARNING_LEVEL_INFO[w.level];
            const area = city?.areaById.get(w.area_id);
            const fresh = now !== null && now - w.ts < NEW_FOR_MS;
            return (
              <li
                key={w.id}
                className={`ticker-row${fresh ? ' is-new' : ''}`}
                style={{ ['--level' as string]: info.colorHex }}
                data-testid="warning-row"
              >
                <span className="level-chip" title={info[lang]}>
                  {text.levelChip(info.roman)}
                </span>
                <span className="ticker-main">
                  <span className="ticker-kind">{kindLabel(w.kind, lang)}</span>
                  <span className="ticker-area">
                    {area !== undefined ? localName(area, lang) : w.area_id === 'city' ? text.citywide : w.area_id || text.unknownArea}
                  </span>
                  <span className="ticker-title">
                    {w.machine_made && <span className="machine-tag">{text.machineMade}</span>}
                    {w.title}
                  </span>
                </span>
                <time className="ticker-time" dateTime={new Date(w.ts).toISOString()}>
                  {formatTime(w.ts, lang)}
                </time>
              </li>
            );
          })}
        </ol>
      )}
    </section>
  );
}
