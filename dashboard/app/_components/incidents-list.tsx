import { WARNING_LEVEL_INFO, type DispatchOrder, type Incident } from '@cityops/schemas';
import { minutesSince } from '../_lib/format.js';
import { kindLabel, localName, useLang, type UiText } from '../_lib/i18n.js';
import { isActive, type FeedView } from '../_lib/live-feed.js';

const MAX_ROWS = 40;

/** What the status cell says, and whether it is overdue against the dispatch's SLA. */
function statusOf(
  incident: Incident,
  dispatch: DispatchOrder | undefined,
  now: number | null,
  text: UiText,
): { label: string; overdue: boolean } {
  const label = text.status[incident.status];
  if (dispatch === undefined || now === null) return { label, overdue: false };
  if (incident.status === 'dispatched' && now > dispatch.accept_due) return { label: text.overdueAccept, overdue: true };
  if (incident.status === 'accepted' && now > dispatch.resolve_due) return { label: text.overdueResolve, overdue: true };
  return { label, overdue: false };
}

export function IncidentsList({ view }: { view: FeedView }) {
  const { lang, text } = useLang();
  const { incidents, city, dispatchByIncident, now } = view;
  const active = incidents.filter(isActive).length;
  return (
    <section className="panel incidents">
      <header className="panel-header">
        <h2>{text.incidentsTitle}</h2>
        <span className="panel-meta">{text.incidentsCount(active)}</span>
      </header>
      {incidents.length === 0 ? (
        <p className="empty">{text.incidentsEmpty}</p>
      ) : (
        <table className="incident-table" data-testid="incidents-table">
          <colgroup>
            <col className="col-level" />
            <col className="col-kind" />
            <col className="col-area" />
            <col className="col-status" />
            <col />
            <col className="col-age" />
          </colgroup>
          <thead>
            <tr>
              <th>{text.colLevel}</th>
              <th>{text.colKind}</th>
              <th>{text.colArea}</th>
              <th>{text.colStatus}</th>
              <th>{text.colDepartment}</th>
              <th className="num">{text.colAge}</th>
            </tr>
          </thead>
          <tbody>
            {incidents.slice(0, MAX_ROWS).map((incident) => {
              const info = WARNING_LEVEL_INFO[incident.level];
              const area = city?.areaById.get(incident.area_id);
              const dispatch = dispatchByIncident.get(incident.id);
              const departmentId = incident.department_id || dispatch?.department_id || '';
              const department = city?.departmentById.get(departmentId);
              const status = statusOf(incident, dispatch, now, text);
              return (
                <tr
                  key={incident.id}
                  className={`incident-row${isActive(incident) ? '' : ' is-done'}`}
                  style={{ ['--level' as string]: info.colorHex }}
                  data-testid="incident-row"
                  data-incident-id={incident.id}
                  title={incident.title}
                >
                  <td>
                    <span className="level-chip" title={info[lang]}>
                      {text.levelChip(info.roman)}
                    </span>
                  </td>
                  <td className="strong">{kindLabel(incident.kind, lang)}</td>
                  <td>
                    {area !== undefined
                      ? localName(area, lang)
                      : incident.area_id === 'city'
                        ? text.citywide
                        : incident.area_id || text.unknownArea}
                  </td>
                  <td>
                    <span className={`status status-${incident.status}${status.overdue ? ' is-overdue' : ''}`}>{status.label}</span>
                  </td>
                  <td>
                    {departmentId === '' ? (
                      <span className="muted">{text.undispatched}</span>
                    ) : department === undefined ? (
                      departmentId
                    ) : (
                      localName(department, lang)
                    )}
                  </td>
                  <td className="num">{now === null ? '' : text.age(minutesSince(incident.opened_at, now))}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
