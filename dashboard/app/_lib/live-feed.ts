import {
  Anomaly,
  Area,
  Camera,
  Department,
  DispatchOrder,
  EarlyWarning,
  Incident,
  Sensor,
  SensorReading,
  levelRank,
  maxLevel,
  validator,
  type IncidentStatus,
  type Validator,
  type WarningLevel,
} from '@cityops/schemas';
import type { Basemap, GeoJsonFeature, GeoJsonFeatureCollection, WallTileServer } from '../../src/api-types.js';
import type { CameraDetectionSummary, LiveCameraDetections, LiveEventName, LiveHello, LiveReadings } from '../../src/live-protocol.js';
import { MAP_COLORS, type Rgba } from './colors.js';
import { isGeometry } from './geo.js';
import { PackedReadingsDecoder } from './packed-readings.js';
import { recordReadingsApply } from './wall-perf.js';

/*
 * The wall's data model, outside React: one EventSource, the snapshot from the JSON API, and the
 * per-sensor state in typed arrays. React reads an immutable FeedView through
 * useSyncExternalStore; the view object changes at most once per second for readings (the tick)
 * and within 50 ms for a warning or an incident.
 *
 * Everything that arrives is checked against the contracts' validators before it is used: a
 * wall display tab stays open for days, across platform upgrades, and a record of a newer
 * contract version must be dropped visibly (console) rather than rendered wrong.
 */

/** No data event for this long and the wall says so (the operators must not trust a frozen picture). */
export const STALE_AFTER_MS = 10_000;
/** A sensor with an anomaly this recent is drawn as anomalous. */
export const ANOMALY_WINDOW_MS = 5 * 60_000;
/** A sensor with no reading for this long is drawn as silent. */
export const SILENT_AFTER_MS = 60_000;
/** Warnings this recent shade their district (incidents shade it until they are resolved). */
export const WARNING_SHADE_MS = 30 * 60_000;
/** The events heatmap counts warnings and anomalies this recent. */
export const HEAT_WINDOW_MS = 60 * 60_000;
/** Anomalies kept for the heatmap (newest first); a storm beyond this shows its newest part. */
const MAX_RECENT_ANOMALIES = 2000;
const MAX_WARNINGS = 200;
const MAX_INCIDENTS = 200;
/** Urgent events are batched this long so a burst re-renders once. */
const EMIT_DELAY_MS = 50;
const RECONNECT_MIN_MS = 1000;
const RECONNECT_MAX_MS = 30_000;
const SNAPSHOT_RETRY_MS = 5000;
/** Unknown sensor ids in readings mean the city changed: reload it, at most this often. */
const CITY_RELOAD_MIN_MS = 60_000;

export const SENSOR_SILENT = 0;
export const SENSOR_NORMAL = 1;
export const SENSOR_ANOMALOUS = 2;

export type ConnectionState = 'connecting' | 'live' | 'reconnecting';

const ACTIVE_STATUSES: readonly IncidentStatus[] = ['open', 'dispatched', 'accepted'];

export function isActive(incident: Incident): boolean {
  return ACTIVE_STATUSES.includes(incident.status);
}

export interface CityModel {
  areas: readonly Area[];
  areaById: ReadonlyMap<string, Area>;
  /** Order fixes the index into SensorState's arrays. */
  sensors: readonly Sensor[];
  sensorIndex: ReadonlyMap<string, number>;
  cameras: readonly Camera[];
  departmentById: ReadonlyMap<string, Department>;
  /** The on-premises raster tile server drawn under the basemap; null when none is configured. */
  tiles: WallTileServer | null;
}

/**
 * Live per-sensor state, indexed like CityModel.sensors and updated in place (no per-second
 * allocation). The last three arrays are the sensor layer's deck.gl binary attributes: the map
 * hands them to the GPU as they are, so a status change is a few bytes written here and one
 * attribute upload, never a pass of accessor calls over 100k objects.
 */
