import { describe, expect, it } from 'vitest';
import { CoMovementMonitor, type CoMovementBreak } from './co-movement.js';
import { gaussian } from './test-series.js';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 5, 1, 9, 0);

/**
 * Three minute-tick prices: pork and feed share a common factor (returns correlated ≈ 0.9),
 * an unrelated index moves on its own. From `breakAt` on, pork follows its own shocks (and,
 * when `drift`, climbs 0.3% a minute) while feed keeps following the factor.
 */
function market(minutes: number, breakAt: number, seed: number, drift = true): { id: string; minute: number; value: number }[] {
  const noise = gaussian(seed);
  let pork = 20;
  let feed = 3;
  let index = 1000;
  const out: { id: string; minute: number; value: number }[] = [];
  for (let m = 0; m < minutes; m++) {
    const factor = 0.002 * noise();
    const own = 0.0007 * noise();
    const split = m >= breakAt;
    pork *= 1 + (split ? 0.002 * noise() + (drift ? 0.003 : 0) : factor + own);
    feed *= 1 + factor + 0.0007 * noise();
    index *= 1 + 0.002 * noise();
    out.push({ id: 'pork', minute: m, value: pork }, { id: 'feed', minute: m, value: feed }, { id: 'index', minute: m, value: index });
  }
  return out;
}

function run(monitor: CoMovementMonitor, ticks: { id: string; minute: number; value: number }[]): CoMovementBreak[] {
  const breaks: CoMovementBreak[] = [];
  // Ticks a few seconds apart inside each minute, in a different order per indicator.
  for (const t of ticks) breaks.push(...monitor.observe(t.id, T0 + t.minute * MINUTE + (t.id === 'feed' ? 40_000 : 5_000), t.value));
  return breaks;
}

describe('co-movement breaks', () => {
  it('flags the pair that decoupled, with the usual and current correlation and the move', () => {
    const monitor = new CoMovementMonitor();
    const breaks = run(monitor, market(420, 320, 5));
    expect(breaks.length).toBeGreaterThan(0);
    for (const b of breaks) expect([b.a, b.b].sort()).toEqual(['feed', 'pork']);
    const first = breaks[0]!;
    // Not before the current window holds mostly decoupled bars, and well before it is all of them.
    expect(first.ts).toBeGreaterThan(T0 + 320 * MINUTE);
    expect(first.ts).toBeLessThan(T0 + 350 * MINUTE);
    expect(first.usual).toBeGreaterThan(0.8);
    expect(first.current).toBeLessThan(first.usual - 0.6);
    expect(first.drop).toBeCloseTo(first.usual - first.current, 12);
    expect(first.usualBars).toBe(210);
    expect(first.currentBars).toBe(30);
    const last = breaks.at(-1)!;
    // Pork climbed about 0.3% a bar over the 30-bar current window; feed did not follow.
    expect(last.a === 'pork' ? last.moveA : last.moveB).toBeGreaterThan(0.05);
    expect(Math.abs(last.a === 'feed' ? last.moveA : last.moveB)).toBeLessThan(0.05);
    expect(last.current).toBeLessThan(0.3);
  });

  it('stays quiet while the pair keeps moving together, and for pairs that never did', () => {
    expect(run(new CoMovementMonitor(), market(420, 10_000, 6))).toEqual([]);
  });

  it('sees a negatively correlated pair that stops mirroring', () => {
    const noise = gaussian(8);
    const monitor = new CoMovementMonitor({ currentBars: 20, usualBars: 160 });
    let a = 100;
    let b = 100;
    const breaks: CoMovementBreak[] = [];
    for (let m = 0; m < 260; m++) {
      const f = 0.003 * noise();
      a *= 1 + f + 0.0005 * noise();
      b *= 1 + (m < 200 ? -f : 0.003 * noise()) + 0.0005 * noise();
      breaks.push(...monitor.observe('a', T0 + m * MINUTE, a), ...monitor.observe('b', T0 + m * MINUTE + 1, b));
    }
    expect(breaks.length).toBeGreaterThan(0);
    expect(breaks[0]!.usual).toBeLessThan(-0.8);
    expect(breaks[0]!.drop).toBeGreaterThanOrEqual(0.6);
  });

  it('waits for late ticks of other indicators before closing a bar, and judges nothing across a feed gap', () => {
    const monitor = new CoMovementMonitor({ latenessMs: 2 * MINUTE });
    // Only a tick 2 minutes past the end of bar 0 closes it.
    monitor.observe('x', T0, 1);
    monitor.observe('y', T0 + 10, 1);
    expect(monitor.observe('x', T0 + 2 * MINUTE, 1.01)).toEqual([]);
    // A day without ticks: 1,440 bars closed with carried closes, no pair judged, no error.
    const after = run(
      monitor,
      market(5, 10_000, 9).map((t) => ({ ...t, minute: t.minute + 1440 })),
    );
    expect(after).toEqual([]);
    expect(monitor.trackedCount).toBe(5);
  });

  it('refuses a policy it cannot run, saying what was expected', () => {
    expect(() => new CoMovementMonitor({ currentBars: 2 })).toThrow(/'currentBars': expected a whole number ≥ 5; got 2/);
    expect(() => new CoMovementMonitor({ minDrop: 3 })).toThrow(/'minDrop': expected in \(0, 2\]; got 3/);
  });
});
