import {
  EVENT_KIND_LABELS,
  WARNING_LEVEL_INFO,
  stableId,
  type Anomaly,
  type EarlyWarning,
  type WarningCleared,
  type WarningLevel,
} from '@cityops/schemas';
import type { Track } from './byte-tracker.js';
import { levelLadder, type CameraVisionConfig, type RuleConfig, type ZoneConfig } from './camera-config.js';
import { applyHomography, pointInPolygon, polygonCentroid, segmentsIntersect, sideOfLine, type Point } from './geometry.js';

/**
 * Event rules of one camera over its tracks, frame by frame. Each rule measures a value per
 * subject (a track for intrusion, loitering and stopped-vehicle; the zone for crowd and queue;
 * the line for line-crossing) and runs an episode per subject: the value reaching a level's
 * threshold — and staying there `holdMs` — opens the episode or raises its level, which emits
 * an Anomaly (the evidence: what was measured against which threshold) and an EarlyWarning that
 * cites it and the detections behind it; the value staying below the lowest threshold for
 * `clearMs` ends the episode. One warning per episode and level, with a stable id, so a replay
 * or a restart mid-episode does not flood the wall.
 *
 * An object is "in" a zone when the bottom centre of its box is — where it touches the ground,
 * which is also the point the homography maps to the map (the box centre of a tall person is a
 * metre above the ground and lands metres behind them on the map).
 */

/** Bumped when a rule's semantics change; carried in every record's version. */
export const VISION_RULES_VERSION = '1';

export interface RuleContext {
  cameraId: string;
  cameraName: string;
  sourceWidth: number;
  sourceHeight: number;
  /** The model's version, for detector_version. */
  modelVersion: string;
  /** Where a warning goes when neither homography nor camera location is known. */
  fallbackLocation: { lon: number; lat: number };
  /** The VisionDetection id of a track in this frame; the worker makes sure that detection is emitted. */
  evidenceId: (track: Track) => string;
}

export interface RuleOutput {
  anomalies: Anomaly[];
  warnings: EarlyWarning[];
  /** Episodes that raised a warning and have ended: the condition is no longer seen (incidents verifies with these). */
  cleared: WarningCleared[];
}

interface Episode {
  startTs: number;
  /** Reported level index in the ladder; -1 before the first report. */
  reported: number;
  /** Since when the value has been at or above each ladder step (undefined: below it). */
  aboveSince: (number | undefined)[];
  lastAboveTs: number;
  peak: number;
}

interface TrackZoneState {
  enteredTs: number;
  lastInTs: number;
  stoppedSince: number | undefined;
}

/** Line crossing counts per line and direction since the camera was added (health, dashboards). */
export interface LineCounts {
  leftToRight: number;
  rightToLeft: number;
}

export class CameraRules {
  private readonly zones = new Map<string, ZoneConfig>();
  private readonly episodes = new Map<string, Episode>();
  /** Per rule id, per track id. */
  private readonly inZone = new Map<string, Map<string, TrackZoneState>>();
  /** Last ground point of each track, for line crossing. */
  private readonly lastPoint = new Map<string, Point>();
  /** Per line-crossing rule: crossing times within its window. */
  private readonly crossings = new Map<string, number[]>();
  readonly lineCounts = new Map<string, LineCounts>();

  constructor(readonly config: CameraVisionConfig) {
    for (const z of config.zones) this.zones.set(z.id, z);
    for (const l of config.lines) this.lineCounts.set(l.id, { leftToRight: 0, rightToLeft: 0 });
  }

  /** Open episodes (for health). */
  get openEpisodes(): number {
    let n = 0;
    for (const e of this.episodes.values()) if (e.reported >= 0) n++;
    return n;
  }

