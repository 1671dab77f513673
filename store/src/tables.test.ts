import { RECORD_SCHEMAS as C } from '@cityops/schemas';
import { describe, expect, it } from 'vitest';
import { TABLES } from './store.js';
import { isJsonTable, JSON_TABLES, TABLE_COLUMNS, type JsonTable } from './tables.js';

/*
 * The sink writes a message's own bytes to a JSON table once its contract accepts them. That is
 * only a complete, exact row if the contract has exactly the table's columns, requires every
 * one and allows nothing else — checked here for every JSON table, so a contract change that
 * breaks it fails here rather than storing defaults for missing fields.
 */
/** What this test reads of a contract (a TypeBox object schema, which is JSON Schema). */
interface ObjectContract {
  readonly properties: Readonly<Record<string, unknown>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: unknown;
}

const CONTRACTS: Record<JsonTable, ObjectContract> = {
  readings: C.SensorReading,
  market_ticks: C.MarketTick,
  detections: C.VisionDetection,
  anomalies: C.Anomaly,
  forecasts: C.Forecast,
  warnings: C.EarlyWarning,
  warnings_cleared: C.WarningCleared,
  incidents: C.Incident,
  incident_events: C.IncidentEvent,
  dispatches: C.DispatchOrder,
  ground_truth: C.GroundTruthEvent,
};

describe('JSON_TABLES', () => {
  it.each(JSON_TABLES.map((t) => [t]))('%s: its contract is exactly its columns, all required, nothing else allowed', (table) => {
    const contract = CONTRACTS[table];
    const columns = TABLE_COLUMNS[table].map((c) => c.name).sort();
    expect(Object.keys(contract.properties).sort()).toEqual(columns);
    expect([...(contract.required ?? [])].sort()).toEqual(columns);
    expect(contract.additionalProperties).toBe(false);
    // Array(Tuple) columns would need JSON objects mapped onto tuples; those tables stay on TSV.
    expect(TABLE_COLUMNS[table].filter((c) => c.kind === 'field_errors')).toEqual([]);
  });

  it('leaves out snapshots (binary beside a header), dead letters and the dimensions, and nothing else', () => {
    expect(TABLES.filter((t) => !isJsonTable(t))).toEqual([
      'snapshots',
      'dead_letters',
      'areas',
      'sensors',
      'cameras',
      'indicators',
      'departments',
      'retirements',
    ]);
  });
});
