import { afterEach, describe, expect, it } from 'vitest';
import { createInProcessBus, type Bus, type BusError, type OutgoingMessage, type Producer } from '@cityops/bus';
import {
  DEFAULT_PARTITIONS,
  EarlyWarning as EarlyWarningSchema,
  Forecast as ForecastSchema,
  SCHEMA_HEADER,
  TOPICS,
  decodeRecord,
  encodeDimension,
  encodeRecord,
  levelRank,
  stableId,
  type EarlyWarning,
  type Forecast,
  type Indicator,
  type MarketTick,
  type RunningWorker,
} from '@cityops/schemas';
import { startForecastWorker, trainEnsemble, type ForecastWorkerOptions } from '../../src/index.js';

/*
 * The forecast worker end to end on the in-process bus: indicators and ticks in, forecasts,
 * warnings and dead letters out, read back as a downstream role would.
 */

const T0 = Date.UTC(2026, 5, 1, 9, 0);
const MINUTE = 60_000;
const CENTER = { lon: 121.4737, lat: 31.2304 };
const ALL_TOPICS = [TOPICS.dimensions, TOPICS.marketTicks, TOPICS.forecasts, TOPICS.warnings, TOPICS.deadLetters] as const;

const PORK: Indicator = {
  id: 'pork-wholesale',
  schema_version: 1,
  name_zh: '猪肉批发价',
  name_en: 'Pork wholesale price',
  unit: 'yuan/kg',
  frequency: 'minute',
  risk_upper: 30,
  risk_lower: 10,
};

