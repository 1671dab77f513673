import { partitionForKey } from '@cityops/bus';

/**
 * What the readings hot path needs of a sensor for every reading it sends: the partition its id
 * hashes to, and the JSON around the reading's numbers, with the sensor id and kind already in
 * it. All depend only on the sensor (and its kind, which stays the same from one reading to the
 * next), and a city's sensors report again every few seconds, so they are worked out once per
 * sensor instead of once per reading: murmur2 over the id, and ten pieces of JSON written one by
 * one, the id twice.
 */
export interface SensorPieces {
  readonly sensorId: string;
  readonly kind: string;
  readonly unit: string;
  /**
   * This entry's number, never given to another (see ReadingColumns.slots): a sensor whose entry
   * is made again (another kind, or after the cache was emptied) gets a new one.
   */
  readonly slot: number;
  /** The partition count `partition` was computed for. */
  readonly partitions: number;
  readonly partition: number;
  /** `,"unit":"<unit>"}` */
  readonly tail: Uint8Array;
  /**
   * `{"id":"<sensor>@`, room for 13 digits, `","schema_version":1,"sensor_id":"<sensor>","kind":"<kind>","ts":`,
   * room for 13 digits, `,"value":`. A reading whose ts has 13 digits (from 2001-09-09 on) is this
   * with its digits written at `idDigitsAt` and `tsDigitsAt`, then its value and `tail`.
   */
  readonly line: Uint8Array;
  readonly idDigitsAt: number;
  readonly tsDigitsAt: number;
}

/** Far above any city's sensor count; a producer cycling through random ids cannot grow it without bound. */
const MAX_ENTRIES = 1 << 17;
const cache = new Map<string, SensorPieces>();
let nextSlot = 0;

/**
 * The pieces of a reading of `sensorId`, `kind` and `unit`. The sensor id must have passed the
 * contract's id pattern and the kind its list, so neither needs escaping in JSON.
 */
export function sensorPieces(sensorId: string, kind: string, unit: string, partitions: number): SensorPieces {
  let entry = cache.get(sensorId);
  if (entry === undefined || entry.kind !== kind || entry.unit !== unit || entry.partitions !== partitions) {
    const head = `{"id":"${sensorId}@`;
    const middle = `","schema_version":1,"sensor_id":"${sensorId}","kind":"${kind}","ts":`;
    const room = '0'.repeat(13);
    entry = {
      slot: nextSlot++,
      sensorId,
      kind,
      unit,
      partitions,
      partition: partitionForKey(sensorId, partitions),
      tail: Buffer.from(`,"unit":${JSON.stringify(unit)}}`, 'utf8'),
      line: Buffer.from(`${head}${room}${middle}${room},"value":`, 'latin1'),
      idDigitsAt: head.length,
      tsDigitsAt: head.length + 13 + middle.length,
    };
    if (cache.size >= MAX_ENTRIES) cache.clear();
    cache.set(sensorId, entry);
  }
  return entry;
}
