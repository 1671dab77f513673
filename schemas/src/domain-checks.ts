import { SENSOR_KIND_INFO, type SensorKind } from './sensor-kinds.js';
import type { FieldError, SensorReading } from './records.js';

/**
 * Checks that need more than the JSON shape: a reading in the wrong unit, or outside what a
 * physical sensor of its kind can report, is rejected with the expected range in the message.
 */
/**
 * Whether a reading of `kind` with `value` in `unit` is physically plausible: readingDomainErrors
 * finds nothing. For a hot path that only needs the answer (no error list per reading).
 */
export function readingInDomain(kind: SensorKind, value: number, unit: string): boolean {
  const info = SENSOR_KIND_INFO[kind];
  return unit === info.unit && value >= info.min && value <= info.max;
}

export function readingDomainErrors(r: SensorReading): FieldError[] {
  const info = SENSOR_KIND_INFO[r.kind];
  const errors: FieldError[] = [];
  if (r.unit !== info.unit) {
    errors.push({ path: '/unit', message: `expected '${info.unit}' for ${r.kind}; got '${r.unit}'` });
  }
  if (r.value < info.min || r.value > info.max) {
    errors.push({ path: '/value', message: `expected ${info.min}…${info.max} ${info.unit} for ${r.kind}; got ${r.value}` });
  }
  return errors;
}
