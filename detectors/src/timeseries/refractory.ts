/**
 * One alarm per event. An anomaly (a jump, a burst) keeps the likelihood high for many points;
 * a person, the episode tracker and NAB alike want to hear of it once, at its onset. Each series
 * keeps the last reported peak, decaying geometrically per point; a score above it is reported
 * and becomes the new peak, a score below it is reported scaled by `suppressedFactor`. A score at
 * or above `alarmLevel` (the detector's threshold) raises the peak to 2, above any score: the alarm
 * is given, and neither the event's further rise nor its saturation at 1 gives it again. A lasting
 * anomaly is re-reported once the peak has decayed below it (≥ ln 2 / −ln(decay) points later).
 */
export function refractoryStep(
  peak: Float64Array,
  s: number,
  score: number,
  decay: number,
  suppressedFactor: number,
  alarmLevel: number,
): number {
  const p = peak[s]! * decay;
  if (score > p) {
    peak[s] = score >= alarmLevel ? 2 : score;
    return score;
  }
  peak[s] = p;
  return score * suppressedFactor;
}