export interface SensorState {
  value: Float64Array;
  /** Event time of the newest reading, epoch ms; 0 = none yet. */
  readingTs: Float64Array;
  /** Event time of the newest anomaly, epoch ms; 0 = none. */
  anomalyTs: Float64Array;
  /** SENSOR_SILENT | SENSOR_NORMAL | SENSOR_ANOMALOUS */
  status: Uint8Array;
  /**
   * lon, lat per sensor as float32 degrees from `origin` (getPosition, size 2, deck.gl's
   * LNGLAT_OFFSETS); fixed once the city is loaded. Offsets keep float32 precise to centimetres
   * across a city and spare the GPU the emulated 64-bit maths of absolute lng/lat per vertex.
   */
  positions: Float32Array;
  /** [lon, lat] the offsets are relative to: the first sensor's position. */
  origin: [number, number];
  /** r, g, b, a per sensor from its status (getFillColor, size 4, normalized). */
  fillColors: Uint8Array;
  /** Radius in design pixels per sensor from its status (getRadius, size 1). */
  radii: Float32Array;
}

/** Colour and radius of each status, indexed by SENSOR_SILENT | SENSOR_NORMAL | SENSOR_ANOMALOUS. */
const STATUS_COLOR: readonly Rgba[] = [MAP_COLORS.sensorSilent, MAP_COLORS.sensorNormal, MAP_COLORS.sensorAnomalous];
const STATUS_RADIUS_PX: readonly number[] = [4.5, 4.5, 7];

/** Writes a sensor's status with its colour and radius; the caller bumps the version that re-uploads them. */
export function setSensorStatus(s: SensorState, i: number, status: number): void {
  s.status[i] = status;
  const c = STATUS_COLOR[status] ?? MAP_COLORS.sensorSilent;
  const o = 4 * i;
  s.fillColors[o] = c[0];
  s.fillColors[o + 1] = c[1];
  s.fillColors[o + 2] = c[2];
  s.fillColors[o + 3] = c[3];
  s.radii[i] = STATUS_RADIUS_PX[status] ?? 4.5;
}

export interface FeedView {
  city: CityModel | null;
  basemap: Basemap | null;
  sensors: SensorState;
  /** Changes whenever any sensor's status changes: the sensors layer's updateTrigger. */
  sensorStatusVersion: number;
  sensorsReporting: number;
  /** Newest first. */
  warnings: readonly EarlyWarning[];
  /** Not closed; active ones first, worst level first, then newest. */
  incidents: readonly Incident[];
  dispatchByIncident: ReadonlyMap<string, DispatchOrder>;
  /** Anomalies of the last HEAT_WINDOW_MS, newest first (the events heatmap); a new array when one arrives. */
  recentAnomalies: readonly Anomaly[];
  /** Newest frame's detections per camera id (live stream only; nothing in the store says it). */
  cameraDetections: ReadonlyMap<string, CameraDetectionSummary>;
  /** Changes whenever cameraDetections changes. */
  cameraDetectionsVersion: number;
  /** Worst current level per area (active incidents, recent warnings). */
  areaLevels: ReadonlyMap<string, WarningLevel>;
  /** Changes whenever areaLevels changes: the districts layer's updateTrigger. */
  areaLevelsKey: string;
  connection: ConnectionState;
  /** Platform time (this display's clock corrected by the server's), advanced every second; null before mount. */
  now: number | null;
  /** True when no data event arrived for STALE_AFTER_MS (or none since start). */
  stale: boolean;
  /** Seconds since the last data event arrived; null if none yet. */
  staleForS: number | null;
  /** Event time of the newest reading seen. */
  newestReadingTs: number | null;
  loadError: string | null;
}

/** State for `sensors`, all silent. */
export function emptySensors(sensors: readonly Sensor[]): SensorState {
  const n = sensors.length;
  const s: SensorState = {
    value: new Float64Array(n),
    readingTs: new Float64Array(n),
    anomalyTs: new Float64Array(n),
    status: new Uint8Array(n),
    positions: new Float32Array(2 * n),
    origin: [sensors[0]?.lon ?? 0, sensors[0]?.lat ?? 0],
    fillColors: new Uint8Array(4 * n),
    radii: new Float32Array(n),
  };
  for (let i = 0; i < n; i++) {
    const sensor = sensors[i]!;
    s.positions[2 * i] = sensor.lon - s.origin[0];
    s.positions[2 * i + 1] = sensor.lat - s.origin[1];
    setSensorStatus(s, i, SENSOR_SILENT);
  }
  return s;
}

const check = {
  area: validator(Area),
  sensor: validator(Sensor),
  camera: validator(Camera),
  department: validator(Department),
  reading: validator(SensorReading),
  warning: validator(EarlyWarning),
  incident: validator(Incident),
  dispatch: validator(DispatchOrder),
  anomaly: validator(Anomaly),
};

