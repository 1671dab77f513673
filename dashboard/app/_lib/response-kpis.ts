import type { DispatchOrder, Incident } from '@cityops/schemas';

/*
 * How fast the city responds, over the incidents the wall holds (not closed, newest 200): the
 * share of dispatched incidents within their SLA deadlines, the mean time from opening to the
 * dispatch order, and the mean time from opening to resolution. Closed incidents have left the
 * wall, so these describe the current workload, not a day's report (that is /reports).
 */

export interface ResponseKpis {
  /** 0…1, or null when no incident has a dispatch order. */
  slaCompliance: number | null;
  meanDispatchMin: number | null;
  meanResolveMin: number | null;
}

const mean = (xs: readonly number[]): number | null => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length);

/** An incident past a deadline of its dispatch order: not accepted in time, or not resolved in time. */
export function isOverdue(incident: Incident, dispatch: DispatchOrder, now: number): boolean {
  if (incident.status === 'dispatched') return now > dispatch.accept_due;
  if (incident.status === 'accepted') return now > dispatch.resolve_due;
  if (incident.status === 'resolved' || incident.status === 'closed') return incident.updated_at > dispatch.resolve_due;
  return false;
}

export function responseKpis(
  incidents: readonly Incident[],
  dispatchByIncident: ReadonlyMap<string, DispatchOrder>,
  now: number,
): ResponseKpis {
  const toDispatch: number[] = [];
  const toResolve: number[] = [];
  let dispatched = 0;
  let onTime = 0;
  for (const incident of incidents) {
    const dispatch = dispatchByIncident.get(incident.id);
    if (dispatch !== undefined) {
      dispatched++;
      if (!isOverdue(incident, dispatch, now)) onTime++;
      toDispatch.push(Math.max(0, dispatch.ts - incident.opened_at) / 60_000);
    }
    if (incident.status === 'resolved') toResolve.push(Math.max(0, incident.updated_at - incident.opened_at) / 60_000);
  }
  return {
    slaCompliance: dispatched === 0 ? null : onTime / dispatched,
    meanDispatchMin: mean(toDispatch),
    meanResolveMin: mean(toResolve),
  };
}
