import {
  Anomaly,
  DEFAULT_PARTITIONS,
  DispatchOrder,
  EarlyWarning,
  Incident,
  SensorReading,
  TOPICS,
  VisionDetection,
  decodeRecord,
  decodeRecords,
  type Clock,
  type WorkerHealth,
} from '@cityops/schemas';
import type { Bus, Consumer, MessageBatch } from '@cityops/bus';
import { DashboardError } from './errors.js';
import {
  MAX_SUMMARY_CLASSES,
  PACKED_BYTES_PER_READING,
  type CameraDetectionSummary,
  type LiveEventMap,
  type LiveEventName,
  type LivePackedReadingsHeader,
  type LiveReadingsFormat,
} from './live-protocol.js';

/**
 * Where an SSE client's bytes go. A node:http ServerResponse is one; so is any node Writable,
 * which is how the slow-client test builds a client that never drains.
 */
export interface LiveSink {
  write(chunk: string): boolean;
  /** Bytes accepted by write() but not yet handed to the kernel (ServerResponse counts its socket's too). */
  readonly writableLength: number;
  end(): unknown;
  destroy(): unknown;
  once(event: 'close', listener: () => void): unknown;
}

export interface LiveHubOptions {
  bus: Bus;
  clock: Clock;
  /** How often the coalesced `readings` event is flushed, in ms. */
  liveIntervalMs: number;
  /** How often a `heartbeat` event is sent to every client, in ms. */
  heartbeatIntervalMs: number;
  /** Consumer group; one per process so every process sees every message. */
  groupId: string;
  /** Connections beyond this are refused with 503. */
  maxClients: number;
  /** A client with more than this many bytes not yet sent is dropped (it reconnects and re-reads the snapshot). */
  maxClientBufferBytes: number;
}

const LIVE_TOPICS = [
  TOPICS.sensorReadings,
  TOPICS.anomalies,
  TOPICS.warnings,
  TOPICS.incidents,
  TOPICS.dispatches,
  TOPICS.visionDetections,
] as const;

/** How soon a reconnecting EventSource retries, in ms (the SSE `retry:` field). */
const CLIENT_RETRY_MS = 2000;

const DONE: Promise<void> = Promise.resolve();

/**
 * Which incident-bound records a client may see (incidents, dispatches): a department user's
 * stream carries its department's only. Undefined = everything.
 */
export type LiveScope = (record: { department_id: string }) => boolean;

/**
 * One bus subscription per process, fanned out to every wall display connected to it.
 *
 * The consumer's batch handler never waits for a client: it decodes, updates the pending
 * readings map or writes one pre-serialised chunk to each client, and returns. A client that
 * cannot keep up therefore costs its own socket buffer only, and once that passes
 * maxClientBufferBytes it is dropped — the alternative, buffering without bound or slowing the
 * consumer, would let one stalled browser hold back the bus for every other consumer group.
 */
export class LiveHub {
  private readonly options: LiveHubOptions;
  private readonly clients = new Set<LiveSink>();
  /** Clients that see only some incidents; the rest see everything. */
  private readonly scopes = new Map<LiveSink, LiveScope>();
  /** Newest reading per sensor since the last flush; bounded by the number of sensors. */
  private readonly pending = new Map<string, { value: number; ts: number }>();
  /** Clients that asked for `readings-packed` instead of JSON `readings`. */
  private readonly packedClients = new Set<LiveSink>();
  /**
   * Sensor id → slot, assigned in flush order the first time a packed client needs the sensor and
   * never reused (bounded by the number of sensors, like `pending`): packed events name sensors
   * by slot, and a client learns each id once (hello or the event that assigned it).
   */
  private readonly slotOf = new Map<string, number>();
  private readonly slotIds: string[] = [];
  /** Newest value and reading time per slot: what a packed client that fell behind is sent instead of what it missed. */
  private slotValue = new Float64Array(0);
  private slotTs = new Float64Array(0);
  /** Packed clients that skipped readings events because their socket was still full → the slots they know. */
  private readonly behind = new Map<LiveSink, number>();
  /** Reused between flushes: the packed block is rebuilt in place every interval. */
  private packedScratch = new ArrayBuffer(0);
  private readingsSkipped = 0;
  /** Newest frame's detections per camera (bounded by the number of cameras) and the cameras changed since the last flush. */
  private readonly detections = new Map<string, CameraDetectionSummary>();
  private readonly detectionsChanged = new Set<string>();
  /** Lag per topic-partition as the last batch reported it. */
  private readonly lag = new Map<string, number>();
  private consumer: Consumer | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private state: WorkerHealth['state'] = 'stopped';
  private processed = 0;
  private rejected = 0;
  private clientsDropped = 0;
  private lastError = '';

