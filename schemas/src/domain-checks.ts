import { SENSOR_KIND_INFO } from './sensor-kinds.js';
import type { FieldError, SensorReading } from './records.js';

/**
 * Checks that need more than the JSON shape: a reading in the wrong unit, or outside what a
 * physical sensor of its kind can report, is rejected with the expected range in the message.
 */
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
