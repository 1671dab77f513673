import type { EarlyWarning, Incident, IncidentEventType } from '@cityops/schemas';
import { StoreError } from './errors.js';
import { decodeRows } from './row-decoder.js';
import type { Store, TimeRange } from './store.js';
import { columnList } from './tables.js';

/*
 * Reads for the wall's time slider (issue 7): the city as it was over a past window, from the
 * same tables the live wall's snapshot reads. Sensor values come from the per-minute rollup
 * (readings_1m), so a window costs one aggregation over at most (sensors × minutes) rollup rows
 * however many raw readings it held. A separate interface from StoreQueries, over Store.query,
 * so a store without it (a test's in-memory queries) simply has no replay.
 */

type Raw = Readonly<Record<string, unknown>>;

const MS = (param: string): string => `fromUnixTimestamp64Milli({${param}:Int64}, 'UTC')`;

export interface ReplayWindow extends TimeRange {
  /** Width of one replay frame in ms; a whole number of minutes (the rollup's resolution). */
  stepMs: number;
}

/**
 * Per sensor and frame (frame k covers [fromMs + k·stepMs, fromMs + (k+1)·stepMs), with the
 * minute that contains fromMs counted in frame 0): the mean reading and how many readings there
 * were. Parallel arrays, ordered by frame then sensor; `sensor` indexes `sensorIds`.
 */
export interface ReplaySensorFrames {
  sensorIds: string[];
  frame: number[];
  sensor: number[];
  avg: number[];
  count: number[];
  /** True when there were more cells than `maxCells` (the last frames are then missing). */
  truncated: boolean;
}

/** A sensor anomaly as the replay needs it: when and which sensor. */
export interface ReplayAnomaly {
  ts: number;
  sensor_id: string;
}

/** One lifecycle step of an incident: when, and what happened. */
export interface ReplayIncidentStep {
  incident_id: string;
  ts: number;
  type: IncidentEventType;
}

export interface ReplayQueries {
  sensorFrames(window: ReplayWindow, options: { maxCells: number }): Promise<ReplaySensorFrames>;
  /** Sensor anomalies in [fromMs, toMs), oldest first. */
  anomalies(range: TimeRange, options: { limit: number }): Promise<ReplayAnomaly[]>;
  /** Warnings raised in [fromMs, toMs), oldest first. */
  warnings(range: TimeRange, options: { limit: number }): Promise<EarlyWarning[]>;
  /**
   * Incidents that were open at some point of [fromMs, toMs) — opened before toMs and not closed
   * before fromMs — as their latest revision (the store keeps no older one), newest first, with
   * their lifecycle steps before toMs, oldest first: the steps say what status each had when.
   */
  incidents(range: TimeRange, options: { limit: number }): Promise<{ incidents: Incident[]; steps: ReplayIncidentStep[] }>;
}

function checkWindow(window: ReplayWindow): ReplayWindow {
  const { fromMs, toMs, stepMs } = window;
  if (!Number.isSafeInteger(fromMs) || !Number.isSafeInteger(toMs) || fromMs >= toMs) {
    throw new StoreError('invalid_config', `replay window: expected whole epoch ms with fromMs < toMs; got ${fromMs} … ${toMs}`);
  }
  if (!Number.isSafeInteger(stepMs) || stepMs < 60_000 || stepMs % 60_000 !== 0) {
    throw new StoreError('invalid_config', `replay stepMs: expected a whole number of minutes (≥ 60000); got ${stepMs}`);
  }
  return window;
}

function checkCount(name: string, n: number): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new StoreError('invalid_config', `${name}: expected a whole number ≥ 1; got ${n}`);
  return n;
}

/** Incidents open at some point of [fromMs, toMs); FINAL first so the status tested is the latest revision's. */
const INCIDENTS_IN_WINDOW = `FROM incidents FINAL
  WHERE opened_at < ${MS('toMs')} AND NOT (status = 'closed' AND updated_at < ${MS('fromMs')})`;

