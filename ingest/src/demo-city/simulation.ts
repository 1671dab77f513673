import { SENSOR_KIND_INFO, type SensorKind } from '@cityops/schemas';
import type { DemoCity } from './city.js';
import { envelope, INJECTED_KINDS, planIncident, type IncidentTarget, type InjectedKind, type PlannedIncident } from './incidents.js';
import { normalValue, noiseSd, sensorProfiles, type SensorProfile } from './profiles.js';
import { createRng, type Rng } from './prng.js';

/** A reading as the simulator emits it: id and schema_version are filled in by ingest. */
export interface SimulatedReading {
  sensor_id: string;
  kind: SensorKind;
  ts: number;
  value: number;
  unit: string;
}

export interface SimulatedTick {
  indicator_id: string;
  ts: number;
  value: number;
}

export interface SimulationOptions {
  city: DemoCity;
  /** Seed of noise and incidents. Default: the city's seed. */
  seed?: number;
  /** Simulated time at which the simulation starts, epoch ms. */
  startTs: number;
  /** Simulated time from start to the first incident. Default 45_000 (the demo shows one within a minute). */
  firstIncidentAfterMs?: number;
  /** Simulated time between incident starts (±15% jitter). Default 180_000; 0 injects none. */
  incidentEveryMs?: number;
  /** Kinds to inject, cycled in a seeded order. Default all of INJECTED_KINDS. */
  incidentKinds?: readonly InjectedKind[];
}

/**
 * The simulated city as a pure, stepped model: ask for the readings or ticks at a time and get
 * them; no timers, no bus. `runSimulator` drives it in (scaled) real time; tests and benchmarks
 * drive it directly. Given the same seed and the same sequence of calls it returns the same
 * values (noise is autocorrelated, so the sequence matters).
 */
export interface Simulation {
  readonly city: DemoCity;
  readonly profiles: ReadonlyMap<string, SensorProfile>;
  /** One reading per sensor at `tsMs` (call with increasing times). */
  readings(tsMs: number): SimulatedReading[];
  /** One tick per indicator at `tsMs` (call with increasing times). */
  ticks(tsMs: number): SimulatedTick[];
  /** Incidents that have started by `tsMs` and were not returned before, in start order. */
  takeStartedIncidents(tsMs: number): PlannedIncident[];
  /** Every incident planned to start by `tsMs` (plans them if needed). */
  incidentsUntil(tsMs: number): readonly PlannedIncident[];
  /** A sensor's expected value at `tsMs` without noise or incidents: the centre of its normal band. */
  expected(sensorId: string, tsMs: number): number;
  /** The standard deviation of a sensor's noise around `expected`. */
  noiseSd(sensorId: string, tsMs: number): number;
}

/** AR(1) noise: consecutive readings are correlated like real sensors, not white static. */
const NOISE_AR = 0.6;
const NOISE_INNOVATION = Math.sqrt(1 - NOISE_AR * NOISE_AR);
/** Mean reversion of indicators per tick: half-life ≈ 14 ticks. */
const OU_KEEP = Math.exp(-0.05);
const OU_INNOVATION = Math.sqrt(1 - OU_KEEP * OU_KEEP);