export class LiveFeed {
  private readonly baseUrl: string;
  private readonly listeners = new Set<() => void>();
  private view: FeedView;

  private city: CityModel | null = null;
  private basemap: Basemap | null = null;
  private sensors: SensorState = emptySensors([]);
  /** Sensor id of each slot of the packed stream (hello's sensor_slots + each event's new ids). */
  private slotIds: string[] = [];
  /** City index of each slot; -1 = not a sensor of the loaded city. */
  private slotToCity = new Int32Array(0);
  private readonly packedDecoder = new PackedReadingsDecoder();
  private sensorStatusVersion = 0;
  private sensorsReporting = 0;
  private readonly warnings = new Map<string, EarlyWarning>();
  private warningsSorted: EarlyWarning[] = [];
  private readonly incidents = new Map<string, Incident>();
  private incidentsSorted: Incident[] = [];
  private readonly dispatches = new Map<string, DispatchOrder>();
  private recentAnomalies: Anomaly[] = [];
  private readonly recentAnomalyIds = new Set<string>();
  private readonly cameraDetections = new Map<string, CameraDetectionSummary>();
  private cameraDetectionsVersion = 0;
  private areaLevels: Map<string, WarningLevel> = new Map();
  private areaLevelsKey = '';
  private connection: ConnectionState = 'connecting';
  private serverOffsetMs = 0;
  private heartbeatIntervalMs = 15_000;
  /** Client clock (staleness is about arrival, not event time) of the last data event; null if none yet. */
  private lastDataAt: number | null = null;
  private startedAt = 0;
  /** Client clock of the last message of any kind (heartbeats included): the connection watchdog. */
  private lastMessageAt = 0;
  private newestReadingTs: number | null = null;
  private loadError: string | null = null;
  private unknownSensorSeen = false;
  private cityLoadedAt = 0;

  private source: EventSource | null = null;
  private everOpened = false;
  private reconnectDelayMs = RECONNECT_MIN_MS;
  private timers = new Set<number>();
  private tickTimer: number | undefined;
  private emitTimer: number | undefined;
  private running = false;

  /** `onUnauthorized`: the session ended (logout elsewhere, timeout, account disabled); the page goes to /login. */
  constructor(
    baseUrl = '',
    private readonly onUnauthorized: () => void = () => undefined,
  ) {
    this.baseUrl = baseUrl;
    this.view = this.buildView(null);
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly getView = (): FeedView => this.view;

  start(): void {
    if (this.running) return;
    this.running = true;
    this.startedAt = Date.now();
    this.connect();
    void this.loadSnapshot();
    this.tickTimer = window.setInterval(() => this.tick(), 1000);
    this.tick();
  }

  stop(): void {
    this.running = false;
    this.source?.close();
    this.source = null;
    window.clearInterval(this.tickTimer);
    window.clearTimeout(this.emitTimer);
    // React's StrictMode stops and starts again: a stale handle would block every later emit.
    this.emitTimer = undefined;
    for (const t of this.timers) window.clearTimeout(t);
    this.timers.clear();
  }

  private platformNow(): number {
    return Date.now() + this.serverOffsetMs;
  }

  private later(fn: () => void, ms: number): void {
    const t = window.setTimeout(() => {
      this.timers.delete(t);
      if (this.running) fn();
    }, ms);
    this.timers.add(t);
  }

  /* ---------- live stream ---------- */

  private connect(): void {
    this.source?.close();
    // Packed readings: one binary block a second instead of three JSON arrays (live-protocol.ts).
    const es = new EventSource(`${this.baseUrl}/api/stream?readings=packed`);
    this.source = es;
    this.lastMessageAt = Date.now();
    es.onopen = () => {
      if (es !== this.source) return;
      this.connection = 'live';
      this.reconnectDelayMs = RECONNECT_MIN_MS;
      this.lastMessageAt = Date.now();
      // After a gap, what happened meanwhile is only in the store: read the snapshot again.
      if (this.everOpened) void this.loadSnapshot();
      this.everOpened = true;
      this.emitSoon();
    };
    es.onerror = () => {
      if (es !== this.source) return;
      this.connection = 'reconnecting';
      this.emitSoon();
      // The browser retries by itself after a network error; after an HTTP error (503 while the
      // platform restarts) it gives up, so retry with backoff here.
      if (es.readyState === EventSource.CLOSED) {
        // EventSource hides the status: ask whether the session is still there before retrying.
        void fetch(`${this.baseUrl}/api/auth/me`, { cache: 'no-store' }).then(
          (res) => {
            if (res.status === 401) this.onUnauthorized();
          },
          () => undefined,
        );
        this.reconnectLater();
      }
    };
    const names: readonly LiveEventName[] = [
      'hello',
      'readings',
      'readings-packed',
      'warning',
      'incident',
      'dispatch',
      'anomaly',
      'detections',
      'heartbeat',
    ];
    for (const name of names) {
      es.addEventListener(name, (event: MessageEvent<unknown>) => {
        if (es !== this.source || typeof event.data !== 'string') return;
        this.lastMessageAt = Date.now();
        this.onMessage(name, event.data);
      });
    }
  }

  private reconnectLater(): void {
    this.source?.close();
    this.source = null;
    const delay = this.reconnectDelayMs;
    this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, RECONNECT_MAX_MS);
    this.later(() => this.connect(), delay);
  }

