import { describe, expect, it } from 'vitest';
import { isFamiliarAlarm, type FamiliarAlarmSettings, type FamiliarAlarmState } from './familiar-alarms.js';

const SETTINGS: FamiliarAlarmSettings = { minEpisodes: 4, quantile: 0.5, memory: 6, threshold: 0.5 };

function fresh(series = 2, memory = SETTINGS.memory): FamiliarAlarmState {
  return {
    severities: new Float64Array(series * memory),
    episodes: new Float64Array(series),
    current: new Float64Array(series).fill(Number.NaN),
  };
}

/** Feeds one episode of `severities` (scores at the threshold) and the quiet point that ends it; returns each point's verdict. */
function episode(state: FamiliarAlarmState, s: number, severities: readonly number[], settings = SETTINGS): boolean[] {
  const scratch = new Float64Array(settings.memory);
  const verdicts = severities.map((sev) => isFamiliarAlarm(settings, state, s, 0.9, sev, scratch));
  expect(isFamiliarAlarm(settings, state, s, 0.1, 0, scratch)).toBe(false);
  return verdicts;
}

describe('familiar alarms', () => {
  it('judges nothing until the series has had minEpisodes episodes', () => {
    const state = fresh();
    for (const peak of [5, 6, 7]) expect(episode(state, 0, [1, peak])).toEqual([false, false]);
    expect(state.episodes[0]).toBe(3);
    // The fourth episode is not judged either: only episodes that have ended count.
    expect(episode(state, 0, [1])).toEqual([false]);
    expect(state.episodes[0]).toBe(4);
  });

  it('calls a point familiar when it is not above the quantile of past episode peaks, and a larger one not', () => {
    const state = fresh();
    for (const peak of [10, 20, 30, 40]) episode(state, 0, [peak]);
    // Peaks sorted 10 20 30 40: the 0.5 quantile is the third, 30.
    expect(episode(state, 0, [25, 30, 31])).toEqual([true, true, false]);
    // That episode's peak (31) is remembered: the quantile of 10 20 30 31 40 is now 30.
    expect(Array.from(state.severities.subarray(0, 5))).toEqual([10, 20, 30, 40, 31]);
    expect(episode(state, 0, [30.5])).toEqual([false]);
  });

  it('remembers only the last `memory` episodes, per series', () => {
    const state = fresh();
    for (const peak of [100, 100, 1, 2, 3, 4, 5, 6]) episode(state, 1, [peak]);
    // The two 100s left the ring: the quantile of 1…6 is 4, so 50 is not familiar any more.
    expect(episode(state, 1, [50, 4])).toEqual([false, true]);
    // Series 0 saw none of it.
    expect(state.episodes[0]).toBe(0);
    expect(episode(state, 0, [1])).toEqual([false]);
  });

  it('neither judges nor remembers a severity that is not a finite number', () => {
    const state = fresh();
    for (const peak of [1, 2, 3, 4]) episode(state, 0, [peak]);
    expect(episode(state, 0, [Number.NaN, Number.POSITIVE_INFINITY])).toEqual([false, false]);
    // An episode with no finite severity leaves no peak behind.
    expect(state.episodes[0]).toBe(4);
  });

  it('is off at minEpisodes 0', () => {
    const off = { ...SETTINGS, minEpisodes: 0 };
    const state = fresh();
    for (const peak of [10, 20, 30, 40, 50]) episode(state, 0, [peak], off);
    expect(episode(state, 0, [1], off)).toEqual([false]);
  });
});
