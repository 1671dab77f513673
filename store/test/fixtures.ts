import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TableName } from '../src/store.js';
import type { TableRowMap } from '../src/tables.js';

import { DEFAULT_RETENTION_DAYS, type RetentionDays } from '../src/retention.js';

/**
 * The start of the hour before the current one. Sample times are relative to now, not fixed:
 * tables have TTLs, and ClickHouse drops rows that are already expired when they are inserted.
 */
export const T0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;

/** Retention that keeps everything, for tests that write times far in the past. */
export const KEEP_FOREVER: RetentionDays = Object.fromEntries(Object.keys(DEFAULT_RETENTION_DAYS).map((t) => [t, 0]));

/** A fresh data directory per test file (chDB binds one per process), removed by the returned cleanup. */
export function tempDataDir(label: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `cityops-store-${label}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Text that stresses TSV and quoted-literal escaping. */
export const TRICKY = "tab\there nl\nhere cr\rhere back\\slash quote' dq\" \\N 中文 µg/m³ [1,2] ('a','b')";

/** One valid record of every table's contract, with awkward-but-legal values. */
export const SAMPLES: { [T in TableName]: TableRowMap[T] } = {
  readings: { id: 'r-1', schema_version: 1, sensor_id: 's-001', kind: 'water_level', ts: T0 + 123, value: 12.5, unit: 'cm' },
  market_ticks: { id: 'm-1', schema_version: 1, indicator_id: 'cpi.pork', ts: T0 + 5, value: 27.125 },
  detections: {
    id: 'd-1',
    schema_version: 1,
    camera_id: 'cam-1',
    frame_id: 'f-1',
    ts: T0 + 40,
    class_name: 'person',
    score: 0.87,
    x1: 0.1,
    y1: 0.2,
    x2: 0.30000000000000004,
    y2: 0.9,
    track_id: '',
    model_version: 'yolo11n@1',
  },
  anomalies: {
    id: 'a-1',
    schema_version: 1,
    ts: T0 + 1_000,
    source_kind: 'sensor',
    source_id: 's-001',
    metric: 'water_level',
    area_id: 'area-1',
    value: 80,
    expected: 12,
    lower: 0,
    upper: 30,
    score: 7.5,
    probability: 0.97,
    detector: 'mad',
    detector_version: '1.0.0',
    reason: `expected 0…30 cm; got 80 cm — ${TRICKY}`,
  },
  forecasts: {
    id: 'fc-1',
    schema_version: 1,
    indicator_id: 'cpi.pork',
    issued_at: T0,
    target_ts: T0 + 86_400_000,
    horizon_step: 1,
    mean: 27.5,
    lower: 26,
    upper: 29,
    breach_probability: 0.12,
    model: 'ets',
    model_version: '0.1',
  },
  warnings: {
    id: 'w-1',
    schema_version: 1,
    ts: T0 + 2_000,
    level: 'orange',
    kind: 'waterlogging',
    area_id: 'area-1',
    source_kind: 'sensor',
    source_id: 's-001',
    lon: 121.47,
    lat: 31.23,
    title: '道路积水 — Waterlogging',
    reasons: ['water level 80 cm > 30 cm', TRICKY],
    score: 7.5,
    evidence_ids: ['a-1', 'r-1'],
    produced_by: 'rules@1',
    machine_made: true,
  },
  snapshots: {
    id: 'snap-1',
    schema_version: 1,
    camera_id: 'cam-1',
    ts: T0 + 1_500,
    warning_id: 'w-1',
    width: 416,
    height: 416,
    format: 'png',
    masked: true,
    model_version: 'yolox-nano@1',
    png_base64: 'iVBORw0KGgo=',
  },
  warnings_cleared: {
    id: 'wc-1',
    schema_version: 1,
    ts: T0 + 9_000,
    kind: 'waterlogging',
    area_id: 'area-1',
    source_kind: 'sensor',
    source_id: 's-001',
    started_at: T0 + 2_000,
    warning_ids: ['w-1'],
    reason: `back in band: ${TRICKY}`,
    produced_by: 'anomaly-worker/rolling-robust-z@1',
    machine_made: true,
  },
  incidents: {
    id: 'inc-1',
    schema_version: 1,
    opened_at: T0 + 3_000,
    updated_at: T0 + 3_000,
    kind: 'waterlogging',
    area_id: 'area-1',
    level: 'orange',
    status: 'open',
    title: 'Waterlogging at area 1',
    department_id: 'dept-water',
    warning_ids: ['w-1'],
    lon: 121.47,
    lat: 31.23,
    rule_version: 'r@1',
    revision: 1,
  },
  incident_events: {
    id: 'ie-1',
    schema_version: 1,
    incident_id: 'inc-1',
    ts: T0 + 3_000,
    type: 'opened',
    actor: 'machine:incidents@1',
    machine_made: false,
    detail: TRICKY,
    revision: 1,
    department_id: 'dept-water',
    assist_ids: ['dept-traffic'],
    severity: 42.5,
    priority: 'P3',
    stage: 'accept',
    due_at: T0 + 3_000 + 600_000,
    escalation_level: 0,
    ref_ids: ['w-1', 'sensor-1', 'a-1'],
  },
  dispatches: {
    id: 'dp-1',
    schema_version: 1,
    incident_id: 'inc-1',
    ts: T0 + 4_000,
    department_id: 'dept-water',
    kind: 'waterlogging',
    area_id: 'area-1',
    level: 'orange',
    reason: 'waterlogging → water authority (权责清单 §3)',
    rule_version: 'r@1',
    machine_made: true,
    accept_due: T0 + 4_000 + 300_000,
    resolve_due: T0 + 4_000 + 3_600_000,
  },
  dead_letters: {
    id: 'dl-1',
    schema_version: 1,
    ts: T0 + 5_000,
    source: 'sensor.readings',
    reason: 'not a valid SensorReading: /value Expected number; got "high"',
    errors: [
      { path: '/value', message: 'Expected number; got "high"' },
      { path: '/unit', message: TRICKY },
    ],
    payload: '{"id":"x","value":"high"}',
    key: 's-001',
  },
  ground_truth: {
    id: 'gt-1',
    schema_version: 1,
    kind: 'waterlogging',
    area_id: 'area-1',
    source_ids: ['s-001', 'cam-1'],
    start_ts: T0,
    end_ts: T0 + 600_000,
    expected_level: 'orange',
    lon: 121.47,
    lat: 31.23,
    description: 'injected flood',
  },
  areas: {
    id: 'area-1',
    schema_version: 1,
    name_zh: '黄浦区',
    name_en: 'Huangpu',
    population: 662_030,
    geometry: '{"type":"Polygon","coordinates":[[[121.4,31.2],[121.5,31.2],[121.5,31.3],[121.4,31.2]]]}',
    lon: 121.47,
    lat: 31.23,
  },
  sensors: { id: 's-001', schema_version: 1, kind: 'water_level', area_id: 'area-1', name: 'Gauge 1', lon: 121.47, lat: 31.23, unit: 'cm' },
  cameras: {
    id: 'cam-1',
    schema_version: 1,
    area_id: 'area-1',
    name: 'Bund north',
    url: 'rtsp://cam-1.local/stream',
    lon: 121.49,
    lat: 31.24,
    fps: 12.5,
  },
  indicators: {
    id: 'cpi.pork',
    schema_version: 1,
    name_zh: '猪肉价格',
    name_en: 'Pork price',
    unit: 'CNY/kg',
    frequency: 'day',
    risk_upper: 40,
    risk_lower: 15,
  },
  departments: { id: 'dept-water', schema_version: 1, name_zh: '水务局', name_en: 'Water Authority' },
  retirements: {
    id: 'Camera:cam-old',
    schema_version: 1,
    target: 'Camera',
    target_id: 'cam-old',
    retired: true,
    ts: T0,
    reason: 'replaced by cam-7',
  },
};

/** `n` readings of one sensor, one per `stepMs`, values 0, 1, 2… */
export function readingsSeries(sensorId: string, n: number, startMs = T0, stepMs = 1_000): TableRowMap['readings'][] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${sensorId}:${startMs + i * stepMs}`,
    schema_version: 1 as const,
    sensor_id: sensorId,
    kind: 'traffic_speed' as const,
    ts: startMs + i * stepMs,
    value: i,
    unit: 'km/h',
  }));
}