  /** Evaluates every rule on one frame's confirmed, matched tracks; `removed` tracks end their episodes. */
  evaluate(ts: number, active: readonly Track[], removed: readonly Track[], ctx: RuleContext): RuleOutput {
    const out: RuleOutput = { anomalies: [], warnings: [], cleared: [] };
    for (const t of removed) this.lastPoint.delete(t.id);
    const crossed = this.updateLines(active);
    for (const rule of this.config.rules) {
      const classes = new Set(rule.classes);
      if (rule.type === 'line-crossing') {
        this.evaluateLine(rule, ts, crossed, classes, ctx, out);
      } else if (rule.type === 'crowd' || rule.type === 'queue') {
        const zone = this.zones.get(rule.zone)!;
        const members = active.filter((t) => classes.has(t.className) && inside(zone, t));
        this.step(rule, zone.id, ts, members.length, members, zone, undefined, ctx, out);
      } else {
        this.evaluatePerTrack(rule, ts, active, removed, classes, ctx, out);
      }
    }
    return out;
  }

  private evaluatePerTrack(
    rule: RuleConfig,
    ts: number,
    active: readonly Track[],
    removed: readonly Track[],
    classes: ReadonlySet<string>,
    ctx: RuleContext,
    out: RuleOutput,
  ): void {
    const zone = this.zones.get(rule.zone)!;
    let states = this.inZone.get(rule.id);
    if (states === undefined) this.inZone.set(rule.id, (states = new Map<string, TrackZoneState>()));
    for (const t of active) {
      if (!classes.has(t.className)) continue;
      let s = states.get(t.id);
      if (!inside(zone, t)) {
        if (s !== undefined && ts - s.lastInTs > rule.clearMs) states.delete(t.id);
        this.step(rule, `${zone.id}/${t.id}`, ts, undefined, [], zone, t, ctx, out);
        continue;
      }
      if (s === undefined) states.set(t.id, (s = { enteredTs: ts, lastInTs: ts, stoppedSince: undefined }));
      s.lastInTs = ts;
      let value: number | undefined;
      if (rule.type === 'stopped-vehicle') {
        const hPx = (t.y2 - t.y1) * ctx.sourceHeight;
        const speed = hPx > 0 ? Math.hypot(t.vx * ctx.sourceWidth, t.vy * ctx.sourceHeight) / hPx : 0;
        if (speed <= rule.maxSpeed) s.stoppedSince ??= ts;
        else s.stoppedSince = undefined;
        value = s.stoppedSince === undefined ? undefined : (ts - s.stoppedSince) / 1000;
      } else {
        value = (ts - s.enteredTs) / 1000;
      }
      this.step(rule, `${zone.id}/${t.id}`, ts, value, [t], zone, t, ctx, out);
    }
    // Tracks that ended: their episodes end with them.
    for (const t of removed) {
      states.delete(t.id);
      const key = `${rule.id}|${zone.id}/${t.id}`;
      const e = this.episodes.get(key);
      if (e !== undefined && e.reported >= 0)
        out.cleared.push(this.clearedRecord(rule, `${zone.id}/${t.id}`, e, ts, ctx, `${t.className} #${t.id} has left the picture`));
      this.episodes.delete(key);
    }
    // Tracks not matched this frame (lost for a moment) keep their state until they are removed.
  }

  /** Moves each track's ground point and returns the crossings of this frame per line. */
  private updateLines(active: readonly Track[]): Map<string, { track: Track; leftToRight: boolean }[]> {
    const crossed = new Map<string, { track: Track; leftToRight: boolean }[]>();
    for (const t of active) {
      const p: Point = [(t.x1 + t.x2) / 2, t.y2];
      const prev = this.lastPoint.get(t.id);
      this.lastPoint.set(t.id, p);
      if (prev === undefined) continue;
      for (const line of this.config.lines) {
        if (!segmentsIntersect(prev, p, line.from, line.to)) continue;
        // Looking from `from` to `to` on screen (y down), negative side is on the left.
        const leftToRight = sideOfLine(line.from, line.to, prev[0], prev[1]) < 0;
        const counts = this.lineCounts.get(line.id)!;
        if (leftToRight) counts.leftToRight++;
        else counts.rightToLeft++;
        let list = crossed.get(line.id);
        if (list === undefined) crossed.set(line.id, (list = []));
        list.push({ track: t, leftToRight });
      }
    }
    return crossed;
  }