  private onMessage(name: LiveEventName, text: string): void {
    if (name === 'readings-packed') {
      // Not JSON as a whole: a JSON header line, then the base64 block.
      this.applyPacked(text);
      this.lastDataAt = Date.now();
      return;
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      console.warn(`live ${name}: not JSON, dropped`);
      return;
    }
    switch (name) {
      case 'hello':
        if (isHello(data)) {
          this.serverOffsetMs = data.server_ts - Date.now();
          this.heartbeatIntervalMs = data.heartbeat_interval_ms;
          // A new connection (maybe to a restarted server) starts a new slot dictionary.
          this.slotIds = Array.isArray(data.sensor_slots) ? data.sensor_slots.filter((x) => typeof x === 'string') : [];
          this.rebuildSlotIndex();
        }
        return;
      case 'heartbeat':
        if (isServerTs(data)) this.serverOffsetMs = data.server_ts - Date.now();
        return;
      case 'readings':
        if (isReadings(data)) this.applyReadings(data.sensor_ids, data.values, data.reading_ts);
        else console.warn('live readings: malformed, dropped');
        break;
      case 'warning':
        if (accept(check.warning, data, name)) this.addWarnings([data]);
        break;
      case 'incident':
        if (accept(check.incident, data, name)) this.upsertIncidents([data]);
        break;
      case 'dispatch':
        if (accept(check.dispatch, data, name)) this.addDispatches([data]);
        break;
      case 'anomaly':
        if (accept(check.anomaly, data, name)) this.addAnomalies([data]);
        break;
      case 'detections':
        if (isCameraDetections(data)) this.addDetections(data.cameras);
        else console.warn('live detections: malformed, dropped');
        break;
    }
    this.lastDataAt = Date.now();
    // Readings re-render with the next tick; urgent events within EMIT_DELAY_MS.
    if (name !== 'readings') this.emitSoon();
  }

  /* ---------- snapshot from the JSON API ---------- */

  private async loadSnapshot(): Promise<void> {
    const api = this.baseUrl + '/api';
    // The heatmap's window, which covers the sensors' (ANOMALY_WINDOW_MS) too.
    const since = Math.floor(this.platformNow() - Math.max(HEAT_WINDOW_MS, ANOMALY_WINDOW_MS));
    try {
      // Everything in parallel; the city is applied first so no row is ever shown with raw ids.
      const [city, basemap, warnings, incidents, dispatches, latest, anomalies] = await Promise.all([
        this.city === null ? getJson(`${api}/city`) : null,
        this.basemap === null ? getJson(`${api}/basemap`) : null,
        getJson(`${api}/warnings?limit=${MAX_WARNINGS}`),
        getJson(`${api}/incidents?limit=${MAX_INCIDENTS}&status=open,dispatched,accepted,resolved`),
        getJson(`${api}/dispatches?limit=${MAX_INCIDENTS}`),
        getJson(`${api}/sensors/latest`),
        getJson(`${api}/anomalies?limit=1000&since=${since}`),
      ]);
      if (city !== null) this.setCity(city);
      if (basemap !== null) this.basemap = toBasemap(basemap);
      this.addWarnings(listOf(check.warning, warnings, 'warnings'));
      this.upsertIncidents(listOf(check.incident, incidents, 'incidents'));
      this.addDispatches(listOf(check.dispatch, dispatches, 'dispatches'));
      const readings = listOf(check.reading, latest, 'readings');
      this.applyReadings(
        readings.map((r) => r.sensor_id),
        readings.map((r) => r.value),
        readings.map((r) => r.ts),
      );
      this.addAnomalies(listOf(check.anomaly, anomalies, 'anomalies'));
      this.loadError = null;
    } catch (error) {
      this.loadError = error instanceof Error ? error.message : String(error);
      this.later(() => void this.loadSnapshot(), SNAPSHOT_RETRY_MS);
    }
    this.recomputeSensorStatus();
    this.emitSoon();
  }

