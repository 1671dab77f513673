/**
 * Familiar alarms: a series that alarms often is measured against its own alarms.
 *
 * NAB's tweet volumes burst every day, and each burst is an alarm to the ensemble's members;
 * what an operator (and NAB's labels) care about is the burst that outdoes the ones before. Each
 * series keeps the peak severity of its last `memory` alarm episodes (runs of points whose score
 * is at or above the threshold). Once it has had `minEpisodes` of them, a point of an episode
 * whose severity is not above the `quantile` of those peaks is familiar. A series that seldom
 * alarms is never judged, and an episode more severe than the usual ones is not familiar.
 * Label-free, per series, online; the state lives in the caller's per-series arrays (so it is
 * checkpointed with them).
 */

export interface FamiliarAlarmSettings {
  /** Episodes a series must have had before its alarms are judged; 0 disables. */
  minEpisodes: number;
  /** Quantile (0…1) of the remembered episode peaks that a familiar point does not exceed. */
  quantile: number;
  /** Episodes remembered per series (the ring's size). */
  memory: number;
  /** Score at or above which a point belongs to an episode. */
  threshold: number;
}

/** Per-series state, as arrays indexed by series (`severities` holds `memory` slots per series). */
export interface FamiliarAlarmState {
  /** Peak severities of the last `memory` episodes, a ring per series. */
  severities: Float64Array;
  /** Episodes recorded per series (the ring's next slot is this modulo `memory`). */
  episodes: Float64Array;
  /** Peak severity of the episode under way; NaN while none is. */
  current: Float64Array;
}

/**
 * Takes one scored point of series `s` and says whether it is a familiar alarm. `scratch` must
 * hold at least `memory` values (it is overwritten).
 */
export function isFamiliarAlarm(
  settings: FamiliarAlarmSettings,
  state: FamiliarAlarmState,
  s: number,
  score: number,
  severity: number,
  scratch: Float64Array,
): boolean {
  const { memory } = settings;
  const base = s * memory;
  const { severities, episodes, current } = state;
  if (!(score >= settings.threshold)) {
    const peak = current[s]!;
    if (peak === peak) {
      const n = episodes[s]!;
      severities[base + (n % memory)] = peak;
      episodes[s] = n + 1;
      current[s] = Number.NaN;
    }
    return false;
  }
  // A severity that is not a finite number (no scale yet) is never familiar and never remembered.
  if (!(severity - severity === 0)) return false;
  const peak = current[s]!;
  if (!(peak >= severity)) current[s] = severity;
  const seen = episodes[s]!;
  if (settings.minEpisodes === 0 || seen < settings.minEpisodes) return false;
  const n = seen < memory ? seen : memory;
  const sorted = scratch.subarray(0, n);
  sorted.set(severities.subarray(base, base + n));
  sorted.sort();
  return severity <= sorted[Math.min(n - 1, Math.floor(settings.quantile * n))]!;
}
