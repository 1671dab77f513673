import { DetectorError } from '../errors.js';
import { iou } from './nms.js';
import type { Detection } from './vision-model.js';

/**
 * A ByteTrack-style multi-object tracker for one camera (Zhang et al. 2022, "ByteTrack:
 * Multi-Object Tracking by Associating Every Detection Box"), in normalised source coordinates.
 *
 * - Motion: a constant-velocity α-β filter on the box centre (the SORT idea, Bewley et al. 2016,
 *   without the full Kalman covariance): predict by velocity × elapsed time — frames can be
 *   dropped under load, so time, not frame count, is the step — then blend with the matched box.
 * - Association in two stages, as ByteTrack: high-score detections against all tracks (tracked
 *   and recently lost) by IoU; then low-score detections (which are often occluded objects, not
 *   noise) against the tracks still unmatched, with a stricter IoU. Low-score detections never
 *   start tracks.
 * - Class-aware: a track only takes boxes of its class, so a person and a bicycle crossing do
 *   not swap ids (ByteTrack itself is class-agnostic, for the single-class MOT benchmarks).
 * - Matching is greedy by IoU, best pair first — ByteTrack uses the Hungarian algorithm; at the
 *   IoU gates used here (≥ 0.2 overlap after motion prediction) the two rarely differ, and greedy
 *   is deterministic, allocation-light and needs no solver.
 * - Lifecycle: a new track is tentative until it is matched `minHits` frames in a row (a single
 *   false positive never gets an id), then tracked; an unmatched tracked track is lost and is
 *   removed after `lostTimeoutMs` without a match.
 */

export interface TrackerConfig {
  /** Detections at or above this score take part in the first association. Default 0.5. */
  highScore: number;
  /** Detections below this are ignored; between it and highScore they only continue tracks. Default 0.1. */
  lowScore: number;
  /** Smallest score that starts a new track (ByteTrack: highScore + 0.1). Default 0.6. */
  newTrackScore: number;
  /** Smallest IoU for a first-stage match (ByteTrack match_thresh 0.8 as a cost = 1 − IoU). Default 0.2. */
  matchIou: number;
  /** Smallest IoU for a second-stage (low-score) match (cost 0.5). Default 0.5. */
  lowMatchIou: number;
  /** Consecutive matches before a track gets reported. Default 2. */
  minHits: number;
  /** How long a lost track can be found again, ms (ByteTrack: 30 frames at 30 fps). Default 1500. */
  lostTimeoutMs: number;
  /** Weight of the measurement in the position update (α). Default 0.8. */
  positionGain: number;
  /** Weight of the measured velocity in the velocity update (β). Default 0.4. */
  velocityGain: number;
}

export const TRACKER_DEFAULTS: Readonly<TrackerConfig> = {
  highScore: 0.5,
  lowScore: 0.1,
  newTrackScore: 0.6,
  matchIou: 0.2,
  lowMatchIou: 0.5,
  minHits: 2,
  lostTimeoutMs: 1500,
  positionGain: 0.8,
  velocityGain: 0.4,
};

export function validateTrackerConfig(c: TrackerConfig): TrackerConfig {
  const problems: string[] = [];
  const unit = (k: keyof TrackerConfig): void => {
    const v = c[k];
    if (!(v >= 0 && v <= 1)) problems.push(`'${k}': expected 0…1; got ${v}`);
  };
  for (const k of ['highScore', 'lowScore', 'newTrackScore', 'matchIou', 'lowMatchIou', 'positionGain', 'velocityGain'] as const) unit(k);
  if (c.lowScore > c.highScore) problems.push(`'lowScore' (${c.lowScore}): expected at most highScore (${c.highScore})`);
  if (!(Number.isInteger(c.minHits) && c.minHits >= 1 && c.minHits <= 100))
    problems.push(`'minHits': expected a whole number 1…100; got ${c.minHits}`);
  if (!(c.lostTimeoutMs >= 0 && c.lostTimeoutMs <= 600_000)) problems.push(`'lostTimeoutMs': expected 0…600000; got ${c.lostTimeoutMs}`);
  if (problems.length > 0) throw new DetectorError('invalid-config', `invalid tracker config: ${problems.join('; ')}`);
  return c;
}

export type TrackState = 'tentative' | 'tracked' | 'lost';

export interface Track {
  /** Stable for the track's life, unique per camera tracker. */
  readonly id: string;
  readonly classId: number;
  readonly className: string;
  state: TrackState;
  /** Score of the last matched detection. */
  score: number;
  /** Box of the last update (filtered), normalised to the source image. */
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  /** Centre velocity, normalised units per second. */
  vx: number;
  vy: number;
  hits: number;
  firstSeenTs: number;
  /** Time of the last matched detection. */
  lastSeenTs: number;
  /** Filtered centre at lastSeenTs; the box above is this moved by the velocity to the latest frame. */
  anchorX: number;
  anchorY: number;
  /** Whether this track was matched in the latest update. */
  matched: boolean;
}

export interface TrackerUpdate {
  /** Confirmed tracks matched in this frame (what rules and detections report). */
  active: Track[];
  /** Tracks ended in this update (lost too long, or a tentative track that was not confirmed). */
  removed: Track[];
}

interface Pair {
  iou: number;
  t: number;
  d: number;
}

export class ByteTracker {
  private readonly config: TrackerConfig;
  private tracks: Track[] = [];
  private nextId = 1;
  private lastTs: number | undefined;

  constructor(config: Partial<TrackerConfig> = {}) {
    this.config = validateTrackerConfig({ ...TRACKER_DEFAULTS, ...config });
  }

  /** Tracks alive (tentative, tracked or lost). */
  get size(): number {
    return this.tracks.length;
  }

