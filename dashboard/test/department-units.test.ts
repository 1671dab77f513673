import { describe, expect, it } from 'vitest';
import type { Department, Incident } from '@cityops/schemas';
import { busyUnits, dispatchLines, stations, unitsLabel } from '../app/_lib/department-units.js';
import { incident } from './fixtures/demo-city.js';

/* Departments' stations with busy/total units and their dispatch lines (app/_lib/department-units.ts). */

const NOW = Date.UTC(2026, 10, 21, 12, 0, 0);

const drainage: Department = {
  id: 'dept-drainage',
  schema_version: 1,
  name_zh: '市排水管理处',
  name_en: 'Drainage Authority',
  lon: 121.45,
  lat: 31.21,
  units: 2,
};
const traffic: Department = {
  id: 'dept-traffic',
  schema_version: 1,
  name_zh: '交警支队',
  name_en: 'Traffic Police',
  lon: 121.5,
  lat: 31.25,
};
const unplaced: Department = { id: 'dept-env', schema_version: 1, name_zh: '生态环境局', name_en: 'Environment Bureau', units: 4 };

function at(status: Incident['status'], department_id: string, level: Incident['level'] = 'orange', k = 0): Incident {
  return incident({ opened_at: NOW - k * 60_000, status, department_id, level, lon: 121.47 + k / 1000, lat: 31.23 });
}

describe("a department's busy units", () => {
  it('count its dispatched and accepted incidents, not open (undispatched), resolved or closed ones', () => {
    const incidents = [
      at('dispatched', 'dept-drainage', 'red', 1),
      at('accepted', 'dept-drainage', 'orange', 2),
      at('open', 'dept-drainage', 'yellow', 3), // proposed, not yet sent
      at('resolved', 'dept-drainage', 'yellow', 4),
      at('closed', 'dept-drainage', 'blue', 5),
      at('dispatched', 'dept-traffic', 'blue', 6),
      at('dispatched', '', 'blue', 7),
    ];
    expect(Object.fromEntries(busyUnits(incidents))).toEqual({ 'dept-drainage': 2, 'dept-traffic': 1 });
  });

  it('are shown per placed station as busy/total, flagged when more incidents than units', () => {
    const incidents = [1, 2, 3].map((k) => at('dispatched', 'dept-drainage', 'red', k));
    const list = stations([drainage, traffic, unplaced], incidents);
    expect(list.map((s) => s.department.id)).toEqual(['dept-drainage', 'dept-traffic']);
    const [d, t] = list;
    expect(d).toMatchObject({ lon: 121.45, lat: 31.21, busy: 3, units: 2, overloaded: true });
    expect(unitsLabel(d!)).toBe('3/2');
    expect(t).toMatchObject({ busy: 0, units: null, overloaded: false });
    expect(unitsLabel(t!)).toBe('0');
    expect(unitsLabel({ busy: 1, units: 2 })).toBe('1/2');
  });
});

describe('dispatch lines', () => {
  it('run from the station to each open dispatched incident, in its level, only for placed departments', () => {
    const red = at('dispatched', 'dept-drainage', 'red', 1);
    const yellow = at('accepted', 'dept-traffic', 'yellow', 2);
    const lines = dispatchLines(new Map([drainage, traffic, unplaced].map((d) => [d.id, d])), [
      red,
      yellow,
      at('dispatched', 'dept-env', 'orange', 3),
      at('resolved', 'dept-drainage', 'red', 4),
      at('dispatched', 'dept-gone', 'red', 5),
    ]);
    expect(lines).toEqual([
      { incidentId: red.id, departmentId: 'dept-drainage', from: [121.45, 31.21], to: [red.lon, red.lat], level: 'red' },
      { incidentId: yellow.id, departmentId: 'dept-traffic', from: [121.5, 31.25], to: [yellow.lon, yellow.lat], level: 'yellow' },
    ]);
  });
});
