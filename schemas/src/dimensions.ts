import type { TSchema } from '@sinclair/typebox';
import { Area, Camera, Department, Indicator, Retirement, Sensor } from './records.js';
import type { DecodeResult } from './codec.js';
import { decodeRecord, encodeRecord, SCHEMA_HEADER } from './codec.js';
import type { Static } from '@sinclair/typebox';

/**
 * Dimension records share one topic (city.dimensions); the schema header says which one a
 * message is. Keyed `<name>:<id>`, so Kafka compaction keeps the latest of each.
 */
export const DIMENSION_SCHEMAS = { Area, Sensor, Camera, Indicator, Department, Retirement } as const;
export type DimensionName = keyof typeof DIMENSION_SCHEMAS;
export type DimensionRecord = { [N in DimensionName]: { name: N; record: Static<(typeof DIMENSION_SCHEMAS)[N]> } }[DimensionName];

export function encodeDimension(d: DimensionRecord): { key: string; value: Uint8Array; headers: Record<string, string> } {
  return { key: `${d.name}:${d.record.id}`, value: encodeRecord(d.record), headers: { [SCHEMA_HEADER]: `${d.name}@1` } };
}

export function decodeDimension(headers: Readonly<Record<string, string>>, value: Uint8Array): DecodeResult<DimensionRecord> {
  const tag = headers[SCHEMA_HEADER] ?? '';
  const name = tag.split('@')[0] as DimensionName;
  const schema: TSchema | undefined = DIMENSION_SCHEMAS[name];
  if (schema === undefined) {
    return {
      ok: false,
      reason: `expected a '${SCHEMA_HEADER}' header naming one of ${Object.keys(DIMENSION_SCHEMAS).join(', ')}; got '${tag}'`,
      errors: [],
      payload: '',
    };
  }
  const r = decodeRecord(schema, value);
  return r.ok ? { ok: true, value: { name, record: r.value } as DimensionRecord } : r;
}