  private evaluateLine(
    rule: RuleConfig,
    ts: number,
    crossed: ReadonlyMap<string, { track: Track; leftToRight: boolean }[]>,
    classes: ReadonlySet<string>,
    ctx: RuleContext,
    out: RuleOutput,
  ): void {
    let times = this.crossings.get(rule.id);
    if (times === undefined) this.crossings.set(rule.id, (times = []));
    const now = (crossed.get(rule.line) ?? []).filter(
      (c) => classes.has(c.track.className) && (rule.direction === 'any' || (rule.direction === 'left-to-right') === c.leftToRight),
    );
    for (let i = 0; i < now.length; i++) times.push(ts);
    while (times.length > 0 && ts - times[0]! >= rule.windowMs) times.shift();
    const line = this.config.lines.find((l) => l.id === rule.line)!;
    this.step(
      rule,
      line.id,
      ts,
      times.length,
      now.map((c) => c.track),
      undefined,
      undefined,
      ctx,
      out,
      line,
    );
  }

  /** One frame of one subject's episode: opens, raises or ends it. */
  private step(
    rule: RuleConfig,
    subject: string,
    ts: number,
    value: number | undefined,
    tracks: readonly Track[],
    zone: ZoneConfig | undefined,
    track: Track | undefined,
    ctx: RuleContext,
    out: RuleOutput,
    line?: { from: Point; to: Point; name: string; id: string },
  ): void {
    const key = `${rule.id}|${subject}`;
    const ladder = levelLadder(rule.levels);
    let e = this.episodes.get(key);
    const reached = value === undefined ? -1 : ladder.reduce((acc, step, i) => (value >= step.threshold ? i : acc), -1);
    if (e === undefined) {
      if (reached < 0) return;
      e = { startTs: ts, reported: -1, aboveSince: ladder.map(() => undefined), lastAboveTs: ts, peak: 0 };
      this.episodes.set(key, e);
    }
    for (let i = 0; i < ladder.length; i++) {
      if (i <= reached) e.aboveSince[i] ??= ts;
      else e.aboveSince[i] = undefined;
    }
    if (reached >= 0) {
      e.lastAboveTs = ts;
      e.peak = Math.max(e.peak, value!);
    } else {
      if (ts - e.lastAboveTs >= rule.clearMs) {
        if (e.reported >= 0) {
          out.cleared.push(this.clearedRecord(rule, subject, e, ts, ctx, `not seen for ${fmtS(rule.clearMs / 1000)}`));
        }
        this.episodes.delete(key);
      }
      return;
    }
    let effective = -1;
    for (let i = 0; i < ladder.length; i++) {
      const since = e.aboveSince[i];
      if (since !== undefined && ts - since >= rule.holdMs) effective = i;
    }
    if (effective <= e.reported) return;
    const previous = e.reported >= 0 ? ladder[e.reported]!.level : undefined;
    e.reported = effective;
    const { level, threshold } = ladder[effective]!;
    this.emit(
      { rule, subject, ts, value: value!, level, threshold, lowest: ladder[0]!.threshold, previous, episode: e, tracks, zone, track, line },
      ctx,
      out,
    );
  }

