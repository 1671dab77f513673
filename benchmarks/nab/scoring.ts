/**
 * The Numenta Anomaly Benchmark's scoring, reimplemented to match NAB v1.1 (numenta/NAB,
 * nab/sweeper.py, nab/optimizer.py, nab/runner.py; Lavin & Ahmad 2015):
 *
 * - The first min(⌊15% of rows⌋, 750) rows of each file are probation: never scored, and a window
 *   that lies in them counts neither as found nor as missed.
 * - A row whose anomaly score is at or above the threshold is a detection. Per window only the
 *   earliest detection counts: tpWeight · σ̃(position) / σ̃(−1), where position runs from −1 at
 *   the window's first row towards 0 after its last, and σ̃(y) = 2/(1 + e^{5y}) − 1 (the scaled
 *   sigmoid). A window with no detection costs fnWeight.
 * - Every detection outside a window costs fpWeight · σ̃(distance past the previous window's end
 *   / (its width − 1)): an alarm just after a window is forgiven almost entirely, one far away or
 *   before any window costs the full fpWeight. True negatives score 0.
 * - The threshold is chosen once per profile for the whole corpus (the one that maximises the
 *   summed raw score), and the raw score is normalised so the null detector (one that never
 *   fires) scores 0 and a perfect one (each window found at its first row, no false alarm) 100.
 *
 * The sweep follows NAB's code rather than its paper where they differ: the window position is
 * −(rightIndex − i + 1) / width (so the first row of a window scores exactly tpWeight), windows
 * are entered when a row's timestamp equals the window's start and left at the first row equal to
 * its end, and the corpus-wide sweep scores every distinct anomaly score as a threshold.
 */

export interface NabCostMatrix {
  tpWeight: number;
  fpWeight: number;
  fnWeight: number;
}

export interface NabProfile {
  name: string;
  costMatrix: NabCostMatrix;
}

/** NAB's three application profiles (config/profiles.json); tnWeight is unused by the scorer. */
export const NAB_PROFILES: readonly NabProfile[] = [
  { name: 'reward_low_FN_rate', costMatrix: { tpWeight: 1, fpWeight: 0.11, fnWeight: 2 } },
  { name: 'reward_low_FP_rate', costMatrix: { tpWeight: 1, fpWeight: 0.22, fnWeight: 1 } },
  { name: 'standard', costMatrix: { tpWeight: 1, fpWeight: 0.11, fnWeight: 1 } },
];

/** NAB's probationary fraction of each file. */
export const PROBATION_FRACTION = 0.15;

/** One file's rows and labels, in file order. */
export interface NabFile {
  /** Unique per corpus (e.g. 'realTweets/Twitter_volume_AAPL.csv'); names the windows. */
  name: string;
  /** Row timestamps in file order (epoch ms); may repeat or go backwards, as some NAB files do. */
  timestamps: Float64Array;
  /** Anomaly score per row, in [0, 1]. */
  scores: Float64Array;
  /** Anomaly windows as [start, end] timestamps (epoch ms), ascending. */
  windows: readonly (readonly [number, number])[];
}

/** Rows of probation: min(⌊15% of rows⌋, 15% of 5000). */
export function probationaryLength(rows: number): number {
  return Math.min(Math.floor(PROBATION_FRACTION * rows), PROBATION_FRACTION * 5000);
}

/** NAB's scaled sigmoid: 0.98661 at −1 (a window's first row), 0 at 0, −1 beyond 3. */
export function scaledSigmoid(relativePosition: number): number {
  if (relativePosition > 3) return -1;
  return 2 / (1 + Math.exp(5 * relativePosition)) - 1;
}

/** Window id marking a row in probation; −1 marks a row outside every window. */
const PROBATION = -2;
const OUTSIDE = -1;

/** Rows of a whole corpus, ready for the threshold sweep. */
export interface SweepRows {
  anomalyScore: Float64Array;
  /** The row's NAB contribution if it were a detection (already weighted by the profile). */
  sweepScore: Float64Array;
  /** Corpus-wide window index, OUTSIDE (−1) or PROBATION (−2). */
  window: Int32Array;
  /** Number of windows in the corpus (all of them, scored or not). */
  windowCount: number;
}

/** NAB's Sweeper.calcSweepScore over every file, concatenated. */
export function sweepCorpus(files: readonly NabFile[], cost: NabCostMatrix): SweepRows {
  let total = 0;
  for (const f of files) {
    if (f.scores.length !== f.timestamps.length) {
      throw new Error(`${f.name}: expected one score per row (${f.timestamps.length}); got ${f.scores.length}`);
    }
    total += f.timestamps.length;
  }
  const anomalyScore = new Float64Array(total);
  const sweepScore = new Float64Array(total);
  const window = new Int32Array(total);
  const maxTP = scaledSigmoid(-1);
  let row = 0;
  let windowBase = 0;
  for (const f of files) {
    const ts = f.timestamps;
    const n = ts.length;
    const probation = probationaryLength(n);
    const firstIndex = (t: number): number => {
      const at = ts.indexOf(t);
      if (at < 0) throw new Error(`${f.name}: expected a row at window limit ${new Date(t).toISOString()}; none has that timestamp`);
      return at;
    };
    let next = 0;
    let curWindow = OUTSIDE;
    let curEnd = Number.NaN;
    let curRight = 0;
    let curWidth = 0;
    let prevRight = -1;
    let prevWidth = 0;
    for (let i = 0; i < n; i++) {
      const t = ts[i]!;
      const upcoming = f.windows[next];
      if (upcoming !== undefined && t === upcoming[0]) {
        curWindow = windowBase + next;
        curEnd = upcoming[1];
        curRight = firstIndex(upcoming[1]);
        curWidth = curRight - firstIndex(upcoming[0]) + 1;
        next++;
      }
      let weighted: number;
      if (curWindow !== OUTSIDE) {
        weighted = (scaledSigmoid(-(curRight - i + 1) / curWidth) * cost.tpWeight) / maxTP;
      } else if (prevRight < 0) {
        weighted = -cost.fpWeight;
      } else {
        weighted = scaledSigmoid(Math.abs(prevRight - i) / (prevWidth - 1)) * cost.fpWeight;
      }
      anomalyScore[row] = f.scores[i]!;
      sweepScore[row] = weighted;
      window[row] = i >= probation ? curWindow : PROBATION;
      row++;
      if (curWindow !== OUTSIDE && t === curEnd) {
        prevRight = i;
        prevWidth = curWidth;
        curWindow = OUTSIDE;
      }
    }
    windowBase += f.windows.length;
  }
  return { anomalyScore, sweepScore, window, windowCount: windowBase };
}