  constructor(options: LiveHubOptions) {
    this.options = options;
  }

  get running(): boolean {
    return this.state === 'running';
  }

  async start(): Promise<void> {
    if (this.state !== 'stopped') return;
    this.state = 'starting';
    const { bus, groupId } = this.options;
    try {
      // The dashboard may start before any producer: make sure the topics it reads exist.
      await bus.ensureTopics(LIVE_TOPICS.map((name) => ({ name, partitions: DEFAULT_PARTITIONS[name] })));
      const consumer = bus.consumer({ groupId, topics: LIVE_TOPICS, fromBeginning: false });
      this.consumer = consumer;
      await consumer.run((batch) => this.onBatch(batch));
    } catch (error) {
      this.state = 'failed';
      this.lastError = error instanceof Error ? error.message : String(error);
      throw error;
    }
    this.flushTimer = setInterval(() => {
      this.flushReadings();
      this.flushDetections();
    }, this.options.liveIntervalMs);
    this.heartbeatTimer = setInterval(
      () => this.broadcast('heartbeat', { server_ts: this.options.clock() }),
      this.options.heartbeatIntervalMs,
    );
    // Timers must not keep a process alive that is otherwise shutting down.
    this.flushTimer.unref();
    this.heartbeatTimer.unref();
    this.state = 'running';
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    clearInterval(this.flushTimer);
    clearInterval(this.heartbeatTimer);
    for (const client of this.clients) client.end();
    this.clients.clear();
    this.packedClients.clear();
    this.scopes.clear();
    this.pending.clear();
    this.detectionsChanged.clear();
    const consumer = this.consumer;
    this.consumer = undefined;
    this.state = 'stopped';
    await consumer?.stop();
  }

  /** Throws 503 DashboardErrors when the hub is not running or full, before any header is written. */
  assertAccepting(): void {
    if (!this.running)
      throw new DashboardError('live-unavailable', 'the live stream is not running (the dashboard server was not started or is stopping)', {
        retriable: true,
      });
    if (this.clients.size >= this.options.maxClients) {
      throw new DashboardError('too-many-clients', `the live stream already serves ${this.clients.size} clients, the configured maximum`, {
        retriable: true,
      });
    }
  }

  /**
   * Registers a client whose SSE response headers are already written; `scope` filters its
   * incidents and dispatches; `readings` chooses JSON `readings` or `readings-packed` events.
   */
  addClient(sink: LiveSink, scope?: LiveScope, readings: LiveReadingsFormat = 'json'): void {
    this.assertAccepting();
    this.clients.add(sink);
    if (scope !== undefined) this.scopes.set(sink, scope);
    if (readings === 'packed') this.packedClients.add(sink);
    sink.once('close', () => this.forget(sink));
    const { clock, liveIntervalMs, heartbeatIntervalMs } = this.options;
    const hello = { server_ts: clock(), live_interval_ms: liveIntervalMs, heartbeat_interval_ms: heartbeatIntervalMs };
    this.write(sink, `retry: ${CLIENT_RETRY_MS}\n\n`);
    // Slots are only assigned in flushReadings, so this list covers every slot of every later event.
    this.write(sink, frame('hello', readings === 'packed' ? { ...hello, sensor_slots: this.slotIds } : hello));
    // What the cameras saw last is in no store query: a wall that connects gets it from here.
    if (this.detections.size > 0) this.write(sink, frame('detections', { server_ts: clock(), cameras: [...this.detections.values()] }));
  }

  private forget(sink: LiveSink): void {
    this.clients.delete(sink);
    this.scopes.delete(sink);
    this.packedClients.delete(sink);
    this.behind.delete(sink);
  }

  health(): WorkerHealth {
    let lag = 0;
    for (const n of this.lag.values()) lag += n;
    return {
      name: 'dashboard-live',
      state: this.state,
      lag,
      processed: this.processed,
      // The dashboard only watches: the consumer that owns a topic dead-letters what it rejects.
      dead_lettered: 0,
      last_error: this.lastError,
      counters: {
        sse_clients: this.clients.size,
        sse_clients_dropped_slow: this.clientsDropped,
        rejected_messages: this.rejected,
        pending_readings: this.pending.size,
        cameras_with_detections: this.detections.size,
        sensor_slots: this.slotIds.length,
        readings_events_conflated: this.readingsSkipped,
      },
    };
  }