  private async reloadCity(): Promise<void> {
    this.setCity(await getJson(`${this.baseUrl}/api/city`));
    this.emitSoon();
  }

  private setCity(body: unknown): void {
    const areas = listOf(check.area, body, 'areas');
    const sensors = listOf(check.sensor, body, 'sensors');
    const previous = this.city;
    const city: CityModel = {
      areas,
      areaById: new Map(areas.map((a) => [a.id, a])),
      sensors,
      sensorIndex: new Map(sensors.map((s, i) => [s.id, i])),
      cameras: listOf(check.camera, body, 'cameras'),
      departmentById: new Map(listOf(check.department, body, 'departments').map((d) => [d.id, d])),
      tiles: toTileServer(field(body, 'tiles')),
    };
    // Carry the live state of sensors that still exist over to the new index.
    const next = emptySensors(sensors);
    if (previous !== null) {
      for (const [id, i] of city.sensorIndex) {
        const j = previous.sensorIndex.get(id);
        if (j === undefined) continue;
        next.value[i] = this.sensors.value[j] ?? 0;
        next.readingTs[i] = this.sensors.readingTs[j] ?? 0;
        next.anomalyTs[i] = this.sensors.anomalyTs[j] ?? 0;
      }
    }
    this.city = city;
    this.sensors = next;
    this.sensorStatusVersion++;
    this.rebuildSlotIndex();
    this.cityLoadedAt = Date.now();
    this.unknownSensorSeen = false;
  }

  /* ---------- state updates ---------- */

  private applyReadings(ids: readonly string[], values: readonly number[], ts: readonly number[]): void {
    const index = this.city?.sensorIndex;
    if (index === undefined) return;
    const s = this.sensors;
    for (let k = 0; k < ids.length; k++) {
      const i = index.get(ids[k] ?? '');
      const t = ts[k] ?? 0;
      if (i === undefined) {
        this.unknownSensorSeen = true;
        continue;
      }
      if (t >= (s.readingTs[i] ?? 0)) {
        s.readingTs[i] = t;
        s.value[i] = values[k] ?? 0;
      }
      if (this.newestReadingTs === null || t > this.newestReadingTs) this.newestReadingTs = t;
    }
  }

  /**
   * One second of readings for up to every sensor: decode into the reused buffer, then one loop
   * over typed arrays (value, time, status, colour). Its main-thread time is what the bench
   * reports as js_update_ms.
   */
  private applyPacked(text: string): void {
    const started = performance.now();
    let packed;
    try {
      packed = this.packedDecoder.decode(text);
    } catch (error) {
      console.warn(`live readings-packed: ${error instanceof Error ? error.message : String(error)}, dropped`);
      return;
    }
    const { header, values, readingTs, slots } = packed;
    if (header.first_new_slot > this.slotIds.length) {
      // An event was missed: the slots it named are unknown here. Start over on a new connection.
      console.warn(`live readings-packed: expected slot ${this.slotIds.length} next; got ${header.first_new_slot}, reconnecting`);
      this.reconnectLater();
      return;
    }
    const known = this.slotIds.length - header.first_new_slot;
    if (known < header.new_sensor_ids.length) {
      for (const id of header.new_sensor_ids.slice(known)) this.slotIds.push(id);
      this.extendSlotIndex();
    }
    const map = this.slotToCity;
    const s = this.sensors;
    const now = this.platformNow();
    let newest = this.newestReadingTs ?? 0;
    let changed = false;
    for (let k = 0; k < header.count; k++) {
      const slot = slots[k]!;
      const i = slot < map.length ? map[slot]! : -1;
      if (i < 0) {
        this.unknownSensorSeen = true;
        continue;
      }
      const t = readingTs[k]!;
      if (t > newest) newest = t;
      if (t < s.readingTs[i]!) continue;
      s.readingTs[i] = t;
      s.value[i] = values[k]!;
      const a = s.anomalyTs[i]!;
      const status = a > 0 && now - a <= ANOMALY_WINDOW_MS ? SENSOR_ANOMALOUS : now - t <= SILENT_AFTER_MS ? SENSOR_NORMAL : SENSOR_SILENT;
      if (s.status[i] !== status) {
        setSensorStatus(s, i, status);
        changed = true;
      }
    }
    if (newest > 0) this.newestReadingTs = newest;
    // One version bump = one upload of the colour and radius attributes at the next render.
    if (changed) this.sensorStatusVersion++;
    recordReadingsApply(performance.now() - started, header.count);
  }