export interface ThresholdScore {
  threshold: number;
  score: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

/**
 * NAB's Sweeper.calcScoreByThreshold: walks the rows from the highest anomaly score down and
 * records the raw score for each distinct score as threshold (detections are rows ≥ threshold).
 * The first entry, threshold 1.1, is "no detection at all".
 */
export function scoreByThreshold(rows: SweepRows, cost: NabCostMatrix): ThresholdScore[] {
  const order: number[] = [];
  for (let i = 0; i < rows.window.length; i++) if (rows.window[i] !== PROBATION) order.push(i);
  order.sort((a, b) => rows.anomalyScore[b]! - rows.anomalyScore[a]!);
  // Windows that have at least one scorable row start as misses; the rest are not scored at all.
  const windowPart = new Float64Array(rows.windowCount).fill(Number.NaN);
  let tn = 0;
  let fn = 0;
  for (const i of order) {
    const w = rows.window[i]!;
    if (w >= 0) {
      windowPart[w] = -cost.fnWeight;
      fn++;
    } else tn++;
  }
  let windowSum = 0;
  for (const v of windowPart) if (!Number.isNaN(v)) windowSum += v;
  let fpSum = 0;
  let tp = 0;
  let fp = 0;
  const out: ThresholdScore[] = [];
  let threshold = 1.1;
  for (const i of order) {
    const s = rows.anomalyScore[i]!;
    if (s !== threshold) {
      out.push({ threshold, score: windowSum + fpSum, tp, fp, tn, fn });
      threshold = s;
    }
    const w = rows.window[i]!;
    if (w >= 0) {
      tp++;
      fn--;
      const before = windowPart[w]!;
      const now = rows.sweepScore[i]!;
      if (now > before) {
        windowPart[w] = now;
        windowSum += now - before;
      }
    } else {
      fp++;
      tn--;
      fpSum += rows.sweepScore[i]!;
    }
  }
  out.push({ threshold, score: windowSum + fpSum, tp, fp, tn, fn });
  return out;
}

export interface ProfileResult {
  profile: string;
  threshold: number;
  /** Raw NAB score at the chosen threshold. */
  rawScore: number;
  /** Raw score of the null detector (never fires). */
  nullScore: number;
  /** Raw score of a perfect detector: tpWeight per window. */
  perfectScore: number;
  /** 100 · (raw − null) / (perfect − null). */
  normalized: number;
  tp: number;
  fp: number;
  fn: number;
}

/** The best threshold for one profile over the whole corpus (NAB's optimizer), then normalised. */
export function scoreCorpus(files: readonly NabFile[], profile: NabProfile): ProfileResult {
  const cost = profile.costMatrix;
  const rows = sweepCorpus(files, cost);
  const sweep = scoreByThreshold(rows, cost);
  let best = sweep[0]!;
  for (const s of sweep) if (s.score > best.score) best = s;
  const nullScore = nullDetectorScore(files, profile);
  const perfectScore = rows.windowCount * cost.tpWeight;
  return {
    profile: profile.name,
    threshold: best.threshold,
    rawScore: best.score,
    nullScore,
    perfectScore,
    normalized: (100 * (best.score - nullScore)) / (perfectScore - nullScore),
    tp: best.tp,
    fp: best.fp,
    fn: best.fn,
  };
}

/**
 * NAB normalises by running its null detector (a constant 0.5 for every row) through the same
 * threshold optimisation; that is the better of "flag nothing" and "flag everything".
 */
export function nullDetectorScore(files: readonly NabFile[], profile: NabProfile): number {
  const constant = files.map((f) => ({ ...f, scores: new Float64Array(f.timestamps.length).fill(0.5) }));
  const sweep = scoreByThreshold(sweepCorpus(constant, profile.costMatrix), profile.costMatrix);
  let best = Number.NEGATIVE_INFINITY;
  for (const s of sweep) if (s.score > best) best = s.score;
  return best;
}

/** Parses NAB's timestamp format ('2014-04-10 07:15:00' or with '.000000') as UTC epoch ms. */
export function parseNabTimestamp(text: string): number {
  const t = Date.parse(`${text.trim().replace(' ', 'T')}Z`);
  if (!Number.isFinite(t)) throw new Error(`expected a timestamp like '2014-04-10 07:15:00'; got '${text}'`);
  return t;
}
