import type { Department, Incident, IncidentStatus, WarningLevel } from '@cityops/schemas';

/*
 * Departments' stations and how many of their field units are out. Units are counted, not
 * tracked: a unit is busy while an incident dispatched to its department is still being handled
 * (dispatched or accepted); no GPS feed says where it is. Computed from the incidents the wall
 * already holds, which the API has scoped to what the signed-in account may see.
 */

/** Statuses in which a department's unit is out on the incident. 'open' is not yet dispatched. */
const OUT_ON_INCIDENT: readonly IncidentStatus[] = ['dispatched', 'accepted'];

export function isDispatchedOpen(incident: Incident): boolean {
  return incident.department_id !== '' && OUT_ON_INCIDENT.includes(incident.status);
}

export interface Station {
  department: Department;
  lon: number;
  lat: number;
  /** Incidents dispatched to the department and not yet resolved. */
  busy: number;
  /** The department's field units; null when the record does not say. */
  units: number | null;
  /** More incidents than units: some wait for a unit to come free. */
  overloaded: boolean;
}

export interface DispatchLine {
  incidentId: string;
  departmentId: string;
  from: [number, number];
  to: [number, number];
  level: WarningLevel;
}

/** Open dispatched incidents per department id. */
export function busyUnits(incidents: readonly Incident[]): Map<string, number> {
  const busy = new Map<string, number>();
  for (const i of incidents) if (isDispatchedOpen(i)) busy.set(i.department_id, (busy.get(i.department_id) ?? 0) + 1);
  return busy;
}

/** Each department with a station, with its busy and total units; departments without one are not placed. */
export function stations(departments: Iterable<Department>, incidents: readonly Incident[]): Station[] {
  const busy = busyUnits(incidents);
  const out: Station[] = [];
  for (const department of departments) {
    if (department.lon === undefined || department.lat === undefined) continue;
    const n = busy.get(department.id) ?? 0;
    const units = department.units ?? null;
    out.push({ department, lon: department.lon, lat: department.lat, busy: n, units, overloaded: units !== null && n > units });
  }
  return out;
}

/** One line from the department's station to each open incident dispatched to it. */
export function dispatchLines(departmentById: ReadonlyMap<string, Department>, incidents: readonly Incident[]): DispatchLine[] {
  const out: DispatchLine[] = [];
  for (const i of incidents) {
    if (!isDispatchedOpen(i)) continue;
    const d = departmentById.get(i.department_id);
    if (d?.lon === undefined || d.lat === undefined) continue;
    out.push({ incidentId: i.id, departmentId: d.id, from: [d.lon, d.lat], to: [i.lon, i.lat], level: i.level });
  }
  return out;
}

/** "busy/total", or the busy count alone when the department's unit count is unknown. */
export function unitsLabel(station: Pick<Station, 'busy' | 'units'>): string {
  return station.units === null ? String(station.busy) : `${station.busy}/${station.units}`;
}
