import type { SensorKind } from '@cityops/schemas';
import type { DemoCity } from './city.js';
import { createRng } from './prng.js';

/*
 * What a sensor reads when nothing is wrong: a daily (and weekly) shape per kind, a per-sensor
 * scale, and autocorrelated noise. The shapes follow what city operations centres see:
 * - traffic: morning (~08:00) and evening (~18:00) rush hours, far weaker at weekends;
 * - power: a midday shoulder and an evening peak (~20:00), a trough before dawn;
 * - PM2.5: higher at night and in the morning (boundary-layer inversion), lowest mid-afternoon,
 *   with a multi-day weather swing;
 * - water level: a dry-weather baseline, with a tide near the river and the sea.
 * Times are China Standard Time (UTC+8, no daylight saving), whatever the host's time zone.
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const CST_OFFSET_MS = 8 * HOUR_MS;
/** Semi-diurnal lunar tide (M2). */
const TIDE_PERIOD_MS = 12.42 * HOUR_MS;

/** Hour of day in CST, 0 ≤ h < 24. */
export function localHour(tsMs: number): number {
  const h = ((tsMs + CST_OFFSET_MS) % DAY_MS) / HOUR_MS;
  return h < 0 ? h + 24 : h;
}

/** Saturday or Sunday in CST. */
export function isWeekend(tsMs: number): boolean {
  // 1970-01-01 was a Thursday (day 4, Sunday = 0).
  const day = (Math.floor((tsMs + CST_OFFSET_MS) / DAY_MS) + 4) % 7;
  return day === 0 || day === 6;
}

/** A smooth bump centred on `center` hours, `width` hours wide, wrapping around midnight. */
function bump(h: number, center: number, width: number): number {
  let d = Math.abs(h - center);
  if (d > 12) d = 24 - d;
  return Math.exp(-0.5 * (d / width) ** 2);
}

/** 0 around 04:00, 1 around 16:00. */
function daylightActivity(h: number): number {
  return 0.5 - 0.5 * Math.cos((2 * Math.PI * (h - 4)) / 24);
}

export interface SensorProfile {
  readonly sensorId: string;
  readonly kind: SensorKind;
  readonly areaId: string;
  /** Per-sensor level: free-flow speed, base occupancy, dry-weather water level, base PM2.5, base load. */
  readonly level: number;
  /** Tide amplitude (water level only), cm. */
  readonly tideCm: number;
  readonly tidePhase: number;
  /** Standard deviation of the noise, in the kind's unit (at the base level for multiplicative kinds). */
  readonly noiseSd: number;
  /** Whether the noise scales with the value (PM2.5, power) or is additive. */
  readonly relativeNoise: boolean;
}

/**
 * Profiles for every sensor, drawn from their own seeded stream per sensor, so adding a sensor
 * does not change the others.
 */
export function sensorProfiles(city: DemoCity, seed: number): Map<string, SensorProfile> {
  const out = new Map<string, SensorProfile>();
  // PM2.5 is regional: sensors of a district share most of their level.
  const districtPm = new Map<string, number>();
  for (const area of city.areas) districtPm.set(area.id, createRng(seed, 'pm-district', area.id).range(22, 42));
  for (const s of city.sensors) {
    const rng = createRng(seed, 'profile', s.id);
    let p: SensorProfile;
    switch (s.kind) {
      case 'traffic_speed':
        // Speed scatters more in free flow than in a queue: noise proportional to the speed.
        p = {
          sensorId: s.id,
          kind: s.kind,
          areaId: s.area_id,
          level: rng.range(45, 72),
          tideCm: 0,
          tidePhase: 0,
          noiseSd: 0.05,
          relativeNoise: true,
        };
        break;
      case 'traffic_occupancy':
        p = {
          sensorId: s.id,
          kind: s.kind,
          areaId: s.area_id,
          level: rng.range(0.75, 1.25),
          tideCm: 0,
          tidePhase: 0,
          noiseSd: 1.8,
          relativeNoise: false,
        };
        break;
      case 'water_level': {
        const dist = city.waterDistanceKm.get(s.id) ?? 10;
        // Drains near the river and the sea back up with the tide; inland ones barely move.
        const tideCm = dist < 1.5 ? rng.range(2, 5) : rng.range(0, 0.6);
        p = {
          sensorId: s.id,
          kind: s.kind,
          areaId: s.area_id,
          level: rng.range(3, 15),
          tideCm,
          tidePhase: rng.range(0, 0.4),
          noiseSd: 0.8,
          relativeNoise: false,
        };
        break;
      }
      case 'air_quality_pm25':
        p = {
          sensorId: s.id,
          kind: s.kind,
          areaId: s.area_id,
          level: (districtPm.get(s.area_id) ?? 30) * rng.range(0.9, 1.1),
          tideCm: 0,
          tidePhase: 0,
          noiseSd: 0.05,
          relativeNoise: true,
        };
        break;
      case 'power_load':
        p = {
          sensorId: s.id,
          kind: s.kind,
          areaId: s.area_id,
          level: rng.range(40, 150),
          tideCm: 0,
          tidePhase: 0,
          noiseSd: 0.015,
          relativeNoise: true,
        };
        break;
    }
    out.set(s.id, p);
  }
  return out;
}

/** The expected value of a sensor at `tsMs`, without noise or incidents. */
export function normalValue(p: SensorProfile, tsMs: number): number {
  const h = localHour(tsMs);
  const weekend = isWeekend(tsMs);
  const rushScale = weekend ? 0.35 : 1;
  const rush = rushScale * (bump(h, 8.0, 0.8) + bump(h, 18.0, 1.0)) + (weekend ? 0.3 * bump(h, 15, 2.5) : 0);
  switch (p.kind) {
    case 'traffic_speed':
      return p.level * (1 - 0.12 * daylightActivity(h) - 0.45 * Math.min(1, rush));
    case 'traffic_occupancy':
      return p.level * (5 + 14 * daylightActivity(h) + 32 * Math.min(1, rush));
    case 'water_level':
      return p.level + p.tideCm * Math.sin((2 * Math.PI * tsMs) / TIDE_PERIOD_MS + p.tidePhase * 2 * Math.PI);
    case 'air_quality_pm25': {
      // A slow weather swing (±25% over ~3.7 days) on top of the daily shape.
      const weather = 1 + 0.25 * Math.sin((2 * Math.PI * tsMs) / (3.7 * DAY_MS));
      return p.level * weather * (1 + 0.35 * bump(h, 8, 2) + 0.45 * bump(h, 22, 2.5) - 0.25 * bump(h, 15, 2.5));
    }
    case 'power_load':
      return p.level * (weekend ? 0.9 : 1) * (0.62 + 0.18 * bump(h, 11.5, 2) + 0.38 * bump(h, 20, 2.2) + 0.25 * daylightActivity(h));
  }
}

/** Noise standard deviation at a given expected value, in the kind's unit. */
export function noiseSd(p: SensorProfile, expected: number): number {
  return p.relativeNoise ? p.noiseSd * expected + 0.5 : p.noiseSd;
}
