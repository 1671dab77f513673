import { describe, expect, it } from 'vitest';
import { GroundTruthEvent, readingDomainErrors, SensorReading, stableId, validator } from '@cityops/schemas';
import { createDemoCity } from './city.js';
import { INJECTED_KINDS, type PlannedIncident } from './incidents.js';
import { createSimulation, type Simulation } from './simulation.js';

const city = createDemoCity();
/** Monday 2026-01-05 00:00 CST. */
const MONDAY = Date.UTC(2026, 0, 4, 16, 0);
const HOUR = 3_600_000;

describe('createSimulation', () => {
  it('is deterministic for a seed and differs for another', () => {
    const run = (seed: number): number[] => {
      const sim = createSimulation({ city, seed, startTs: MONDAY });
      const out: number[] = [];
      for (let t = MONDAY; t < MONDAY + 600_000; t += 1000) out.push(...sim.readings(t).map((r) => r.value));
      for (let t = MONDAY; t < MONDAY + 600_000; t += 5000) out.push(...sim.ticks(t).map((r) => r.value));
      return out;
    };
    expect(run(1)).toEqual(run(1));
    expect(run(2)).not.toEqual(run(1));
    const plan = (seed: number) =>
      createSimulation({ city, seed, startTs: MONDAY })
        .incidentsUntil(MONDAY + 2 * HOUR)
        .map((p) => p.event);
    expect(plan(3)).toEqual(plan(3));
  });

  it('emits valid readings for every sensor with daily seasonality', () => {
    const sim = createSimulation({ city, startTs: MONDAY, incidentEveryMs: 0 });
    const mean = (hour: number, kind: string): number => {
      const rs = sim.readings(MONDAY + hour * HOUR).filter((r) => r.kind === kind);
      return rs.reduce((a, r) => a + r.value, 0) / rs.length;
    };
    const rs = sim.readings(MONDAY);
    expect(rs).toHaveLength(city.sensors.length);
    for (const r of rs) {
      const full = { ...r, id: stableId(r.sensor_id, r.ts), schema_version: 1 as const };
      expect(validator(SensorReading).check(full)).toBe(true);
      expect(readingDomainErrors(full)).toEqual([]);
    }
    expect(mean(8, 'traffic_speed')).toBeLessThan(0.75 * mean(3, 'traffic_speed')); // morning rush
    expect(mean(18, 'traffic_occupancy')).toBeGreaterThan(2 * mean(3, 'traffic_occupancy')); // evening rush
    expect(mean(20, 'power_load')).toBeGreaterThan(1.3 * mean(4, 'power_load')); // evening peak
    expect(mean(8, 'air_quality_pm25')).toBeGreaterThan(mean(15, 'air_quality_pm25')); // morning inversion
  });

  it('stays inside the normal band when nothing is injected', () => {
    const sim = createSimulation({ city, startTs: MONDAY, incidentEveryMs: 0 });
    let outside = 0;
    let total = 0;
    for (let t = MONDAY; t < MONDAY + 24 * HOUR; t += 60_000) {
      for (const r of sim.readings(t)) {
        total++;
        if (Math.abs(r.value - sim.expected(r.sensor_id, t)) > 5 * sim.noiseSd(r.sensor_id, t)) outside++;
      }
    }
    expect(outside / total).toBeLessThan(1e-4);
  });

  it('starts the first incident within a minute and labels each one with a valid GroundTruthEvent', () => {
    const sim = createSimulation({ city, startTs: MONDAY });
    const plan = sim.incidentsUntil(MONDAY + 2 * HOUR);
    expect(plan[0]!.startTs - MONDAY).toBeLessThanOrEqual(60_000);
    expect(new Set(plan.map((p) => p.kind))).toEqual(new Set(INJECTED_KINDS));
    const known = new Set([...city.sensors.map((s) => s.id), ...city.indicators.map((i) => i.id)]);
    for (const p of plan) {
      expect(validator(GroundTruthEvent).errors(p.event)).toEqual([]);
      expect(p.event.source_ids.length).toBeGreaterThan(0);
      for (const id of p.event.source_ids) expect(known.has(id)).toBe(true);
      expect(p.event.start_ts).toBe(p.startTs);
      expect(p.event.end_ts).toBe(p.endTs);
    }
    expect(sim.takeStartedIncidents(MONDAY + 30_000)).toEqual([]);
    expect(sim.takeStartedIncidents(MONDAY + 60_000)).toEqual([plan[0]]);
    expect(sim.takeStartedIncidents(MONDAY + 60_000)).toEqual([]);
  });

  /** Steps the simulation through an incident and reports the z-scores of its sources. */
  function zScores(
    sim: Simulation,
    inc: PlannedIncident,
    stepMs: number,
    from: number,
    heldAboveZ: number,
  ): { before: number; peak: number; heldMinutes: number } {
    let before = 0;
    let peak = 0;
    let held = 0;
    for (let t = from; t < inc.endTs; t += stepMs) {
      const values = new Map<string, number>();
      if (inc.kind === 'price_shock') for (const tick of sim.ticks(t)) values.set(tick.indicator_id, tick.value);
      else for (const r of sim.readings(t)) values.set(r.sensor_id, r.value);
      let worst = Infinity;
      for (const id of inc.event.source_ids) {
        const z = Math.abs(values.get(id)! - sim.expected(id, t)) / sim.noiseSd(id, t);
        if (t < inc.startTs) before = Math.max(before, z);
        else peak = Math.max(peak, z);
        worst = Math.min(worst, z);
      }
      if (t >= inc.startTs && worst > heldAboveZ) held += stepMs;
    }
    return { before, peak, heldMinutes: held / 60_000 };
  }

  for (const kind of INJECTED_KINDS) {
    it(`makes an injected ${kind} stand far outside the normal band for minutes during its window`, () => {
      const sim = createSimulation({ city, startTs: MONDAY + 10 * HOUR, incidentKinds: [kind], incidentEveryMs: 3_600_000 });
      const inc = sim.incidentsUntil(MONDAY + 10 * HOUR + 60_000)[0]!;
      expect(inc.kind).toBe(kind);
      // Indicators wander more than sensors (a random walk, not noise around a profile), so a
      // shock is fewer standard deviations out, but still well past anything normal.
      const market = kind === 'price_shock';
      const z = zScores(sim, inc, market ? 5000 : 1000, inc.startTs - 10 * 60_000, 6);
      expect(z.before).toBeLessThan(market ? 4.5 : 6);
      expect(z.peak).toBeGreaterThan(market ? 8 : 15);
      // Built up and held over minutes: not a single spike a median filter would remove.
      expect(z.heldMinutes).toBeGreaterThanOrEqual(3);
      if (kind === 'price_shock') {
        const id = inc.event.source_ids[0]!;
        const indicator = city.indicators.find((i) => i.id === id)!;
        const during = sim.ticks(inc.rampEndTs + 1000).find((t) => t.indicator_id === id)!.value;
        expect(during > indicator.risk_upper || during < indicator.risk_lower).toBe(true);
      }
    });
  }

  it('ramps a waterlogging up over minutes (2–5) rather than jumping', () => {
    const sim = createSimulation({ city, startTs: MONDAY, incidentKinds: ['waterlogging'] });
    const inc = sim.incidentsUntil(MONDAY + HOUR)[0]!;
    expect(inc.rampEndTs - inc.startTs).toBeGreaterThanOrEqual(2 * 60_000);
    expect(inc.rampEndTs - inc.startTs).toBeLessThanOrEqual(5 * 60_000);
    const rise = [...inc.effects.values()].map((e) => e.amount);
    for (const cm of rise) {
      expect(cm).toBeGreaterThanOrEqual(20);
      expect(cm).toBeLessThanOrEqual(80);
    }
  });
});