  /**
   * Feeds one frame's detections (normalised boxes) taken at `ts`. Frames must come in time
   * order; an older frame (a replay) is ignored and returns nothing.
   */
  update(detections: readonly Detection[], ts: number): TrackerUpdate {
    const c = this.config;
    if (this.lastTs !== undefined && ts < this.lastTs) return { active: [], removed: [] };
    this.lastTs = ts;
    for (const t of this.tracks) {
      t.matched = false;
      predict(t, ts);
    }
    const high: number[] = [];
    const low: number[] = [];
    detections.forEach((d, i) => {
      if (d.score >= c.highScore) high.push(i);
      else if (d.score >= c.lowScore) low.push(i);
    });
    const detUsed = new Uint8Array(detections.length);

    // Stage 1: high-score detections against confirmed tracks (tracked and lost).
    const confirmed = this.tracks.filter((t) => t.state !== 'tentative');
    this.associate(confirmed, detections, high, c.matchIou, detUsed, ts);
    // Stage 2: low-score detections against tracks that were tracked in the last frame and are still unmatched.
    const stillTracked = confirmed.filter((t) => !t.matched && t.state === 'tracked');
    this.associate(stillTracked, detections, low, c.lowMatchIou, detUsed, ts);
    // Tentative tracks take remaining high-score detections.
    const tentative = this.tracks.filter((t) => t.state === 'tentative');
    this.associate(tentative, detections, high, c.matchIou, detUsed, ts);

    const removed: Track[] = [];
    const kept: Track[] = [];
    for (const t of this.tracks) {
      if (t.matched) {
        if (t.state === 'tentative' && t.hits >= c.minHits) t.state = 'tracked';
        if (t.state === 'lost') t.state = 'tracked';
        kept.push(t);
      } else if (t.state === 'tentative') {
        removed.push(t);
      } else if (ts - t.lastSeenTs > c.lostTimeoutMs) {
        removed.push(t);
      } else {
        t.state = 'lost';
        kept.push(t);
      }
    }
    // New tracks from unmatched high-score detections.
    for (const i of high) {
      const d = detections[i]!;
      if (detUsed[i] === 1 || d.score < c.newTrackScore) continue;
      const t: Track = {
        id: String(this.nextId++),
        classId: d.classId,
        className: d.className,
        state: c.minHits <= 1 ? 'tracked' : 'tentative',
        score: d.score,
        x1: d.x1,
        y1: d.y1,
        x2: d.x2,
        y2: d.y2,
        vx: 0,
        vy: 0,
        hits: 1,
        firstSeenTs: ts,
        lastSeenTs: ts,
        anchorX: (d.x1 + d.x2) / 2,
        anchorY: (d.y1 + d.y2) / 2,
        matched: true,
      };
      kept.push(t);
    }
    this.tracks = kept;
    return { active: kept.filter((t) => t.matched && t.state === 'tracked'), removed };
  }

  /** Greedy IoU matching, best pair first, same class only; updates matched tracks. */
  private associate(
    tracks: readonly Track[],
    dets: readonly Detection[],
    candidates: readonly number[],
    minIou: number,
    used: Uint8Array,
    ts: number,
  ): void {
    if (tracks.length === 0 || candidates.length === 0) return;
    const pairs: Pair[] = [];
    for (let t = 0; t < tracks.length; t++) {
      const track = tracks[t]!;
      if (track.matched) continue;
      for (const d of candidates) {
        if (used[d] === 1 || dets[d]!.classId !== track.classId) continue;
        const v = iou(track, dets[d]!);
        if (v >= minIou && v > 0) pairs.push({ iou: v, t, d });
      }
    }
    pairs.sort((a, b) => b.iou - a.iou || a.t - b.t || a.d - b.d);
    for (const p of pairs) {
      const track = tracks[p.t]!;
      if (track.matched || used[p.d] === 1) continue;
      used[p.d] = 1;
      this.correct(track, dets[p.d]!, ts);
    }
  }

  /** α-β update of a predicted track with its matched detection. */
  private correct(t: Track, d: Detection, ts: number): void {
    const { positionGain: a, velocityGain: b } = this.config;
    const dt = (ts - t.lastSeenTs) / 1000;
    const pcx = (t.x1 + t.x2) / 2;
    const pcy = (t.y1 + t.y2) / 2;
    const mcx = (d.x1 + d.x2) / 2;
    const mcy = (d.y1 + d.y2) / 2;
    if (dt > 0) {
      // Residual against the prediction, turned into a velocity correction.
      t.vx += (b * (mcx - pcx)) / dt;
      t.vy += (b * (mcy - pcy)) / dt;
    }
    const cx = pcx + a * (mcx - pcx);
    const cy = pcy + a * (mcy - pcy);
    const w = t.x2 - t.x1 + a * (d.x2 - d.x1 - (t.x2 - t.x1));
    const h = t.y2 - t.y1 + a * (d.y2 - d.y1 - (t.y2 - t.y1));
    t.x1 = cx - w / 2;
    t.x2 = cx + w / 2;
    t.y1 = cy - h / 2;
    t.y2 = cy + h / 2;
    t.score = d.score;
    t.hits++;
    t.anchorX = cx;
    t.anchorY = cy;
    t.lastSeenTs = ts;
    t.matched = true;
  }
}

/** Moves a track's box to where its velocity puts it at `ts`, from its centre at the last match. */
function predict(t: Track, ts: number): void {
  const dt = (ts - t.lastSeenTs) / 1000;
  const w = t.x2 - t.x1;
  const h = t.y2 - t.y1;
  const cx = t.anchorX + t.vx * dt;
  const cy = t.anchorY + t.vy * dt;
  t.x1 = cx - w / 2;
  t.x2 = cx + w / 2;
  t.y1 = cy - h / 2;
  t.y2 = cy + h / 2;
}
