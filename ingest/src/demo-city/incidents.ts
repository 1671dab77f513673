import { stableId, type GroundTruthEvent, type WarningLevel } from '@cityops/schemas';
import type { DemoCity } from './city.js';
import { createRng, type Rng } from './prng.js';

/** Incident kinds the simulator can inject (a subset of EVENT_KINDS). */
export const INJECTED_KINDS = ['waterlogging', 'congestion', 'pollution', 'power_overload', 'price_shock'] as const;
export type InjectedKind = (typeof INJECTED_KINDS)[number];

/**
 * How an incident changes one source's value at envelope e (0 … 1):
 * - add:    value + amount·e              (water level cm, PM2.5 µg/m³, indicator units)
 * - scale:  value · (1 + amount·e)         (speed −0.7 = 30% of normal, load +0.45)
 * - toward: value + (amount − value)·e     (occupancy pulled toward amount %)
 */
export interface SourceEffect {
  mode: 'add' | 'scale' | 'toward';
  amount: number;
}

export interface PlannedIncident {
  readonly kind: InjectedKind;
  /** The label published to `simulator.ground_truth`. */
  readonly event: GroundTruthEvent;
  readonly startTs: number;
  /** End of the ramp: the effect is at full strength from here … */
  readonly rampEndTs: number;
  /** … to here, then recedes until endTs. */
  readonly holdEndTs: number;
  readonly endTs: number;
  readonly effects: ReadonlyMap<string, SourceEffect>;
}

const MINUTE_MS = 60_000;

/** 0 before and after, a smoothstep up over the ramp, 1 while held, a smoothstep down while receding. */
export function envelope(inc: PlannedIncident, tsMs: number): number {
  if (tsMs < inc.startTs || tsMs >= inc.endTs) return 0;
  if (tsMs < inc.rampEndTs) return smoothstep((tsMs - inc.startTs) / (inc.rampEndTs - inc.startTs));
  if (tsMs < inc.holdEndTs) return 1;
  return 1 - smoothstep((tsMs - inc.holdEndTs) / (inc.endTs - inc.holdEndTs));
}

function smoothstep(t: number): number {
  const x = Math.max(0, Math.min(1, t));
  return x * x * (3 - 2 * x);
}

