import {
  recordBatchHeaders,
  rememberReadingColumns,
  SENSOR_KIND_INFO,
  type ReadingColumns,
  type SensorKind,
  type SensorReading,
  type TopicName,
} from '@cityops/schemas';
import type { OutgoingMessage } from '@cityops/bus';
import { BufferPool } from './batch-buffers.js';
import { JsonBytes, jsonPiece, quotedBytes } from './json-bytes.js';
import { partitionKey } from './partition-key.js';
import type { SensorPieces } from './sensor-pieces.js';

/**
 * The readings bound for one partition, column by column, in arrival order. The arrays are made
 * at about the size they will need, since growing them from empty reading by reading allocated
 * three times their final size; entries past `count` are unused.
 */
class PartitionColumns {
  count = 0;
  readonly sensorIds: string[];
  readonly kinds: SensorKind[];
  readonly ts: number[];
  readonly values: number[];
  readonly units: string[];
  /** Set once a reading with an id of its own arrives; undefined entries are derived ids. */
  ids: (string | undefined)[] | undefined;
  /** Per reading with a derived id, its sensor's pieces of JSON; undefined for the others. */
  readonly pieces: (SensorPieces | undefined)[];
  /** Per reading, its pieces' slot, or -1 (see ReadingColumns.slots). */
  readonly slots: number[];

  constructor(private readonly capacity: number) {
    this.sensorIds = new Array<string>(capacity);
    this.kinds = new Array<SensorKind>(capacity);
    this.ts = new Array<number>(capacity);
    this.values = new Array<number>(capacity);
    this.units = new Array<string>(capacity);
    this.pieces = new Array<SensorPieces | undefined>(capacity);
    this.slots = new Array<number>(capacity);
  }

  push(pieces: SensorPieces | undefined, sensorId: string, kind: SensorKind, ts: number, value: number, unit: string): void {
    const i = this.count++;
    this.sensorIds[i] = sensorId;
    this.kinds[i] = kind;
    this.ts[i] = ts;
    this.values[i] = value;
    this.units[i] = unit;
    this.pieces[i] = pieces;
    this.slots[i] = pieces === undefined ? -1 : pieces.slot;
  }

  /** Sets reading i's own id, making the ids column on first use. */
  setId(i: number, id: string): void {
    this.ids ??= new Array<string | undefined>(Math.max(this.capacity, i + 1)).fill(undefined);
    this.ids[i] = id;
  }

  /** Entries [first, end) as one message's ReadingColumns (shared arrays, see ReadingColumns). */
  columns(first: number, end: number): ReadingColumns {
    return {
      start: first,
      count: end - first,
      sensorIds: this.sensorIds,
      kinds: this.kinds,
      ts: this.ts,
      values: this.values,
      units: this.units,
      ids: this.ids,
      slots: this.slots,
    };
  }
}

/*
 * Readings of one ingest batch on their way to the bus: grouped by partition and kept as columns
 * (see @cityops/schemas reading-columns.ts), then written as NDJSON messages of up to
 * `maxRecords` readings each, every message a view into one buffer for the whole batch. Per
 * reading the hot path keeps no object: strings the input already held and unboxed numbers.
 */
export class ReadingGroups {
  private readonly parts: PartitionColumns[] = [];
  private total = 0;

  constructor(
    private readonly topic: TopicName,
    private readonly contract: string,
    private readonly partitions: number,
    private readonly maxRecords: number,
    /** Readings the batch will likely hold, to size the columns. */
    expected: number,
  ) {
    // Readings spread evenly over partitions by their sensors' hashes; a quarter more leaves
    // room for the unevenness of a batch, and a partition past its guess just grows.
    const capacity = Math.ceil((expected / partitions) * 1.25) + 8;
    for (let i = 0; i < partitions; i++) this.parts.push(new PartitionColumns(capacity));
  }

  /** A reading checked against the contract as a record (it may carry an id of its own). */
  add(partition: number, r: SensorReading): void {
    const p = this.parts[partition]!;
    p.setId(p.count, r.id);
    p.push(undefined, r.sensor_id, r.kind, r.ts, r.value, r.unit);
    this.total++;
  }

  /** A reading checked as it came, whose id is derived: `<sensor_id>@<ts>`. */
  addDerived(pieces: SensorPieces, sensorId: string, kind: SensorKind, ts: number, value: number, unit: string): void {
    this.parts[pieces.partition]!.push(pieces, sensorId, kind, ts, value, unit);
    this.total++;
  }