export function createSimulation(options: SimulationOptions): Simulation {
  const { city } = options;
  const seed = options.seed ?? city.seed;
  const firstAfter = options.firstIncidentAfterMs ?? 45_000;
  const every = options.incidentEveryMs ?? 180_000;
  const profiles = sensorProfiles(city, seed);
  const sensors = city.sensors;
  const profileList: SensorProfile[] = sensors.map((s) => profiles.get(s.id)!);
  const sensorIndex = new Map(sensors.map((s, i) => [s.id, i] as const));
  const noiseState = new Float64Array(sensors.length);
  const noiseRng = createRng(seed, 'noise');
  const values = new Float64Array(sensors.length);

  const indicators = city.indicators;
  const tickRng = createRng(seed, 'ticks');
  const ou = new Float64Array(indicators.length); // deviation from base, in sd units

  // Incident plan: the kinds cycle in a seeded order; each gets its own stream, so the plan does
  // not depend on how often readings were asked for.
  const kinds = [...(options.incidentKinds ?? INJECTED_KINDS)];
  const orderRng = createRng(seed, 'incident-order');
  shuffle(orderRng, kinds);
  const planned: PlannedIncident[] = [];
  let taken = 0;
  let nextStart = every > 0 && kinds.length > 0 ? options.startTs + firstAfter : Infinity;

  const planUntil = (tsMs: number): void => {
    while (nextStart <= tsMs) {
      const k = planned.length;
      const kind = kinds[k % kinds.length]!;
      const rng = createRng(seed, 'incident-target', k);
      const active = planned.filter((p) => p.kind === kind && p.startTs <= nextStart && nextStart < p.endTs);
      planned.push(planIncident(city, seed, k, nextStart, chooseTarget(rng, city, kind, active)));
      nextStart += Math.round(every * rng.range(0.85, 1.15));
    }
  };

  const activeAt = (tsMs: number): PlannedIncident[] => {
    planUntil(tsMs);
    const out: PlannedIncident[] = [];
    for (const p of planned) if (p.startTs <= tsMs && tsMs < p.endTs) out.push(p);
    return out;
  };

  return {
    city,
    profiles,
    readings(tsMs) {
      for (let i = 0; i < profileList.length; i++) {
        const p = profileList[i]!;
        const expected = normalValue(p, tsMs);
        noiseState[i] = NOISE_AR * noiseState[i]! + NOISE_INNOVATION * noiseRng.gauss();
        values[i] = expected + noiseState[i]! * noiseSd(p, expected);
      }
      for (const inc of activeAt(tsMs)) {
        const e = envelope(inc, tsMs);
        for (const [id, effect] of inc.effects) {
          const i = sensorIndex.get(id);
          if (i === undefined) continue;
          values[i] = applyEffect(values[i]!, effect.mode, effect.amount, e);
        }
      }
      const out = new Array<SimulatedReading>(sensors.length);
      for (let i = 0; i < sensors.length; i++) {
        const s = sensors[i]!;
        const info = SENSOR_KIND_INFO[s.kind];
        const v = Math.min(info.max, Math.max(info.min, values[i]!));
        out[i] = { sensor_id: s.id, kind: s.kind, ts: tsMs, value: Math.round(v * 100) / 100, unit: info.unit };
      }
      return out;
    },
    ticks(tsMs) {
      const active = activeAt(tsMs);
      const out = new Array<SimulatedTick>(indicators.length);
      for (let i = 0; i < indicators.length; i++) {
        const ind = indicators[i]!;
        const model = city.indicatorModels.get(ind.id)!;
        ou[i] = OU_KEEP * ou[i]! + OU_INNOVATION * tickRng.gauss();
        let v = model.base + ou[i]! * model.sd;
        for (const inc of active) {
          const effect = inc.effects.get(ind.id);
          if (effect !== undefined) v = applyEffect(v, effect.mode, effect.amount, envelope(inc, tsMs));
        }
        const f = 10 ** model.decimals;
        out[i] = { indicator_id: ind.id, ts: tsMs, value: Math.round(v * f) / f };
      }
      return out;
    },
    takeStartedIncidents(tsMs) {
      planUntil(tsMs);
      const out: PlannedIncident[] = [];
      while (taken < planned.length && planned[taken]!.startTs <= tsMs) out.push(planned[taken++]!);
      return out;
    },
    incidentsUntil(tsMs) {
      planUntil(tsMs);
      return planned;
    },
    expected(sensorId, tsMs) {
      const p = profiles.get(sensorId);
      if (p !== undefined) return normalValue(p, tsMs);
      const model = city.indicatorModels.get(sensorId);
      if (model !== undefined) return model.base;
      throw new RangeError(`expected a sensor or indicator id of ${city.name_en}; got '${sensorId}'`);
    },
    noiseSd(sensorId, tsMs) {
      const p = profiles.get(sensorId);
      if (p !== undefined) return noiseSd(p, normalValue(p, tsMs));
      const model = city.indicatorModels.get(sensorId);
      if (model !== undefined) return model.sd;
      throw new RangeError(`expected a sensor or indicator id of ${city.name_en}; got '${sensorId}'`);
    },
  };
}

function applyEffect(value: number, mode: 'add' | 'scale' | 'toward', amount: number, e: number): number {
  if (e === 0) return value;
  if (mode === 'add') return value + amount * e;
  if (mode === 'scale') return value * (1 + amount * e);
  return value + (amount - value) * e;
}

function shuffle<T>(rng: Rng, items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}

/** A district (or indicator) without an ongoing incident of the same kind, if there is one. */
function chooseTarget(rng: Rng, city: DemoCity, kind: InjectedKind, active: readonly PlannedIncident[]): IncidentTarget {
  if (kind === 'price_shock') {
    const busy = new Set(active.flatMap((p) => [...p.effects.keys()]));
    const free = city.indicators.filter((i) => !busy.has(i.id));
    const indicator = rng.pick(free.length > 0 ? free : city.indicators);
    return { kind, areaId: '', indicatorId: indicator.id };
  }
  const busy = new Set(active.map((p) => p.event.area_id));
  const free = city.areas.filter((a) => !busy.has(a.id));
  return { kind, areaId: rng.pick(free.length > 0 ? free : city.areas).id };
}