/** Picks `n` distinct items (n ≤ items.length), order preserved. */
function sample<T>(rng: Rng, items: readonly T[], n: number): T[] {
  const idx = items.map((_, i) => i);
  for (let i = idx.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx
    .slice(0, Math.min(n, items.length))
    .sort((a, b) => a - b)
    .map((i) => items[i]!);
}

export interface IncidentTarget {
  kind: InjectedKind;
  /** The district (or '' for city-wide market events). */
  areaId: string;
  /** For price_shock: the indicator. */
  indicatorId?: string;
}

/**
 * Plans incident number `k` of kind `kind` at `startTs` in a target chosen by the caller (so it
 * can avoid stacking two of a kind in one place). Magnitudes are chosen to be clearly detectable
 * by a robust rolling z-score (tens of noise standard deviations at full strength) yet to build
 * up over minutes, not appear as a single-sample spike.
 */
export function planIncident(city: DemoCity, seed: number, k: number, startTs: number, target: IncidentTarget): PlannedIncident {
  const rng = createRng(seed, 'incident', k, target.kind);
  const minutes = (min: number, max: number): number => Math.round(rng.range(min, max) * MINUTE_MS);
  const effects = new Map<string, SourceEffect>();
  const area = city.areas.find((a) => a.id === target.areaId);
  const sensorsOf = (kind: string): string[] => city.sensors.filter((s) => s.area_id === target.areaId && s.kind === kind).map((s) => s.id);
  let ramp: number;
  let hold: number;
  let recede: number;
  let level: WarningLevel;
  let description: string;
  const where = area === undefined ? '' : `${area.name_zh}（${area.name_en}）`;

  switch (target.kind) {
    case 'waterlogging': {
      ramp = minutes(2, 5);
      hold = minutes(4, 8);
      recede = minutes(4, 6);
      const peak = Math.round(rng.range(30, 80));
      const ids = sample(rng, sensorsOf('water_level'), rng.int(2, 3));
      for (const id of ids) effects.set(id, { mode: 'add', amount: Math.round(peak * rng.range(0.75, 1)) });
      // Road water depth: ~60 cm floats a car (red); ~45 cm stalls most engines (orange).
      level = peak >= 60 ? 'red' : peak >= 45 ? 'orange' : 'yellow';
      description = `${where}道路积水：${ids.length} 个水位测点上涨约 ${peak} cm / Waterlogging: ${ids.length} water-level sensors rise ~${peak} cm over ${Math.round(ramp / MINUTE_MS)} min`;
      break;
    }
    case 'congestion': {
      ramp = minutes(1.5, 3);
      hold = minutes(5, 10);
      recede = minutes(3, 5);
      const keep = rng.range(0.15, 0.3); // share of normal speed left (jammed: 5–15 km/h)
      const occupancy = Math.round(rng.range(82, 95)); // stop-and-go: loops see a car almost all the time
      const stations = sample(
        rng,
        city.stations.filter((s) => s.area_id === target.areaId),
        rng.int(3, 5),
      );
      for (const s of stations) {
        effects.set(s.speedSensorId, { mode: 'scale', amount: -(1 - keep * rng.range(0.9, 1.1)) });
        effects.set(s.occupancySensorId, { mode: 'toward', amount: occupancy });
      }
      level = keep < 0.2 ? 'orange' : 'yellow';
      description = `${where}交通拥堵：${stations.length} 个检测站车速降至常态 ${Math.round(keep * 100)}%、占有率升至 ${occupancy}% / Congestion: ${stations.length} stations at ${Math.round(keep * 100)}% of normal speed, ${occupancy}% occupancy`;
      break;
    }
    case 'pollution': {
      ramp = minutes(2, 4);
      hold = minutes(5, 10);
      recede = minutes(5, 8);
      const peak = Math.round(rng.range(90, 220));
      const ids = sensorsOf('air_quality_pm25');
      for (const id of ids) effects.set(id, { mode: 'add', amount: Math.round(peak * rng.range(0.6, 1)) });
      // China's AQI bands for PM2.5 (24 h): > 150 µg/m³ is heavy pollution (重度污染).
      level = peak >= 150 ? 'orange' : 'yellow';
      description = `${where}PM2.5 浓度骤升约 ${peak} µg/m³ / PM2.5 spike of ~${peak} µg/m³ at ${ids.length} stations`;
      break;
    }
    case 'power_overload': {
      ramp = minutes(2, 4);
      hold = minutes(4, 8);
      recede = minutes(3, 5);
      const rise = rng.range(0.35, 0.65);
      const ids = sample(rng, sensorsOf('power_load'), rng.int(1, 2));
      for (const id of ids) effects.set(id, { mode: 'scale', amount: rise });
      level = rise >= 0.5 ? 'orange' : 'yellow';
      description = `${where}电网负荷骤增 ${Math.round(rise * 100)}%（${ids.length} 座变电站）/ Power load +${Math.round(rise * 100)}% at ${ids.length} substations`;
      break;
    }
    case 'price_shock': {
      ramp = minutes(1, 3);
      hold = minutes(4, 6);
      recede = minutes(3, 5);
      const indicator = city.indicators.find((i) => i.id === target.indicatorId) ?? city.indicators[0]!;
      const model = city.indicatorModels.get(indicator.id)!;
      const line = model.shockDirection > 0 ? indicator.risk_upper : indicator.risk_lower;
      // Past the risk line by 50–120% of the distance from base to the line (≥ 6 sd from base:
      // risk lines sit ≥ 4 sd out).
      const ratio = rng.range(1.5, 2.2);
      const shift = (line - model.base) * ratio;
      effects.set(indicator.id, { mode: 'add', amount: shift });
      level = ratio >= 1.9 ? 'orange' : 'yellow';
      const dir = model.shockDirection > 0 ? '上冲' : '下探';
      description = `${indicator.name_zh}${dir}并突破风险线 ${line} ${indicator.unit} / ${indicator.name_en} ${model.shockDirection > 0 ? 'jumps above' : 'drops below'} its risk line ${line} ${indicator.unit}`;
      break;
    }
  }

  const rampEndTs = startTs + ramp;
  const holdEndTs = rampEndTs + hold;
  const endTs = holdEndTs + recede;
  const sourceIds = [...effects.keys()];
  let lon = city.center.lon;
  let lat = city.center.lat;
  const located = city.sensors.filter((s) => effects.has(s.id));
  if (located.length > 0) {
    lon = located.reduce((a, s) => a + s.lon, 0) / located.length;
    lat = located.reduce((a, s) => a + s.lat, 0) / located.length;
  }
  const event: GroundTruthEvent = {
    id: stableId('ground-truth', city.id, seed, k, target.kind, startTs),
    schema_version: 1,
    kind: target.kind,
    area_id: target.areaId,
    source_ids: sourceIds,
    start_ts: startTs,
    end_ts: endTs,
    expected_level: level,
    lon: Math.round(lon * 1e6) / 1e6,
    lat: Math.round(lat * 1e6) / 1e6,
    description: description.slice(0, 500),
  };
  return { kind: target.kind, event, startTs, rampEndTs, holdEndTs, endTs, effects };
}