  private rebuildSlotIndex(): void {
    this.slotToCity = new Int32Array(0);
    this.extendSlotIndex();
  }

  /** Maps the slots not yet mapped (a Map lookup per new sensor, once). */
  private extendSlotIndex(): void {
    const from = this.slotToCity.length;
    if (from >= this.slotIds.length) return;
    // New sensors are rare after the first event, so an exact-size copy is cheap enough.
    const next = new Int32Array(this.slotIds.length);
    next.set(this.slotToCity);
    const index = this.city?.sensorIndex;
    for (let slot = from; slot < this.slotIds.length; slot++) next[slot] = index?.get(this.slotIds[slot] ?? '') ?? -1;
    this.slotToCity = next;
  }

  private addAnomalies(anomalies: readonly Anomaly[]): void {
    const index = this.city?.sensorIndex;
    if (index === undefined) return;
    this.keepRecentAnomalies(anomalies);
    for (const a of anomalies) {
      if (a.source_kind !== 'sensor') continue;
      const i = index.get(a.source_id);
      if (i !== undefined && a.ts > (this.sensors.anomalyTs[i] ?? 0)) this.sensors.anomalyTs[i] = a.ts;
    }
    this.recomputeSensorStatus();
  }

  /** New anomalies into the heatmap's list (newest first, deduplicated, within the window and the cap). */
  private keepRecentAnomalies(anomalies: readonly Anomaly[]): void {
    const fresh = anomalies.filter((a) => !this.recentAnomalyIds.has(a.id));
    if (fresh.length === 0) return;
    const oldest = this.platformNow() - HEAT_WINDOW_MS;
    const kept = [...fresh, ...this.recentAnomalies]
      .filter((a) => a.ts >= oldest)
      .sort((a, b) => b.ts - a.ts)
      .slice(0, MAX_RECENT_ANOMALIES);
    this.recentAnomalyIds.clear();
    for (const a of kept) this.recentAnomalyIds.add(a.id);
    this.recentAnomalies = kept;
  }

  private addDetections(summaries: readonly CameraDetectionSummary[]): void {
    let changed = false;
    for (const summary of summaries) {
      const current = this.cameraDetections.get(summary.camera_id);
      if (current !== undefined && current.ts > summary.ts) continue;
      this.cameraDetections.set(summary.camera_id, summary);
      changed = true;
    }
    if (changed) this.cameraDetectionsVersion++;
  }

  private addWarnings(warnings: readonly EarlyWarning[]): void {
    let changed = false;
    for (const w of warnings) {
      if (this.warnings.has(w.id)) continue;
      this.warnings.set(w.id, w);
      changed = true;
    }
    if (!changed) return;
    const sorted = [...this.warnings.values()].sort((a, b) => b.ts - a.ts).slice(0, MAX_WARNINGS);
    if (sorted.length < this.warnings.size) {
      this.warnings.clear();
      for (const w of sorted) this.warnings.set(w.id, w);
    }
    this.warningsSorted = sorted;
    this.recomputeAreaLevels();
  }

  private upsertIncidents(incidents: readonly Incident[]): void {
    let changed = false;
    for (const incident of incidents) {
      const current = this.incidents.get(incident.id);
      // The store keeps the highest revision; so does the wall (events may arrive out of order).
      if (current !== undefined && current.revision >= incident.revision) continue;
      this.incidents.set(incident.id, incident);
      changed = true;
    }
    if (!changed) return;
    for (const [id, incident] of this.incidents) if (incident.status === 'closed') this.incidents.delete(id);
    this.incidentsSorted = [...this.incidents.values()].sort(compareIncidents).slice(0, MAX_INCIDENTS);
    this.recomputeAreaLevels();
  }

