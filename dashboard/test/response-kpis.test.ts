import { describe, expect, it } from 'vitest';
import { stableId, type DispatchOrder, type Incident } from '@cityops/schemas';
import { responseKpis } from '../app/_lib/response-kpis.js';
import { incident } from './fixtures/demo-city.js';

/* The wall's response KPIs from incidents' lifecycle times and their dispatch orders' deadlines. */

const MIN = 60_000;
const NOW = Date.UTC(2026, 10, 21, 12, 0, 0);

function dispatchOf(i: Incident, ts: number, acceptDue: number, resolveDue: number): DispatchOrder {
  return {
    id: stableId('dispatch', i.id),
    schema_version: 1,
    incident_id: i.id,
    ts,
    department_id: 'dept-traffic',
    kind: i.kind,
    area_id: i.area_id,
    level: i.level,
    reason: 'responsibility list',
    rule_version: 'responsibility-list@1',
    machine_made: true,
    accept_due: acceptDue,
    resolve_due: resolveDue,
  };
}

describe('response KPIs', () => {
  it('count SLA compliance over dispatched incidents and average the times to dispatch and to resolve', () => {
    const late = incident({ opened_at: NOW - 30 * MIN, status: 'dispatched', kind: 'congestion' });
    const onTime = incident({ opened_at: NOW - 20 * MIN, status: 'accepted', kind: 'waterlogging' });
    const resolved = incident({ opened_at: NOW - 90 * MIN, updated_at: NOW - 30 * MIN, status: 'resolved', kind: 'pollution' });
    const waiting = incident({ opened_at: NOW - 5 * MIN, status: 'open', kind: 'power_overload' });
    const dispatches = new Map([
      // Not accepted by its deadline ten minutes ago.
      [late.id, dispatchOf(late, NOW - 28 * MIN, NOW - 10 * MIN, NOW + 60 * MIN)],
      [onTime.id, dispatchOf(onTime, NOW - 16 * MIN, NOW - 6 * MIN, NOW + 40 * MIN)],
      // Resolved 30 minutes ago, ten minutes after its resolve deadline.
      [resolved.id, dispatchOf(resolved, NOW - 84 * MIN, NOW - 70 * MIN, NOW - 40 * MIN)],
    ]);
    const kpis = responseKpis([late, onTime, resolved, waiting], dispatches, NOW);
    expect(kpis.slaCompliance).toBeCloseTo(1 / 3);
    expect(kpis.meanDispatchMin).toBeCloseTo((2 + 4 + 6) / 3);
    expect(kpis.meanResolveMin).toBeCloseTo(60);
  });

  it('say nothing rather than 100 % when nothing was dispatched', () => {
    expect(responseKpis([incident({ opened_at: NOW - MIN, status: 'open' })], new Map(), NOW)).toEqual({
      slaCompliance: null,
      meanDispatchMin: null,
      meanResolveMin: null,
    });
  });
});