  private onBatch(batch: MessageBatch): Promise<void> {
    this.lag.set(`${batch.topic}/${batch.partition}`, batch.lag);
    for (const message of batch.messages) {
      this.processed++;
      switch (batch.topic) {
        case TOPICS.sensorReadings: {
          // One reading per message, or a batch of them (see @cityops/schemas record-batch.ts).
          const { values, failures } = decodeRecords(SensorReading, message.headers, message.value);
          for (const failure of failures) this.reject(batch.topic, failure.reason);
          for (const r of values) {
            const previous = this.pending.get(r.sensor_id);
            // Per-key order holds on the bus, but a replayed older reading must not win.
            if (previous === undefined || previous.ts <= r.ts) this.pending.set(r.sensor_id, { value: r.value, ts: r.ts });
          }
          break;
        }
        case TOPICS.warnings: {
          const r = decodeRecord(EarlyWarning, message.value);
          if (r.ok) this.broadcast('warning', r.value);
          else this.reject(batch.topic, r.reason);
          break;
        }
        case TOPICS.incidents: {
          const r = decodeRecord(Incident, message.value);
          if (r.ok) this.broadcast('incident', r.value, r.value);
          else this.reject(batch.topic, r.reason);
          break;
        }
        case TOPICS.dispatches: {
          const r = decodeRecord(DispatchOrder, message.value);
          if (r.ok) this.broadcast('dispatch', r.value, r.value);
          else this.reject(batch.topic, r.reason);
          break;
        }
        case TOPICS.anomalies: {
          const r = decodeRecord(Anomaly, message.value);
          if (r.ok) this.broadcast('anomaly', r.value);
          else this.reject(batch.topic, r.reason);
          break;
        }
        case TOPICS.visionDetections: {
          const r = decodeRecord(VisionDetection, message.value);
          if (r.ok) this.addDetection(r.value);
          else this.reject(batch.topic, r.reason);
          break;
        }
        default:
          break;
      }
    }
    return DONE;
  }

  /** Folds one detected object into its camera's newest-frame summary; objects of older frames are ignored. */
  private addDetection(d: VisionDetection): void {
    const current = this.detections.get(d.camera_id);
    if (current !== undefined && (d.ts < current.ts || (d.ts === current.ts && d.frame_id !== current.frame_id))) return;
    const summary =
      current !== undefined && current.frame_id === d.frame_id
        ? current
        : { camera_id: d.camera_id, ts: d.ts, frame_id: d.frame_id, counts: {} };
    const counts = summary.counts;
    if (counts[d.class_name] !== undefined) counts[d.class_name]! += 1;
    else if (Object.keys(counts).length < MAX_SUMMARY_CLASSES) counts[d.class_name] = 1;
    this.detections.set(d.camera_id, summary);
    this.detectionsChanged.add(d.camera_id);
  }

  /** The cameras whose summary changed since the last flush, as one `detections` event. */
  private flushDetections(): void {
    if (this.detectionsChanged.size === 0) return;
    const cameras: CameraDetectionSummary[] = [];
    for (const id of this.detectionsChanged) {
      const summary = this.detections.get(id);
      if (summary !== undefined) cameras.push(summary);
    }
    this.detectionsChanged.clear();
    this.broadcast('detections', { server_ts: this.options.clock(), cameras });
  }

  private reject(topic: string, reason: string): void {
    this.rejected++;
    this.lastError = `${topic}: ${reason}`;
  }

  private flushReadings(): void {
    if (this.pending.size === 0) return;
    const server_ts = this.options.clock();
    if (this.clients.size > this.packedClients.size) {
      const n = this.pending.size;
      const sensor_ids = new Array<string>(n);
      const values = new Array<number>(n);
      const reading_ts = new Array<number>(n);
      let i = 0;
      for (const [id, r] of this.pending) {
        sensor_ids[i] = id;
        values[i] = r.value;
        reading_ts[i] = r.ts;
        i++;
      }
      const chunk = frame('readings', { server_ts, sensor_ids, values, reading_ts });
      for (const client of this.clients) if (!this.packedClients.has(client)) this.write(client, chunk);
    }
    if (this.packedClients.size > 0) {
      const first_new_slot = this.slotIds.length;
      const chunk = this.packedFrame(server_ts);
      const full = new Map<number, string>();
      // Readings are state, not events: a wall whose socket still holds the last second's block
      // (a software-rendered map blocks its page for seconds) skips this one and later gets every
      // sensor's newest value at once, instead of being dropped and reloading everything.
      const skipAboveBytes = this.options.maxClientBufferBytes / 4;
      for (const client of this.packedClients) {
        const known = this.behind.get(client);
        if (client.writableLength > skipAboveBytes) {
          // It has every event before this one, so it knows the slots below this one's first new slot.
          if (known === undefined) this.behind.set(client, first_new_slot);
          this.readingsSkipped++;
        } else if (known !== undefined) {
          this.behind.delete(client);
          let frame = full.get(known);
          if (frame === undefined) full.set(known, (frame = this.fullPackedFrame(server_ts, known)));
          this.write(client, frame);
        } else {
          this.write(client, chunk);
        }
      }
    }
    this.pending.clear();
  }