  private addDispatches(dispatches: readonly DispatchOrder[]): void {
    for (const d of dispatches) {
      const current = this.dispatches.get(d.incident_id);
      if (current === undefined || current.ts <= d.ts) this.dispatches.set(d.incident_id, d);
    }
  }

  private recomputeAreaLevels(): void {
    const now = this.platformNow();
    const levels = new Map<string, WarningLevel>();
    const raise = (areaId: string, level: WarningLevel) => {
      const current = levels.get(areaId);
      levels.set(areaId, current === undefined ? level : maxLevel(current, level));
    };
    for (const incident of this.incidents.values()) if (isActive(incident)) raise(incident.area_id, incident.level);
    for (const w of this.warningsSorted) {
      if (now - w.ts > WARNING_SHADE_MS) break;
      raise(w.area_id, w.level);
    }
    const key = [...levels]
      .map(([a, l]) => `${a}=${l}`)
      .sort()
      .join(',');
    if (key !== this.areaLevelsKey) {
      this.areaLevels = levels;
      this.areaLevelsKey = key;
    }
  }

  private recomputeSensorStatus(): void {
    const now = this.platformNow();
    const s = this.sensors;
    let changed = false;
    let reporting = 0;
    for (let i = 0; i < s.status.length; i++) {
      const readingTs = s.readingTs[i] ?? 0;
      const anomalyTs = s.anomalyTs[i] ?? 0;
      const status =
        anomalyTs > 0 && now - anomalyTs <= ANOMALY_WINDOW_MS
          ? SENSOR_ANOMALOUS
          : readingTs > 0 && now - readingTs <= SILENT_AFTER_MS
            ? SENSOR_NORMAL
            : SENSOR_SILENT;
      if (readingTs > 0 && now - readingTs <= SILENT_AFTER_MS) reporting++;
      if (s.status[i] !== status) {
        setSensorStatus(s, i, status);
        changed = true;
      }
    }
    this.sensorsReporting = reporting;
    if (changed) this.sensorStatusVersion++;
  }

  /* ---------- clock and publication ---------- */

  private tick(): void {
    const quietMs = Date.now() - this.lastMessageAt;
    // No byte (not even a heartbeat) for three heartbeat intervals: the connection is dead even
    // if the browser has not noticed (a proxy or a NAT dropped it silently).
    if (this.connection === 'live' && quietMs > Math.max(3 * this.heartbeatIntervalMs, 30_000)) {
      this.connection = 'reconnecting';
      this.reconnectLater();
    }
    if (this.unknownSensorSeen && Date.now() - this.cityLoadedAt > CITY_RELOAD_MIN_MS) {
      this.unknownSensorSeen = false;
      this.cityLoadedAt = Date.now();
      // A failed reload is retried on the next unknown sensor, a minute later at the earliest.
      this.reloadCity().catch((error: unknown) => console.warn('reloading the city failed', error));
    }
    this.recomputeSensorStatus();
    this.recomputeAreaLevels();
    this.emit();
  }

  private emitSoon(): void {
    if (this.emitTimer !== undefined) return;
    this.emitTimer = window.setTimeout(() => {
      this.emitTimer = undefined;
      this.emit();
    }, EMIT_DELAY_MS);
  }

  private emit(): void {
    this.view = this.buildView(this.platformNow());
    for (const listener of this.listeners) listener();
  }

  private buildView(now: number | null): FeedView {
    return {
      city: this.city,
      basemap: this.basemap,
      sensors: this.sensors,
      sensorStatusVersion: this.sensorStatusVersion,
      sensorsReporting: this.sensorsReporting,
      warnings: this.warningsSorted,
      incidents: this.incidentsSorted,
      dispatchByIncident: this.dispatches,
      recentAnomalies: this.recentAnomalies,
      cameraDetections: this.cameraDetections,
      cameraDetectionsVersion: this.cameraDetectionsVersion,
      areaLevels: this.areaLevels,
      areaLevelsKey: this.areaLevelsKey,
      connection: this.connection,
      now,
      stale: now !== null && Date.now() - (this.lastDataAt ?? this.startedAt) > STALE_AFTER_MS,
      staleForS: this.lastDataAt === null ? null : Math.round((Date.now() - this.lastDataAt) / 1000),
      newestReadingTs: this.newestReadingTs,
      loadError: this.loadError,
    };
  }
}