function gaussian(seed: number): () => number {
  let s = seed;
  const uniform = (): number => {
    s = (s + 0x6d2b79f5) | 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

function tick(indicator: string, minute: number, value: number): OutgoingMessage {
  const t: MarketTick = {
    id: stableId(indicator, minute),
    schema_version: 1,
    indicator_id: indicator,
    ts: T0 + minute * MINUTE,
    value: Math.round(value * 1000) / 1000,
  };
  return { key: indicator, value: encodeRecord(t), headers: { [SCHEMA_HEADER]: 'MarketTick@1' } };
}

/** An hourly-seasonal price around 20 yuan/kg with small noise. */
function quietPork(from: number, to: number, seed = 3): OutgoingMessage[] {
  const noise = gaussian(seed);
  const out: OutgoingMessage[] = [];
  for (let m = from; m < to; m++) out.push(tick(PORK.id, m, 20 + 0.5 * Math.sin((2 * Math.PI * m) / 60) + 0.05 * noise()));
  return out;
}

interface Collected {
  forecasts: Forecast[];
  warnings: EarlyWarning[];
  deadLetters: { source: string; reason: string }[];
}

interface Harness {
  bus: Bus;
  worker: RunningWorker;
  out: Collected;
  producer: Producer;
  busErrors: BusError[];
}

const running: { bus: Bus; worker: RunningWorker }[] = [];
afterEach(async () => {
  for (const { bus, worker } of running.splice(0)) {
    await worker.stop();
    await bus.close();
  }
});

async function start(indicators: Indicator[], options: Partial<ForecastWorkerOptions> = {}): Promise<Harness> {
  const busErrors: BusError[] = [];
  const bus = createInProcessBus({ retryDelayMs: 5, onError: (e) => busErrors.push(e) });
  await bus.ensureTopics(ALL_TOPICS.map((name) => ({ name, partitions: DEFAULT_PARTITIONS[name] })));
  const producer = bus.producer();
  await producer.send(
    TOPICS.dimensions,
    indicators.map((record) => encodeDimension({ name: 'Indicator', record })),
  );
  const worker = await startForecastWorker({ bus, clock: () => T0, config: { cityCenter: CENTER }, ...options });
  const out: Collected = { forecasts: [], warnings: [], deadLetters: [] };
  const collector = bus.consumer({
    groupId: 'test-collector',
    topics: [TOPICS.forecasts, TOPICS.warnings, TOPICS.deadLetters],
    fromBeginning: true,
  });
  await collector.run((batch) => {
    for (const m of batch.messages) {
      if (m.topic === TOPICS.forecasts) {
        const d = decodeRecord(ForecastSchema, m.value);
        if (!d.ok) throw new Error(`worker produced an invalid Forecast: ${d.reason}`);
        out.forecasts.push(d.value);
      } else if (m.topic === TOPICS.warnings) {
        const d = decodeRecord(EarlyWarningSchema, m.value);
        if (!d.ok) throw new Error(`worker produced an invalid EarlyWarning: ${d.reason}`);
        out.warnings.push(d.value);
      } else {
        out.deadLetters.push(JSON.parse(new TextDecoder().decode(m.value)) as { source: string; reason: string });
      }
    }
    return Promise.resolve();
  });
  running.push({ bus, worker });
  return { bus, worker, out, producer, busErrors };
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function drained(bus: Bus, groupId: string, topics: readonly string[]): Promise<void> {
  const probe = bus.consumer({ groupId, topics, fromBeginning: true });
  try {
    await until(`group ${groupId} to drain`, async () => Object.values(await probe.lag()).every((l) => l === 0));
  } finally {
    await probe.stop();
  }
}

async function settle(bus: Bus): Promise<void> {
  await drained(bus, 'cityops-forecast', [TOPICS.marketTicks]);
  await drained(bus, 'test-collector', [TOPICS.forecasts, TOPICS.warnings, TOPICS.deadLetters]);
}

describe('forecast worker on the in-process bus', () => {
  it('emits forecast paths every N ticks and a price_shock warning after an injected jump', async () => {
    const h = await start([PORK]);
    await h.producer.send(TOPICS.marketTicks, quietPork(0, 200));
    await settle(h.bus);

    // 200 ticks, a path every 10 ticks, 12 steps each.
    expect(h.out.forecasts).toHaveLength(20 * 12);
    expect(h.out.warnings).toHaveLength(0);
    const last = h.out.forecasts.filter((f) => f.issued_at === T0 + 199 * MINUTE);
    expect(last.map((f) => f.horizon_step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    for (const f of last) {
      expect(f).toMatchObject({ indicator_id: PORK.id, model: 'seasonal-naive', model_version: '1.0.0' });
      expect(f.target_ts).toBe(f.issued_at + f.horizon_step * MINUTE);
      expect(f.lower).toBeLessThanOrEqual(f.mean);
      expect(f.upper).toBeGreaterThanOrEqual(f.mean);
      // The hourly pattern is repeated: the mean is within noise of the truth.
      const truth = 20 + 0.5 * Math.sin((2 * Math.PI * (199 + f.horizon_step)) / 60);
      expect(Math.abs(f.mean - truth)).toBeLessThan(0.3);
      expect(f.breach_probability).toBeLessThan(0.01);
    }

    // A jump of +6 yuan/kg in one tick (typical changes are a few fen).
    await h.producer.send(TOPICS.marketTicks, [
      tick(PORK.id, 200, 26),
      ...quietPork(201, 210).map((m, i) => tick(PORK.id, 201 + i, 26 + 0.01 * i)),
    ]);
    await settle(h.bus);
    expect(h.out.warnings).toHaveLength(1);
    const w = h.out.warnings[0]!;
    expect(w).toMatchObject({
      kind: 'price_shock',
      source_kind: 'indicator',
      source_id: PORK.id,
      area_id: 'city',
      lon: CENTER.lon,
      lat: CENTER.lat,
      ts: T0 + 200 * MINUTE,
      machine_made: true,
      produced_by: 'forecast-worker/seasonal-naive@1',
      evidence_ids: [stableId(PORK.id, 200)],
    });
    expect(w.level).toBe('red');
    expect(w.title).toContain('价格异动 Price shock · 猪肉批发价');
    const reasons = w.reasons.join('\n');
    expect(reasons).toMatch(/Pork wholesale price \(pork-wholesale\) moved from 20\.\d+ to 26 yuan\/kg \(\+2\d\.\d+%\) in one tick/);
    expect(reasons).toMatch(/typical change .* robust z \d+/);
    expect(reasons).toMatch(/the seasonal-naive model expected 20\.\d+ yuan\/kg for this tick \(95% interval/);

    expect(h.worker.health()).toMatchObject({ name: 'forecast', state: 'running', dead_lettered: 0, lag: 0 });
    expect(h.worker.health().counters).toMatchObject({ ticks_accepted: 210, abnormal_moves: 1, warnings_emitted: 1, forecast_paths: 21 });
  });

  it('warns when a forecast is likely to cross a risk line, names the forecast, and does not repeat within the cool-down', async () => {
    const tight: Indicator = {
      ...PORK,
      id: 'egg-retail',
      name_zh: '鸡蛋零售价',
      name_en: 'Egg retail price',
      unit: 'yuan/500g',
      risk_upper: 5.05,
      risk_lower: 3,
    };
    const h = await start([tight], { forecastEveryTicks: 5 });
    const noise = gaussian(5);
    // Hovering just under its upper risk line, so the interval straddles it.
    await h.producer.send(
      TOPICS.marketTicks,
      Array.from({ length: 120 }, (_, m) => tick(tight.id, m, 5 + 0.04 * noise())),
    );
    await settle(h.bus);
    expect(h.out.warnings.length).toBeGreaterThanOrEqual(1);
    for (const w of h.out.warnings) {
      expect(w.kind).toBe('price_shock');
      expect(w.title).toContain('forecast risk');
      const reasons = w.reasons.join('\n');
      expect(reasons).toMatch(/seasonal-naive forecast \(season \d+ ticks\) for .* step \d+ of 12: .* 95% interval/);
      expect(reasons).toMatch(/risk lines: above 5\.05 or below 3 yuan\/500g; probability of being beyond them 0\.\d+/);
      const forecast = h.out.forecasts.find((f) => f.id === w.evidence_ids[0]);
      expect(forecast?.breach_probability).toBe(w.score);
      expect(w.score).toBeGreaterThanOrEqual(0.3);
    }
    // Cool-down: within 30 minutes, a warning for the same indicator and kind only follows a
    // lower one.
    const ws = [...h.out.warnings].sort((a, b) => a.ts - b.ts);
    for (let i = 1; i < ws.length; i++) {
      const prev = ws[i - 1]!;
      const cur = ws[i]!;
      if (cur.ts - prev.ts < 30 * MINUTE) expect(levelRank(cur.level)).toBeGreaterThan(levelRank(prev.level));
    }
    expect(h.worker.health().counters['warnings_suppressed_cooldown']).toBeGreaterThan(0);
  });

  it('runs a trained ensemble when configured: its name and version are on every Forecast record', async () => {
    // A small model of the same kind of series (minute data, hourly cycle), trained as
    // `m4-train` trains: ETS + Theta + a global net, weights and intervals from a hold-out.
    const model = trainEnsemble(
      Array.from({ length: 40 }, (_, j) => {
        const noise = gaussian(100 + j);
        const level = 10 + j;
        return Float64Array.from({ length: 300 }, (_, m) => level * (1 + 0.025 * Math.sin((2 * Math.PI * m) / 60)) + 0.05 * noise());
      }),
      {
        name: 'test-minute',
        seasonLength: 60,
        horizon: 12,
        global: { type: 'mlp', nets: [{ inputLength: 120, hidden: 16 }], steps: 150, batchSize: 32 },
        etsMaxEvaluations: 40,
      },
    );
    const logs: string[] = [];
    const h = await start([PORK], {
      config: {
        cityCenter: CENTER,
        ensemble: model,
        ensembleOptions: { etsMaxEvaluations: 40 },
        // The nets run through ONNX Runtime; a provider this machine lacks is logged and skipped.
        executionProviders: ['no-such-provider', 'cpu'],
        log: (line) => logs.push(line),
      },
    });
    expect(logs.join('\n')).toMatch(/provider 'no-such-provider' unusable, falling back/);
    expect(logs.join('\n')).toMatch(/global model \(1 net\) runs on ONNX Runtime provider 'cpu'/);
    await h.producer.send(TOPICS.marketTicks, quietPork(0, 200));
    await settle(h.bus);

    expect(h.out.forecasts).toHaveLength(20 * 12);
    expect(model.version).toMatch(/^test-minute-[0-9a-f]{8}$/);
    for (const f of h.out.forecasts) expect(f).toMatchObject({ model: 'ensemble', model_version: model.version });
    const last = h.out.forecasts.filter((f) => f.issued_at === T0 + 199 * MINUTE);
    expect(last.map((f) => f.horizon_step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    for (const f of last) {
      expect(f.lower).toBeLessThanOrEqual(f.mean);
      expect(f.upper).toBeGreaterThanOrEqual(f.mean);
      const truth = 20 + 0.5 * Math.sin((2 * Math.PI * (199 + f.horizon_step)) / 60);
      expect(Math.abs(f.mean - truth)).toBeLessThan(0.5);
    }
    // Ids include the version, so a retrained model's forecasts never collide with these.
    expect(last[0]!.id).toBe(stableId(PORK.id, T0 + 199 * MINUTE, 1, 'ensemble', model.version));

    await h.producer.send(TOPICS.marketTicks, [tick(PORK.id, 200, 26)]);
    await settle(h.bus);
    expect(h.out.warnings).toHaveLength(1);
    expect(h.out.warnings[0]!.produced_by).toBe(`forecast-worker/ensemble@${model.version}`);
    expect(h.out.warnings[0]!.reasons.join('\n')).toMatch(/the ensemble model expected 20\.\d+ yuan\/kg for this tick/);
  });

  it('warns when two indicators that moved together decouple, naming both, the usual and current correlation and the moves', async () => {
    const FEED: Indicator = {
      ...PORK,
      id: 'feed-corn',
      name_zh: '饲料玉米价',
      name_en: 'Feed corn price',
      unit: 'yuan/kg',
      risk_upper: 0,
      risk_lower: 0,
    };
    const h = await start([PORK, FEED], {
      config: { cityCenter: CENTER, coMovement: { usualBars: 120, currentBars: 20, latenessMs: 15 * MINUTE } },
    });
    // One common factor drives both until minute 200; then pork follows its own shocks and climbs.
    const noise = gaussian(21);
    let pork = 20;
    let feed = 2.5;
    const ticks: OutgoingMessage[] = [];
    for (let m = 0; m < 240; m++) {
      const factor = 0.002 * noise();
      pork *= 1 + (m < 200 ? factor + 0.0005 * noise() : 0.002 * noise() + 0.003);
      feed *= 1 + factor + 0.0005 * noise();
      ticks.push(tick(PORK.id, m, pork), tick(FEED.id, m, feed));
    }
    // Ten minutes at a time: the bars wait 15 minutes for the other partition's ticks.
    for (let from = 0; from < ticks.length; from += 20) {
      await h.producer.send(TOPICS.marketTicks, ticks.slice(from, from + 20));
      await settle(h.bus);
    }
    const breaks = h.out.warnings.filter((w) => w.title.includes('decoupled'));
    expect(breaks.length).toBeGreaterThanOrEqual(1);
    const w = breaks[0]!;
    expect(w).toMatchObject({ kind: 'market_volatility', source_kind: 'indicator', source_id: PORK.id, machine_made: true });
    expect(w.ts).toBeGreaterThan(T0 + 200 * MINUTE);
    expect(w.title).toContain('市场波动 Market volatility · 猪肉批发价 Pork wholesale price · decoupled from 饲料玉米价 Feed corn price');
    const reasons = w.reasons.join('\n');
    expect(reasons).toMatch(
      /Pork wholesale price \(pork-wholesale\) and Feed corn price \(feed-corn\) usually move together: correlation of 60 s returns 0\.9\d+ over the 100 bars before/,
    );
    expect(reasons).toMatch(/over the last 20 bars \(20 min, to .*\) the correlation is -?0\.\d+: a drop of \d\.\d+/);
    expect(reasons).toMatch(/moves: Pork wholesale price \(pork-wholesale\) \+\d+(\.\d+)?% over the last 20 bars/);
    expect(w.evidence_ids).toHaveLength(2);
    expect(w.score).toBeGreaterThanOrEqual(0.6);
    // The pair cools down as one: not repeated at the same level within 30 minutes.
    const sameLevel = breaks.filter((b) => b.level === w.level && b.ts - w.ts < 30 * MINUTE);
    expect(sameLevel).toHaveLength(1);
    expect(h.worker.health().counters['co_movement_breaks']).toBeGreaterThanOrEqual(breaks.length);
  });

  it('never forecasts from bad data: malformed ticks are dead-lettered, late and duplicate ones skipped and counted', async () => {
    const h = await start([PORK]);
    const good = quietPork(0, 30);
    const bad: OutgoingMessage[] = [
      { key: PORK.id, value: new TextEncoder().encode('not json') },
      { key: PORK.id, value: encodeRecord({ id: 'x', schema_version: 1, indicator_id: PORK.id, ts: T0, value: 'NaN' }) },
      {
        key: PORK.id,
        value: new TextEncoder().encode(`{"id":"y","schema_version":1,"indicator_id":"${PORK.id}","ts":${T0 + 5},"value":1e999}`),
      },
    ];
    const late = tick(PORK.id, 3, 99);
    const duplicate = tick(PORK.id, 28, 99);
    await h.producer.send(TOPICS.marketTicks, [...good.slice(0, 29), duplicate, ...bad, late, ...good.slice(29)]);
    await settle(h.bus);
    const health = h.worker.health();
    expect(h.out.deadLetters.length + (health.counters['skipped_non_finite'] ?? 0)).toBe(3);
    expect(h.out.deadLetters.every((d) => d.source === TOPICS.marketTicks)).toBe(true);
    expect(h.out.deadLetters[0]?.reason).toMatch(/expected JSON/);
    expect(h.out.deadLetters[1]?.reason).toMatch(/not a valid MarketTick: \/value/);
    expect(health.counters).toMatchObject({ skipped_out_of_order: 1, skipped_duplicate: 1, ticks_accepted: 30 });
    // Neither the late nor the duplicate 99 entered a forecast.
    expect(h.out.forecasts.every((f) => f.mean < 50 && f.upper < 50)).toBe(true);
    expect(h.out.forecasts).toHaveLength(3 * 12);
    expect(health.state).toBe('running');
  });
});
