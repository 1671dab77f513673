import { describe, expect, it } from 'vitest';
import type { NabFile } from './scoring.js';
import {
  NAB_PROFILES,
  parseNabTimestamp,
  probationaryLength,
  scaledSigmoid,
  scoreByThreshold,
  scoreCorpus,
  sweepCorpus,
} from './scoring.js';

const STANDARD = NAB_PROFILES.find((p) => p.name === 'standard')!;
const LOW_FP = NAB_PROFILES.find((p) => p.name === 'reward_low_FP_rate')!;
const STEP = 300_000;

/** A file of `rows` rows 5 minutes apart with windows given as [first row, last row]. */
function file(name: string, rows: number, windows: [number, number][], detections: number[] = []): NabFile {
  const timestamps = Float64Array.from({ length: rows }, (_, i) => i * STEP);
  const scores = new Float64Array(rows);
  for (const d of detections) scores[d] = 1;
  return { name, timestamps, scores, windows: windows.map(([a, b]) => [a * STEP, b * STEP] as const) };
}

describe('NAB scoring', () => {
  it('uses NAB probation: 15% of rows, at most 750', () => {
    expect(probationaryLength(1000)).toBe(150);
    expect(probationaryLength(4032)).toBe(604);
    expect(probationaryLength(22695)).toBe(750);
  });

  it('has the scaled sigmoid of NAB: 0.98661 at −1, 0 at 0, −1 beyond 3', () => {
    expect(scaledSigmoid(-1)).toBeCloseTo(0.98661, 5);
    expect(scaledSigmoid(0)).toBe(0);
    expect(scaledSigmoid(-0.5)).toBeCloseTo(0.84828, 5);
    expect(scaledSigmoid(3.5)).toBe(-1);
  });

  it('scores a perfect detector 100 and one that never fires 0', () => {
    const perfect = [
      file('a', 1000, [[400, 499]], [400]),
      file(
        'b',
        1000,
        [
          [600, 649],
          [800, 849],
        ],
        [600, 800],
      ),
    ];
    expect(scoreCorpus(perfect, STANDARD).normalized).toBeCloseTo(100, 9);
    const silent = [
      file('a', 1000, [[400, 499]]),
      file('b', 1000, [
        [600, 649],
        [800, 849],
      ]),
    ];
    expect(scoreCorpus(silent, STANDARD).normalized).toBeCloseTo(0, 9);
  });

  it('rewards a detection at a window start more than one at its end', () => {
    const at = (row: number): number => scoreCorpus([file('a', 1000, [[400, 499]], [row])], STANDARD).rawScore;
    expect(at(400)).toBeCloseTo(1, 12);
    // Position −(499 − 450 + 1) / 100 = −0.5: σ̃(−0.5) / σ̃(−1).
    expect(at(450)).toBeCloseTo(scaledSigmoid(-0.5) / scaledSigmoid(-1), 12);
    expect(at(499)).toBeCloseTo(scaledSigmoid(-0.01) / scaledSigmoid(-1), 12);
    expect(at(400)).toBeGreaterThan(at(450));
    expect(at(450)).toBeGreaterThan(at(499));
  });

  it('weights a false positive by its distance past the previous window, and in full before any window', () => {
    const rows = sweepCorpus([file('a', 1000, [[400, 499]])], STANDARD.costMatrix);
    // Before the window: −fpWeight.
    expect(rows.sweepScore[300]).toBeCloseTo(-0.11, 12);
    // 50 rows after the window's last row, window width 100: σ̃(50 / 99) · fpWeight.
    expect(rows.sweepScore[549]).toBeCloseTo(scaledSigmoid(50 / 99) * 0.11, 12);
    // Far after: −fpWeight.
    expect(rows.sweepScore[950]).toBeCloseTo(-0.11, 12);
  });

  it('ignores rows in probation, detections and windows alike', () => {
    // 1000 rows → probation 150: the detection at 10 is not a false positive, and the window in
    // probation is neither found nor missed.
    const result = scoreCorpus(
      [
        file(
          'a',
          1000,
          [
            [20, 40],
            [400, 499],
          ],
          [10, 400],
        ),
      ],
      STANDARD,
    );
    expect(result.fp).toBe(0);
    expect(result.rawScore).toBeCloseTo(1, 12);
    // Perfect still counts every window (NAB normalises by all labelled windows).
    expect(result.perfectScore).toBe(2);
  });

  it('chooses the best threshold over the whole corpus, per profile', () => {
    // One real detection (score 0.9) and three false alarms (score 0.5): under 'standard'
    // (fp 0.11) taking all four still pays; under reward_low_FP (fp 0.22) it does not.
    const f = file('a', 1000, [[400, 499]]);
    f.scores[400] = 0.9;
    for (const r of [200, 250, 300]) f.scores[r] = 0.5;
    const sweep = scoreByThreshold(sweepCorpus([f], STANDARD.costMatrix), STANDARD.costMatrix);
    expect(sweep[0]).toMatchObject({ threshold: 1.1, tp: 0, fp: 0 });
    expect(scoreCorpus([f], STANDARD).threshold).toBe(0.9);
    expect(scoreCorpus([f], LOW_FP).threshold).toBe(0.9);
    f.scores[420] = 0.5;
    // At 0.5 the window's best detection is still the one at 400.
    const low = scoreByThreshold(sweepCorpus([f], STANDARD.costMatrix), STANDARD.costMatrix).find((s) => s.threshold === 0.5)!;
    expect(low.score).toBeCloseTo(1 - 3 * 0.11, 12);
  });

  it('follows NAB on repeated timestamps: a window is entered at the first matching row', () => {
    const f = file('a', 1000, [[400, 499]]);
    f.timestamps[401] = f.timestamps[400]!;
    const rows = sweepCorpus([f], STANDARD.costMatrix);
    expect(rows.window[399]).toBe(-1);
    expect(rows.window[400]).toBe(0);
    expect(rows.window[401]).toBe(0);
  });

  it('parses NAB timestamps as UTC', () => {
    expect(parseNabTimestamp('2014-04-10 07:15:00.000000')).toBe(Date.UTC(2014, 3, 10, 7, 15));
    expect(parseNabTimestamp('2014-04-10 07:15:00')).toBe(Date.UTC(2014, 3, 10, 7, 15));
    expect(() => parseNabTimestamp('yesterday')).toThrow(/expected a timestamp/);
  });
});