  /**
   * One message per partition and `maxRecords` readings, its bytes the readings' NDJSON. Their
   * buffer is lent to the bus (ADR 0006) and goes back to BATCH_BUFFERS once every message of
   * the batch is released.
   */
  toMessages(): OutgoingMessage[] {
    const out = new JsonBytes(this.total * BYTES_PER_READING_GUESS, BATCH_BUFFERS);
    // [start, end) of each message in the order below; views are taken once the buffer no longer grows.
    const bounds: number[] = [];
    for (const p of this.parts) {
      for (let first = 0; first < p.count; first += this.maxRecords) {
        const end = Math.min(p.count, first + this.maxRecords);
        bounds.push(out.at);
        for (let i = first; i < end; i++) {
          if (i > first) out.byte(NEWLINE);
          writeReading(p, i, out);
        }
        bounds.push(out.at);
      }
    }
    const messages: OutgoingMessage[] = [];
    const buffer = out.buffer;
    let outstanding = bounds.length / 2;
    if (outstanding === 0) BATCH_BUFFERS.give(buffer);
    const onReleased = (): void => {
      if (--outstanding === 0) BATCH_BUFFERS.give(buffer);
    };
    let b = 0;
    for (let partition = 0; partition < this.partitions; partition++) {
      const p = this.parts[partition]!;
      if (p.count === 0) continue;
      const key = partitionKey(this.topic, partition, this.partitions);
      for (let first = 0; first < p.count; first += this.maxRecords) {
        const end = Math.min(p.count, first + this.maxRecords);
        const value = out.view(bounds[b]!, bounds[b + 1]!);
        b += 2;
        // Checked here; consumers in this process read the columns instead of parsing the bytes.
        rememberReadingColumns(value, p.columns(first, end));
        messages.push({ key, value, headers: recordBatchHeaders(this.contract, end - first), timestampMs: p.ts[first]!, onReleased });
      }
    }
    return messages;
  }
}

// The constant pieces of a reading's JSON, in the contract's field order.
const NEWLINE = 0x0a;
const CLOSE_BRACE = 0x7d;
const READING_ID = jsonPiece('{"id":"');
const READING_SENSOR_ID = jsonPiece('","schema_version":1,"sensor_id":"');
const READING_KIND = Object.fromEntries(
  Object.keys(SENSOR_KIND_INFO).map((kind) => [kind, jsonPiece(`","kind":${JSON.stringify(kind)},"ts":`)]),
) as Record<SensorKind, Uint8Array>;
const READING_VALUE = jsonPiece(',"value":');
const READING_UNIT = jsonPiece(',"unit":');
/** A reading is ~150 bytes as JSON; a short guess only costs a copy each time the buffer doubles. */
const BYTES_PER_READING_GUESS = 160;
/**
 * Readings' batch buffers for reuse. What the bus holds is bounded by its backlog; this only
 * bounds what waits here between batches.
 */
const BATCH_BUFFERS = new BufferPool(64 * 1024 * 1024);

/**
 * Reading `i` of `p` as JSON, byte for byte JSON.stringify of its record in field order: from its
 * sensor's prepared line where it has one, else piece by piece. Ids and
 * sensor ids passed the contract's id pattern, which has nothing JSON must escape, and kind is
 * one of five literals: only unit needs quoting (cached per distinct unit).
 */
function writeReading(p: PartitionColumns, i: number, out: JsonBytes): void {
  const pieces = p.pieces[i];
  const ts = p.ts[i]!;
  if (pieces !== undefined && ts >= 1e12) {
    out.lineWithTs(pieces.line, ts, pieces.idDigitsAt, pieces.tsDigitsAt);
    out.number(p.values[i]!);
    out.raw(pieces.tail);
    return;
  }
  // A reading with an id of its own, or one from before 2001-09-09 (12 digits).
  out.raw(READING_ID);
  out.ascii(p.ids?.[i] ?? `${p.sensorIds[i]!}@${ts}`);
  out.raw(READING_SENSOR_ID);
  out.ascii(p.sensorIds[i]!);
  out.raw(READING_KIND[p.kinds[i]!]);
  out.epochMs(ts);
  out.raw(READING_VALUE);
  out.number(p.values[i]!);
  out.raw(READING_UNIT);
  out.raw(quotedBytes(p.units[i]!));
  out.byte(CLOSE_BRACE);
}