  /** Every slot's newest reading as one `readings-packed` event, announcing the slots from `known` on. */
  private fullPackedFrame(server_ts: number, known: number): string {
    const slots: number[] = [];
    for (let slot = 0; slot < this.slotIds.length; slot++) if (this.slotTs[slot]! > 0) slots.push(slot);
    return this.encodePacked(server_ts, slots, known);
  }

  /** The pending readings as one `readings-packed` event (see LivePackedReadingsHeader), assigning slots to new sensors. */
  private packedFrame(server_ts: number): string {
    const first_new_slot = this.slotIds.length;
    const slots = new Uint32Array(this.pending.size);
    let i = 0;
    for (const [id, r] of this.pending) {
      let slot = this.slotOf.get(id);
      if (slot === undefined) {
        slot = this.slotIds.length;
        this.slotOf.set(id, slot);
        this.slotIds.push(id);
        if (slot >= this.slotTs.length) this.growSlots(2 * slot + 1024);
      }
      if (r.ts >= this.slotTs[slot]!) {
        this.slotValue[slot] = r.value;
        this.slotTs[slot] = r.ts;
      }
      slots[i++] = slot;
    }
    return this.encodePacked(server_ts, slots, first_new_slot);
  }

  private growSlots(size: number): void {
    const value = new Float64Array(size);
    const ts = new Float64Array(size);
    value.set(this.slotValue);
    ts.set(this.slotTs);
    this.slotValue = value;
    this.slotTs = ts;
  }

  /** The newest reading of each of `slots` as a `readings-packed` event whose new slots start at `first_new_slot`. */
  private encodePacked(server_ts: number, slots: ArrayLike<number>, first_new_slot: number): string {
    const n = slots.length;
    const bytes = n * PACKED_BYTES_PER_READING;
    if (this.packedScratch.byteLength < bytes) this.packedScratch = new ArrayBuffer(bytes);
    // DataView with an explicit byte order: the block is little-endian whatever the server's CPU.
    const view = new DataView(this.packedScratch, 0, bytes);
    for (let i = 0; i < n; i++) {
      const slot = slots[i]!;
      view.setFloat64(8 * i, this.slotValue[slot]!, true);
      view.setFloat64(8 * n + 8 * i, this.slotTs[slot]!, true);
      view.setUint32(16 * n + 4 * i, slot, true);
    }
    const header: LivePackedReadingsHeader = { server_ts, count: n, first_new_slot, new_sensor_ids: this.slotIds.slice(first_new_slot) };
    // Base64 has no newline, so the block is one more `data:` line; EventSource joins the two with '\n'.
    return `event: readings-packed\ndata: ${JSON.stringify(header)}\ndata: ${Buffer.from(this.packedScratch, 0, bytes).toString('base64')}\n\n`;
  }

  /** Serialises once, writes the same chunk to every client (that may see `scoped`, when given). */
  private broadcast<E extends LiveEventName>(event: E, data: LiveEventMap[E], scoped?: { department_id: string }): void {
    if (this.clients.size === 0) return;
    const chunk = frame(event, data);
    for (const client of this.clients) {
      const scope = scoped === undefined ? undefined : this.scopes.get(client);
      if (scope === undefined || scope(scoped ?? { department_id: '' })) this.write(client, chunk);
    }
  }

  private write(client: LiveSink, chunk: string): void {
    client.write(chunk);
    if (client.writableLength > this.options.maxClientBufferBytes) {
      this.forget(client);
      this.clientsDropped++;
      client.destroy();
    }
  }
}

/** One SSE event. JSON.stringify never emits a raw newline, so one `data:` line is enough. */
function frame<E extends LiveEventName>(event: E, data: LiveEventMap[E]): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
