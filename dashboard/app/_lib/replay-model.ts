import {
  maxLevel,
  type EarlyWarning,
  type Incident,
  type IncidentEventType,
  type IncidentStatus,
  type WarningLevel,
} from '@cityops/schemas';
import type { ReplayResponse } from '../../src/api-types.js';
import {
  ANOMALY_WINDOW_MS,
  SENSOR_ANOMALOUS,
  SENSOR_NORMAL,
  SENSOR_SILENT,
  WARNING_SHADE_MS,
  compareIncidents,
  emptySensors,
  isActive,
  setSensorStatus,
  type CityModel,
  type FeedView,
  type SensorState,
} from './live-feed.js';

/*
 * The wall's time travel: one /api/replay answer, turned into the same FeedView the live wall
 * renders, one frame at a time. The replay owns its SensorState (the live feed keeps updating
 * its own underneath), so the same CityMap draws a past minute through the same binary
 * attributes, and going back to live is switching views, not reloading.
 */

/** What each lifecycle step leaves the incident's status at; other steps leave it as it was. */
const STATUS_AFTER: Partial<Record<IncidentEventType, IncidentStatus>> = {
  opened: 'open',
  proposed: 'open',
  recalled: 'open',
  dispatched: 'dispatched',
  confirmed: 'dispatched',
  reassigned: 'dispatched',
  accepted: 'accepted',
  arrived: 'accepted',
  resolved: 'resolved',
  closed: 'closed',
};

const MAX_WARNINGS = 200;

export class ReplayModel {
  readonly frames: number;
  private readonly sensors: SensorState;
  /** Cells of frame k are cellStart[k] … cellStart[k+1]-1 (the answer is ordered by frame). */
  private readonly cellStart: Int32Array;
  /** City index of each sensor of the answer; -1 when the city no longer has it. */
  private readonly cityIndexOf: Int32Array;
  private readonly anomalyCity: Int32Array;
  private readonly statusSteps = new Map<string, { ts: number; status: IncidentStatus }[]>();
  private shownFrame = -1;
  private version = 0;

  constructor(
    readonly data: ReplayResponse,
    private readonly city: CityModel,
  ) {
    this.frames = Math.max(1, data.frames);
    this.sensors = emptySensors(city.sensors);
    const { sensor_ids, frame } = data.sensors;
    this.cityIndexOf = Int32Array.from(sensor_ids, (id) => city.sensorIndex.get(id) ?? -1);
    this.anomalyCity = Int32Array.from(data.anomalies, (a) => city.sensorIndex.get(a.sensor_id) ?? -1);
    this.cellStart = new Int32Array(this.frames + 1);
    let cell = 0;
    for (let k = 0; k <= this.frames; k++) {
      while (cell < frame.length && frame[cell]! < k) cell++;
      this.cellStart[k] = cell;
    }
    for (const step of data.incident_steps) {
      const status = STATUS_AFTER[step.type];
      if (status === undefined) continue;
      const list = this.statusSteps.get(step.incident_id) ?? [];
      list.push({ ts: step.ts, status });
      this.statusSteps.set(step.incident_id, list);
    }
  }

  /** The end of frame k: the instant the frame shows. */
  frameTime(k: number): number {
    return Math.min(this.data.to, this.data.from + (k + 1) * this.data.step_ms);
  }

  /** The wall as it was at the end of frame k, over `live`'s city, basemap and connection. */
  viewAt(k: number, live: FeedView): FeedView {
    const frame = Math.min(this.frames - 1, Math.max(0, Math.floor(k)));
    const t = this.frameTime(frame);
    if (frame !== this.shownFrame) {
      this.applySensors(frame, t);
      this.shownFrame = frame;
      this.version++;
    }
    const warnings = this.warningsAt(t);
    const incidents = this.incidentsAt(t);
    const areaLevels = new Map<string, WarningLevel>();
    const raise = (areaId: string, level: WarningLevel) => {
      const current = areaLevels.get(areaId);
      areaLevels.set(areaId, current === undefined ? level : maxLevel(current, level));
    };
    for (const i of incidents) if (isActive(i)) raise(i.area_id, i.level);
    for (const w of warnings) if (t - w.ts <= WARNING_SHADE_MS) raise(w.area_id, w.level);
    let reporting = 0;
    for (let i = 0; i < this.sensors.status.length; i++) if (this.sensors.status[i] !== SENSOR_SILENT) reporting++;
    return {
      ...live,
      city: this.city,
      sensors: this.sensors,
      // Negative: never equal to a live version, so switching views always re-uploads the colours.
      sensorStatusVersion: -this.version,
      sensorsReporting: reporting,
      warnings,
      incidents,
      // Dispatch orders are not replayed: no SLA flags on a past picture.
      dispatchByIncident: new Map(),
      areaLevels,
      areaLevelsKey: `replay:${[...areaLevels]
        .map(([a, l]) => `${a}=${l}`)
        .sort()
        .join(',')}`,
      now: t,
      stale: false,
      staleForS: null,
      newestReadingTs: t,
    };
  }

  private applySensors(frame: number, t: number): void {
    const s = this.sensors;
    s.status.fill(SENSOR_SILENT);
    s.value.fill(0);
    const { sensor, avg, count } = this.data.sensors;
    for (let c = this.cellStart[frame]!; c < this.cellStart[frame + 1]!; c++) {
      const i = this.cityIndexOf[sensor[c]!]!;
      if (i < 0 || count[c]! <= 0) continue;
      s.value[i] = avg[c]!;
      s.status[i] = SENSOR_NORMAL;
    }
    const anomalies = this.data.anomalies;
    for (let a = 0; a < anomalies.length; a++) {
      const ts = anomalies[a]!.ts;
      const i = this.anomalyCity[a]!;
      if (i >= 0 && ts <= t && t - ts <= ANOMALY_WINDOW_MS) s.status[i] = SENSOR_ANOMALOUS;
    }
    for (let i = 0; i < s.status.length; i++) setSensorStatus(s, i, s.status[i]!);
  }

  private warningsAt(t: number): EarlyWarning[] {
    const out: EarlyWarning[] = [];
    // The answer is oldest first; the wall lists newest first.
    for (let i = this.data.warnings.length - 1; i >= 0 && out.length < MAX_WARNINGS; i--) {
      const w = this.data.warnings[i]!;
      if (w.ts <= t) out.push(w);
    }
    return out;
  }

  private incidentsAt(t: number): Incident[] {
    const out: Incident[] = [];
    for (const incident of this.data.incidents) {
      if (incident.opened_at > t) continue;
      let status: IncidentStatus | undefined;
      for (const step of this.statusSteps.get(incident.id) ?? []) if (step.ts <= t) status = step.status;
      // Without recorded steps, the latest revision's status holds from its update on.
      status ??= incident.updated_at <= t ? incident.status : 'open';
      if (status !== 'closed') out.push(status === incident.status ? incident : { ...incident, status });
    }
    return out.sort(compareIncidents);
  }
}

/** The step (a whole number of minutes) that keeps a window within `maxFrames` frames and `maxCells` sensor-frames. */
export function replayStepMs(spanMs: number, sensors: number, maxFrames: number, maxCells: number): number {
  const frames = Math.max(1, Math.min(maxFrames, Math.floor(maxCells / Math.max(1, sensors))));
  return Math.max(1, Math.ceil(spanMs / frames / 60_000)) * 60_000;
}