export function createReplayQueries(store: Pick<Store, 'query'>): ReplayQueries {
  return {
    async sensorFrames(window, { maxCells }) {
      const { fromMs, toMs, stepMs } = checkWindow(window);
      const rows = await store.query<{ sensor_id: string; frame: number | string; avg: number; n: number | string }>(
        `SELECT sensor_id,
                toUInt32(greatest(0, intDiv(toInt64(toUnixTimestamp(minute)) * 1000 - {fromMs:Int64}, {stepMs:Int64}))) AS frame,
                avgMerge(value_avg) AS avg, sum(value_count) AS n
         FROM readings_1m
         WHERE minute >= toStartOfMinute(${MS('fromMs')}) AND minute < ${MS('toMs')}
         GROUP BY sensor_id, frame
         ORDER BY frame, sensor_id
         LIMIT {limit:UInt32}`,
        { fromMs, toMs, stepMs, limit: checkCount('maxCells', maxCells) + 1 },
      );
      const truncated = rows.length > maxCells;
      const kept = truncated ? rows.slice(0, maxCells) : rows;
      const index = new Map<string, number>();
      const out: ReplaySensorFrames = { sensorIds: [], frame: [], sensor: [], avg: [], count: [], truncated };
      for (const r of kept) {
        let i = index.get(r.sensor_id);
        if (i === undefined) {
          i = out.sensorIds.length;
          index.set(r.sensor_id, i);
          out.sensorIds.push(r.sensor_id);
        }
        out.frame.push(Number(r.frame));
        out.sensor.push(i);
        out.avg.push(r.avg);
        out.count.push(Number(r.n));
      }
      return out;
    },

    async anomalies({ fromMs, toMs }, { limit }) {
      const rows = await store.query<{ ts_ms: number | string; source_id: string }>(
        `SELECT toUnixTimestamp64Milli(ts) AS ts_ms, source_id FROM anomalies FINAL
         WHERE source_kind = 'sensor' AND ts >= ${MS('fromMs')} AND ts < ${MS('toMs')}
         ORDER BY ts, id LIMIT {limit:UInt32}`,
        { fromMs, toMs, limit: checkCount('limit', limit) },
      );
      return rows.map((r) => ({ ts: Number(r.ts_ms), sensor_id: r.source_id }));
    },

    async warnings({ fromMs, toMs }, { limit }) {
      const rows = await store.query<Raw>(
        `SELECT ${columnList('warnings')} FROM warnings FINAL
         WHERE ts >= ${MS('fromMs')} AND ts < ${MS('toMs')}
         ORDER BY ts, id LIMIT {limit:UInt32}`,
        { fromMs, toMs, limit: checkCount('limit', limit) },
      );
      return decodeRows('warnings', rows);
    },

    async incidents({ fromMs, toMs }, { limit }) {
      const params = { fromMs, toMs, limit: checkCount('limit', limit) };
      const incidents = decodeRows(
        'incidents',
        await store.query<Raw>(
          `SELECT ${columnList('incidents')} ${INCIDENTS_IN_WINDOW} ORDER BY opened_at DESC, id LIMIT {limit:UInt32}`,
          params,
        ),
      );
      const steps = await store.query<{ incident_id: string; ts_ms: number | string; type: IncidentEventType }>(
        `SELECT incident_id, toUnixTimestamp64Milli(ts) AS ts_ms, type FROM incident_events FINAL
         WHERE incident_id IN (SELECT id ${INCIDENTS_IN_WINDOW} ORDER BY opened_at DESC, id LIMIT {limit:UInt32})
           AND ts < ${MS('toMs')}
         ORDER BY ts, id`,
        params,
      );
      return { incidents, steps: steps.map((s) => ({ incident_id: s.incident_id, ts: Number(s.ts_ms), type: s.type })) };
    },
  };
}