  private emit(d: Decision, ctx: RuleContext, out: RuleOutput): void {
    const { rule, ts, value, level } = d;
    const measure = MEASURES[rule.type];
    const where = d.zone !== undefined ? `zone '${d.zone.name}'` : `line '${d.line?.name ?? rule.line}'`;
    const what = d.track !== undefined ? `${d.track.className} #${d.track.id}` : `${rule.classes.join('/')}`;
    const observed = measure.describe(value, what, where, rule);
    const thresholdText = `${rule.type} rule '${rule.id}': ${level} at ${measure.fmt(d.threshold)}${rule.holdMs > 0 ? ` held ${fmtS(rule.holdMs / 1000)}` : ''} (levels ${levelLadder(
      rule.levels,
    )
      .map((s) => `${s.level} ≥ ${measure.fmt(s.threshold)}`)
      .join(', ')})`;
    const score = d.lowest > 0 ? value / d.lowest : 1 + value;
    const confidence = d.tracks.length > 0 ? d.tracks.reduce((s, t) => s + t.score, 0) / d.tracks.length : 0.5;
    const version = `rules@${VISION_RULES_VERSION}+${ctx.modelVersion}`.slice(0, 200);
    const anomaly: Anomaly = {
      id: stableId('vision-anomaly', ctx.cameraId, rule.id, d.subject, d.episode.startTs, level),
      schema_version: 1,
      ts,
      source_kind: 'camera',
      source_id: ctx.cameraId,
      metric: measure.metric,
      area_id: this.config.areaId,
      value,
      expected: d.lowest,
      lower: 0,
      upper: d.lowest,
      score,
      probability: Math.min(1, Math.max(0, confidence)),
      detector: `vision-rule/${rule.type}`,
      detector_version: version,
      reason: clip(`${observed}; ${thresholdText}`, 1000),
    };
    out.anomalies.push(anomaly);

    const located = this.locate(d, ctx);
    const label = EVENT_KIND_LABELS[rule.kind];
    const reasons = [
      observed + ` at ${iso(ts)}`,
      thresholdText,
      `${WARNING_LEVEL_INFO[level].en}${d.previous === undefined ? '' : `; raised from ${d.previous}`}; episode since ${iso(d.episode.startTs)}, peak ${measure.fmt(d.episode.peak)}`,
      `detections by ${ctx.modelVersion}, tracked (ByteTrack-style), mean confidence ${confidence.toFixed(2)} over ${d.tracks.length} object${d.tracks.length === 1 ? '' : 's'}`,
      located.how,
    ];
    const evidence = [anomaly.id, ...d.tracks.slice(0, 99).map((t) => ctx.evidenceId(t))];
    const warning: EarlyWarning = {
      id: stableId('vision-warning', ctx.cameraId, rule.id, d.subject, d.episode.startTs, level),
      schema_version: 1,
      ts,
      level,
      kind: rule.kind,
      area_id: this.config.areaId,
      source_kind: 'camera',
      source_id: ctx.cameraId,
      lon: located.lon,
      lat: located.lat,
      title: clip(`${label.zh} ${label.en} · ${ctx.cameraName} · ${where}: ${measure.short(value, what)}`, 300),
      reasons: reasons.map((r) => clip(r, 500)),
      score,
      evidence_ids: evidence,
      produced_by: `vision-worker/${rule.type}@${VISION_RULES_VERSION}`,
      machine_made: true,
    };
    out.warnings.push(warning);
  }

  /** The all-clear of an episode that raised warnings: the ids of every level it can have reached. */
  private clearedRecord(rule: RuleConfig, subject: string, e: Episode, ts: number, ctx: RuleContext, why: string): WarningCleared {
    const ladder = levelLadder(rule.levels);
    return {
      id: stableId('vision-cleared', ctx.cameraId, rule.id, subject, e.startTs),
      schema_version: 1,
      ts,
      kind: rule.kind,
      area_id: this.config.areaId,
      source_kind: 'camera',
      source_id: ctx.cameraId,
      started_at: e.startTs,
      warning_ids: ladder
        .slice(0, e.reported + 1)
        .map((step) => stableId('vision-warning', ctx.cameraId, rule.id, subject, e.startTs, step.level)),
      reason: clip(
        `${rule.type} rule '${rule.id}' on ${ctx.cameraName}: the condition has ended (${why}); episode since ${iso(e.startTs)}`,
        500,
      ),
      produced_by: `vision-worker/${rule.type}@${VISION_RULES_VERSION}`,
      machine_made: true,
    };
  }

