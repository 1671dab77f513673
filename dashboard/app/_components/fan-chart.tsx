'use client';

import { WARNING_LEVEL_INFO, type EarlyWarning, type Forecast, type MarketTick } from '@cityops/schemas';

/*
 * A forecast fan chart in plain SVG (no chart library: nothing to download, nothing to audit):
 * realised values as a line, one forecast path as its mean line over its shaded 95% interval,
 * the indicator's risk thresholds as dashed lines, and market warnings as ticks on the time axis
 * in their level colours. Scales are linear; the view box is fixed and the SVG scales to its box.
 */

const W = 960;
const H = 360;
const PAD = { left: 64, right: 16, top: 16, bottom: 40 };

export interface FanChartText {
  actual: string;
  forecastMean: string;
  interval95: string;
  riskBand: string;
  noData: string;
}

export function FanChart(props: {
  ticks: readonly MarketTick[];
  path: readonly Forecast[];
  warnings: readonly EarlyWarning[];
  riskUpper: number;
  riskLower: number;
  fromMs: number;
  toMs: number;
  unit: string;
  text: FanChartText;
  formatTime: (ms: number) => string;
}) {
  const { ticks, path, warnings, fromMs, toMs, text } = props;
  const values = [...ticks.map((t) => t.value), ...path.flatMap((f) => [f.lower, f.upper])];
  if (values.length === 0) {
    return (
      <div className="fan-chart-empty" data-testid="fan-chart-empty">
        {text.noData}
      </div>
    );
  }
  // Risk thresholds stay in view only when they are near the data (a 0 lower bound would squash it).
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  const span0 = Math.max(hi - lo, Math.abs(hi) * 0.01, 1e-9);
  for (const r of [props.riskUpper, props.riskLower]) {
    if (Number.isFinite(r) && r !== 0 && r >= lo - span0 && r <= hi + span0) {
      lo = Math.min(lo, r);
      hi = Math.max(hi, r);
    }
  }
  const margin = (hi - lo || Math.abs(hi) || 1) * 0.08;
  lo -= margin;
  hi += margin;
  const x = (ms: number) => PAD.left + ((ms - fromMs) / (toMs - fromMs)) * (W - PAD.left - PAD.right);
  const y = (v: number) => PAD.top + ((hi - v) / (hi - lo)) * (H - PAD.top - PAD.bottom);
  const line = (pts: readonly [number, number][]) =>
    pts.map(([a, b], i) => `${i === 0 ? 'M' : 'L'}${a.toFixed(1)},${b.toFixed(1)}`).join('');
  const band =
    path.length === 0
      ? ''
      : `${line(path.map((f) => [x(f.target_ts), y(f.upper)]))}${path
          .slice()
          .reverse()
          .map((f) => `L${x(f.target_ts).toFixed(1)},${y(f.lower).toFixed(1)}`)
          .join('')}Z`;
  const yTicks = Array.from({ length: 5 }, (_, i) => lo + ((hi - lo) * i) / 4);
  const xTicks = Array.from({ length: 5 }, (_, i) => fromMs + ((toMs - fromMs) * i) / 4);
  const digits = hi - lo < 1 ? 3 : hi - lo < 20 ? 2 : 0;

  return (
    <svg
      className="fan-chart"
      viewBox={`0 0 ${W} ${H}`}
      role="img"
      aria-label={`${text.actual}, ${text.forecastMean}, ${text.interval95}`}
      data-testid="fan-chart"
    >
      <rect x={PAD.left} y={PAD.top} width={W - PAD.left - PAD.right} height={H - PAD.top - PAD.bottom} className="fan-frame" />
      {yTicks.map((v) => (
        <g key={`y${v}`}>
          <line x1={PAD.left} x2={W - PAD.right} y1={y(v)} y2={y(v)} className="fan-grid" />
          <text x={PAD.left - 6} y={y(v) + 4} textAnchor="end" className="fan-label">
            {v.toFixed(digits)}
          </text>
        </g>
      ))}
      {xTicks.map((ms, i) => (
        <text
          key={`x${ms}`}
          x={x(ms)}
          y={H - PAD.bottom + 18}
          textAnchor={i === 0 ? 'start' : i === xTicks.length - 1 ? 'end' : 'middle'}
          className="fan-label"
        >
          {props.formatTime(ms)}
        </text>
      ))}
      {[props.riskUpper, props.riskLower].map((r, i) =>
        Number.isFinite(r) && r !== 0 && r > lo && r < hi ? (
          <line key={`risk${i}`} x1={PAD.left} x2={W - PAD.right} y1={y(r)} y2={y(r)} className="fan-risk" data-testid="fan-risk">
            <title>{`${text.riskBand}: ${r}`}</title>
          </line>
        ) : null,
      )}
      {band !== '' && (
        <path d={band} className="fan-band" data-testid="fan-band">
          <title>{text.interval95}</title>
        </path>
      )}
      {path.length > 0 && <path d={line(path.map((f) => [x(f.target_ts), y(f.mean)]))} className="fan-mean" data-testid="fan-mean" />}
      {ticks.length > 0 && <path d={line(ticks.map((t) => [x(t.ts), y(t.value)]))} className="fan-actual" data-testid="fan-actual" />}
      {warnings
        .filter((w) => w.ts >= fromMs && w.ts <= toMs)
        .map((w) => (
          <line
            key={w.id}
            x1={x(w.ts)}
            x2={x(w.ts)}
            y1={H - PAD.bottom}
            y2={H - PAD.bottom - 14}
            stroke={WARNING_LEVEL_INFO[w.level].colorHex}
            strokeWidth={4}
            data-testid="fan-warning"
          >
            <title>{w.title}</title>
          </line>
        ))}
      <g className="fan-legend" transform={`translate(${PAD.left + 10}, ${PAD.top + 10})`}>
        <line x1={0} x2={24} y1={6} y2={6} className="fan-actual" />
        <text x={30} y={10} className="fan-label">
          {text.actual}
        </text>
        <rect x={110} y={0} width={24} height={12} className="fan-band" />
        <line x1={110} x2={134} y1={6} y2={6} className="fan-mean" />
        <text x={140} y={10} className="fan-label">
          {text.forecastMean} · {text.interval95} ({props.unit})
        </text>
      </g>
    </svg>
  );
}