/** Active before resolved; within each, worst level first, then newest. */
export function compareIncidents(a: Incident, b: Incident): number {
  const active = Number(isActive(b)) - Number(isActive(a));
  if (active !== 0) return active;
  const level = levelRank(b.level) - levelRank(a.level);
  if (level !== 0) return level;
  return b.opened_at - a.opened_at;
}

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url, { cache: 'no-store' });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as unknown;
}

function field(body: unknown, key: string): unknown {
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[key] : undefined;
}

/** The valid records of `body[key]`; invalid ones are reported and skipped. */
function listOf<T>(v: Validator<T>, body: unknown, key: string): T[] {
  const list = field(body, key);
  if (!Array.isArray(list)) throw new Error(`expected a '${key}' array in the API response; got ${typeof list}`);
  const out: T[] = [];
  for (const item of list as unknown[]) if (accept(v, item, key)) out.push(item);
  return out;
}

function accept<T>(v: Validator<T>, value: unknown, what: string): value is T {
  if (v.check(value)) return true;
  const first = v.errors(value, 1)[0];
  console.warn(`${what}: not a valid ${v.name} (${first ? `${first.path} ${first.message}` : 'unknown error'}), dropped`);
  return false;
}

function isFeatureCollection(value: unknown): value is GeoJsonFeatureCollection {
  if (field(value, 'type') !== 'FeatureCollection') return false;
  const features = field(value, 'features');
  return (
    Array.isArray(features) &&
    (features as unknown[]).every(
      (f): f is GeoJsonFeature => field(f, 'type') === 'Feature' && (field(f, 'geometry') === null || isGeometry(field(f, 'geometry'))),
    )
  );
}

function toBasemap(body: unknown): Basemap {
  const roads = field(body, 'roads');
  const water = field(body, 'water');
  if (!isFeatureCollection(roads) || !isFeatureCollection(water))
    throw new Error('expected /api/basemap to hold roads and water FeatureCollections');
  return { roads, water };
}

/** The city's `tiles`; anything but a usable XYZ server (an older API says nothing) draws no tiles. */
function toTileServer(value: unknown): WallTileServer | null {
  if (value === undefined || value === null) return null;
  const url = field(value, 'url');
  const attribution = field(value, 'attribution');
  const maxZoom = field(value, 'max_zoom');
  if (
    typeof url === 'string' &&
    /^https?:\/\//.test(url) &&
    ['{z}', '{x}', '{y}'].every((p) => url.includes(p)) &&
    typeof attribution === 'string' &&
    Number.isInteger(maxZoom) &&
    (maxZoom as number) >= 0 &&
    (maxZoom as number) <= 24
  ) {
    return { url, attribution, max_zoom: maxZoom as number };
  }
  console.warn('city tiles: expected { url with {z} {x} {y}, attribution, max_zoom 0…24 }; drawing no tiles');
  return null;
}

function isServerTs(value: unknown): value is { server_ts: number } {
  return typeof field(value, 'server_ts') === 'number';
}

function isHello(value: unknown): value is LiveHello {
  return (
    isServerTs(value) && typeof field(value, 'heartbeat_interval_ms') === 'number' && typeof field(value, 'live_interval_ms') === 'number'
  );
}

function isDetectionSummary(value: unknown): value is CameraDetectionSummary {
  const counts = field(value, 'counts');
  return (
    typeof field(value, 'camera_id') === 'string' &&
    typeof field(value, 'frame_id') === 'string' &&
    typeof field(value, 'ts') === 'number' &&
    typeof counts === 'object' &&
    counts !== null &&
    !Array.isArray(counts) &&
    Object.values(counts).every((n) => Number.isInteger(n) && (n as number) >= 0)
  );
}

function isCameraDetections(value: unknown): value is LiveCameraDetections {
  const cameras = field(value, 'cameras');
  return isServerTs(value) && Array.isArray(cameras) && (cameras as unknown[]).every(isDetectionSummary);
}

function isReadings(value: unknown): value is LiveReadings {
  const ids = field(value, 'sensor_ids');
  const values = field(value, 'values');
  const ts = field(value, 'reading_ts');
  return (
    Array.isArray(ids) &&
    Array.isArray(values) &&
    Array.isArray(ts) &&
    ids.length === values.length &&
    ids.length === ts.length &&
    (ids as unknown[]).every((x) => typeof x === 'string') &&
    (values as unknown[]).every((x) => typeof x === 'number') &&
    (ts as unknown[]).every((x) => typeof x === 'number')
  );
}