  /** The subject's ground point on the map: homography if calibrated, else the camera's location. */
  private locate(d: Decision, ctx: RuleContext): { lon: number; lat: number; how: string } {
    const point: Point =
      d.track !== undefined
        ? [(d.track.x1 + d.track.x2) / 2, d.track.y2]
        : d.zone !== undefined
          ? polygonCentroid(d.zone.polygon)
          : d.line !== undefined
            ? [(d.line.from[0] + d.line.to[0]) / 2, (d.line.from[1] + d.line.to[1]) / 2]
            : [0.5, 0.5];
    const h = this.config.homography;
    if (h !== undefined) {
      const ll = applyHomography(h, point[0], point[1]);
      if (ll !== undefined && Math.abs(ll[0]) <= 180 && Math.abs(ll[1]) <= 90) {
        return {
          lon: ll[0],
          lat: ll[1],
          how: `placed by the camera's homography from image point (${point[0].toFixed(3)}, ${point[1].toFixed(3)})`,
        };
      }
    }
    const loc = this.config.location;
    if (loc !== undefined)
      return {
        ...loc,
        how: `placed at the camera's location (${h === undefined ? 'no homography configured' : 'the homography maps this point off the map'})`,
      };
    return {
      ...ctx.fallbackLocation,
      how: `camera location unknown (no Camera record on city.dimensions and none configured): placed at the fallback location`,
    };
  }
}

interface Decision {
  rule: RuleConfig;
  subject: string;
  ts: number;
  value: number;
  level: WarningLevel;
  threshold: number;
  lowest: number;
  previous: WarningLevel | undefined;
  episode: Episode;
  tracks: readonly Track[];
  zone: ZoneConfig | undefined;
  track: Track | undefined;
  line: { from: Point; to: Point; name: string; id: string } | undefined;
}

interface Measure {
  metric: string;
  fmt: (v: number) => string;
  describe: (v: number, what: string, where: string, rule: RuleConfig) => string;
  short: (v: number, what: string) => string;
}

const seconds: Pick<Measure, 'fmt'> = { fmt: (v) => fmtS(v) };
const count: Pick<Measure, 'fmt'> = { fmt: (v) => String(Math.round(v)) };

const MEASURES: Readonly<Record<RuleConfig['type'], Measure>> = {
  intrusion: {
    metric: 'intrusion_s',
    ...seconds,
    describe: (v, what, where) => `${what} inside ${where} for ${fmtS(v)}`,
    short: (v, what) => `${what} in zone (${fmtS(v)})`,
  },
  loitering: {
    metric: 'dwell_s',
    ...seconds,
    describe: (v, what, where) => `${what} has stayed in ${where} for ${fmtS(v)}`,
    short: (v, what) => `${what} dwelling ${fmtS(v)}`,
  },
  crowd: {
    metric: 'crowd_count',
    ...count,
    describe: (v, what, where) => `${Math.round(v)} ${what} in ${where}`,
    short: (v, what) => `${Math.round(v)} ${what}`,
  },
  queue: {
    metric: 'queue_length',
    ...count,
    describe: (v, what, where) => `queue of ${Math.round(v)} ${what} in ${where}`,
    short: (v) => `queue of ${Math.round(v)}`,
  },
  'stopped-vehicle': {
    metric: 'stopped_s',
    ...seconds,
    describe: (v, what, where, rule) => `${what} stopped (speed ≤ ${rule.maxSpeed} box heights/s) in ${where} for ${fmtS(v)}`,
    short: (v, what) => `${what} stopped ${fmtS(v)}`,
  },
  'line-crossing': {
    metric: 'line_crossings',
    ...count,
    describe: (v, what, where, rule) =>
      `${Math.round(v)} ${what} crossed ${where} ${rule.direction === 'any' ? 'in either direction' : rule.direction} within ${fmtS(rule.windowMs / 1000)}`,
    short: (v) => `${Math.round(v)} crossings`,
  },
};

function inside(zone: ZoneConfig, t: Track): boolean {
  return pointInPolygon((t.x1 + t.x2) / 2, t.y2, zone.polygon);
}

function fmtS(s: number): string {
  if (s < 60) return `${s < 10 ? s.toFixed(1).replace(/\.0$/, '') : Math.round(s)} s`;
  if (s < 3600) return `${(s / 60).toFixed(1).replace(/\.0$/, '')} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function iso(ts: number): string {
  return new Date(ts).toISOString().replace('.000Z', 'Z');
}
