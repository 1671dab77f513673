import { deadLetter, startConsumerLoop, type Bus, type ConsumerLoop, type MessageBatch, type Producer, Outbox } from '@cityops/bus';
import {
  DEFAULT_PARTITIONS,
  EVENT_KIND_LABELS,
  EarlyWarning as EarlyWarningSchema,
  Forecast as ForecastSchema,
  MarketTick as MarketTickSchema,
  TOPICS,
  decodeDimension,
  decodeRecord,
  randomId,
  stableId,
  truncate,
  validator,
  type Area,
  type Clock,
  type EarlyWarning,
  type EventKind,
  type FieldError,
  type Forecast,
  type Indicator,
  type MarketTick,
  type RunningWorker,
  type WarningLevel,
  type WorkerHealth,
  recordMessage,
} from '@cityops/schemas';
import { CoMovementMonitor, type CoMovementBreak, type CoMovementPolicy } from './co-movement.js';
import { ForecastError, toForecastError } from './errors.js';
import { normalCdf } from './normal.js';
import type { EnsembleModel } from './ensemble.js';
import { EnsembleForecaster, type EnsembleForecasterOptions } from './ensemble-forecaster.js';
import {
  FORECAST_METHOD,
  SEASON_LENGTH_BY_FREQUENCY,
  STEP_MS_BY_FREQUENCY,
  SeasonalNaiveForecaster,
  type ForecastOutput,
  type Frequency,
  type SeasonalNaiveOptions,
} from './seasonal-naive.js';
import {
  CoolDown,
  DEFAULT_BREACH_LEVELS,
  DEFAULT_MOVE_POLICY,
  levelByLine,
  validateBreachLevels,
  validateMovePolicy,
  type MovePolicy,
} from './warning-lines.js';

/*
 * The forecast role: market ticks in; forecasts and market early warnings out.
 *
 * - Indicators (unit, frequency, risk lines) come from city.dimensions, read from the beginning
 *   by a consumer group of this start's own and followed afterwards.
 * - Each tick is checked at the edge (bad → dead letter), then in order per indicator: late,
 *   duplicate and non-finite values are skipped and counted — a forecast is never made from them.
 * - Two kinds of warning: (a) an abnormal move — a tick-to-tick change beyond k robust scales of
 *   recent changes (price_shock; market_volatility when several come close together); (b) a
 *   forecast that is likely to cross a risk line within the horizon (price_shock). Each says
 *   which indicator, which move or which forecast, and what the model expected; a cool-down
 *   keeps the same indicator from repeating a warning.
 * - Every `forecastEveryTicks` ticks of an indicator, a forecast path is issued from that tick.
 *   Origins depend on the ticks only, never on how the bus batched them, so a replay produces
 *   the same forecasts with the same ids. The due forecasts are computed in one batched model
 *   call per bus batch.
 * - At-least-once without loss: results are produced before the batch is committed, and what
 *   could not be produced waits in an outbox sent first on the next attempt (the redelivered
 *   ticks are duplicates by then).
 */

export interface ForecastWorkerConfig {
  /**
   * City center, where market warnings are placed on the map. Default: the mean position of the
   * Area records on city.dimensions (lon/lat 0 while there are none).
   */
  cityCenter?: { lon: number; lat: number };
  /** Area id of market warnings (an indicator is city-wide). Default 'city'. */
  areaId?: string;
  /** Season length per frequency; defaults in SEASON_LENGTH_BY_FREQUENCY. */
  seasonLengthByFrequency?: Partial<Record<Frequency, number>>;
  /** Season length per indicator id, overriding its frequency's. */
  seasonLengthByIndicator?: Readonly<Record<string, number>>;
  /** Frequency assumed for an indicator with no Indicator record yet. Default 'minute'. */
  defaultFrequency?: Frequency;
  /** Seasonal-naive options (history kept, coverage). */
  model?: Partial<SeasonalNaiveOptions>;
  /**
   * A trained ensemble (ETS + Theta + global model; see trainEnsemble and `m4-train`). When set,
   * it forecasts every indicator instead of the seasonal naive, and each Forecast record carries
   * `model` 'ensemble' and the model's own `version`. Default: none (seasonal naive).
   */
  ensemble?: EnsembleModel;
  /** Streaming options of the ensemble (history kept, how often ETS is re-selected). */
  ensembleOptions?: Partial<EnsembleForecasterOptions>;
  /**
   * ONNX Runtime execution providers for the ensemble's global nets, tried in order ('cuda',
   * 'tensorrt', 'webgpu', 'cpu'); an unusable one is logged and the next tried, 'cpu' last.
   * Default ['cpu'].
   */
  executionProviders?: readonly string[];
  /** Where start-up notes (the execution provider chosen, fallbacks) go. Default console.log. */
  log?: (line: string) => void;
  /** Abnormal-move detection and its levels; see DEFAULT_MOVE_POLICY. */
  moves?: Partial<MovePolicy>;
  /**
   * Co-movement breaks across indicators (co-movement.ts): pairs whose bar returns usually
   * correlate and suddenly do not; see DEFAULT_CO_MOVEMENT_POLICY. `false` turns them off.
   */
  coMovement?: Partial<CoMovementPolicy> | false;
  /** Level per breach probability; see DEFAULT_BREACH_LEVELS. */
  breachLevels?: readonly { level: WarningLevel; minProbability: number }[];
  /** No repeat warning of the same indicator and kind at the same or a lower level within this (event time). Default 1 800 000 ms (30 min). */
  cooldownMs?: number;
  /** Largest batch of ticks handled at once. Default 1000. */
  maxBatchSize?: number;
  /** Longest wait at start for city.dimensions to be read to its end. Default 30 000 ms. */
  dimensionsCatchUpTimeoutMs?: number;
}

export interface ForecastWorkerOptions {
  bus: Bus;
  /** Consumer group for ticks; replicas of the role share it. Default 'cityops-forecast'. */
  groupId?: string;
  /** Time source for health timestamps. Default Date.now. */
  clock?: Clock;
  /** Steps ahead in each forecast path. Default 12. */
  horizonSteps?: number;
  /** An indicator gets a new forecast path every this many of its ticks. Default 10. */
  forecastEveryTicks?: number;
  config?: ForecastWorkerConfig;
}

export const FORECAST_MODEL = 'seasonal-naive';
export const FORECAST_MODEL_VERSION = '1.0.0';
/** The model name on Forecast records made by a trained ensemble. */
export const ENSEMBLE_MODEL = 'ensemble';
const WORKER_NAME = 'forecast';
const INTERVALS_KEPT = 16;
const MAD_TO_SIGMA = 1.4826;
const TOPICS_USED = [TOPICS.dimensions, TOPICS.marketTicks, TOPICS.forecasts, TOPICS.warnings, TOPICS.deadLetters] as const;

interface IndicatorState {
  id: string;
  index: number;
  hasValue: boolean;
  lastTs: number;
  lastValue: number;
  lastTickId: string;
  ticks: number;
  sinceForecast: number;
  /** Recent tick-to-tick changes (ring). */
  changes: Float64Array;
  changeCount: number;
  changeHead: number;
  /** Recent intervals between ticks in ms (ring), for the forecast step. */
  intervals: Float64Array;
  intervalCount: number;
  intervalHead: number;
  /** Tick numbers of recent abnormal moves. */
  moveTicks: number[];
}

interface Counters {
  ticks_accepted: number;
  forecasts_emitted: number;
  forecast_paths: number;
  warnings_emitted: number;
  warnings_suppressed_cooldown: number;
  abnormal_moves: number;
  co_movement_breaks: number;
  skipped_non_finite: number;
  skipped_out_of_order: number;
  skipped_duplicate: number;
  forecasts_skipped_short_history: number;
  dimension_records_skipped: number;
  invalid_outputs: number;
}

/** What a due forecast starts from: the indicator's last tick when it fell due. */
interface Origin {
  state: IndicatorState;
  ts: number;
  value: number;
}

/**
 * Starts the forecast role. Resolves once topics exist, dimensions are read to their end (or
 * the catch-up timeout passed) and the ticks consumer has joined its group.
 */
export async function startForecastWorker(options: ForecastWorkerOptions): Promise<RunningWorker> {
  const { bus } = options;
  const groupId = options.groupId ?? 'cityops-forecast';
  const clock = options.clock ?? Date.now;
  const horizon = options.horizonSteps ?? 12;
  const every = options.forecastEveryTicks ?? 10;
  const config = options.config ?? {};
  if (!Number.isInteger(horizon) || horizon < 1 || horizon > 10_000) {
    throw new ForecastError('invalid-config', `expected horizonSteps to be a whole number 1…10000; got ${horizon}`);
  }
  if (!Number.isInteger(every) || every < 1) {
    throw new ForecastError('invalid-config', `expected forecastEveryTicks to be a whole number ≥ 1; got ${every}`);
  }
  const moves = validateMovePolicy({ ...DEFAULT_MOVE_POLICY, ...config.moves });
  const breachLevels = validateBreachLevels(config.breachLevels ?? DEFAULT_BREACH_LEVELS);
  const seasonByFrequency: Record<Frequency, number> = { ...SEASON_LENGTH_BY_FREQUENCY, ...config.seasonLengthByFrequency };
  const defaultFrequency = config.defaultFrequency ?? 'minute';
  const areaId = config.areaId ?? 'city';
  const maxBatchSize = config.maxBatchSize ?? 1000;
  const model =
    config.ensemble === undefined
      ? new SeasonalNaiveForecaster(config.model ?? {})
      : await EnsembleForecaster.open(
          config.ensemble,
          { historyCapacity: config.model?.historyCapacity ?? 512, ...config.ensembleOptions },
          { executionProviders: config.executionProviders ?? ['cpu'], ...(config.log === undefined ? {} : { log: config.log }) },
        );
  // The ensemble holds an ONNX Runtime session; it ends with the worker.
  const releaseModel = (): Promise<void> => (model instanceof EnsembleForecaster ? model.release() : Promise.resolve());
  // Every record names the model and version that made it; a retrained ensemble has a new version.
  const modelName = config.ensemble === undefined ? FORECAST_MODEL : ENSEMBLE_MODEL;
  const modelVersion = config.ensemble?.version ?? FORECAST_MODEL_VERSION;
  const producedBy =
    config.ensemble === undefined ? `forecast-worker/${FORECAST_MODEL}@1` : `forecast-worker/${ENSEMBLE_MODEL}@${modelVersion}`;
  const cooldown = new CoolDown(config.cooldownMs ?? 30 * 60_000);
  const coMovement = config.coMovement === false ? undefined : new CoMovementMonitor(config.coMovement ?? {});

  let state: WorkerHealth['state'] = 'starting';
  let lastError = '';
  let processed = 0;
  let deadLettered = 0;
  let lastBatchAtMs = 0;
  const counters: Counters = {
    ticks_accepted: 0,
    forecasts_emitted: 0,
    forecast_paths: 0,
    warnings_emitted: 0,
    warnings_suppressed_cooldown: 0,
    abnormal_moves: 0,
    co_movement_breaks: 0,
    skipped_non_finite: 0,
    skipped_out_of_order: 0,
    skipped_duplicate: 0,
    forecasts_skipped_short_history: 0,
    dimension_records_skipped: 0,
    invalid_outputs: 0,
  };
  const indicators = new Map<string, Indicator>();
  const areas = new Map<string, Area>();
  const states = new Map<string, IndicatorState>();
  // Forecasts first, so a warning's evidence exists when it lands.
  const outbox = new Outbox([TOPICS.forecasts, TOPICS.warnings]);
  const checkForecast = validator(ForecastSchema);
  const checkWarning = validator(EarlyWarningSchema);
  const invalid: { topic: string; key: string; record: object; errors: FieldError[] }[] = [];

  const seasonFor = (id: string): number => {
    const m = config.seasonLengthByIndicator?.[id] ?? seasonByFrequency[indicators.get(id)?.frequency ?? defaultFrequency];
    // A season the history cannot hold twice is cut to what it can (naive at worst).
    return Math.max(1, Math.min(m, Math.floor((model.options.historyCapacity - 2) / 2)));
  };

  const location = (): { lon: number; lat: number } => {
    if (config.cityCenter !== undefined) return config.cityCenter;
    const city = areas.get(areaId);
    if (city !== undefined) return { lon: city.lon, lat: city.lat };
    if (areas.size === 0) return { lon: 0, lat: 0 };
    let lon = 0;
    let lat = 0;
    for (const a of areas.values()) {
      lon += a.lon;
      lat += a.lat;
    }
    return { lon: lon / areas.size, lat: lat / areas.size };
  };

  let producer: Producer;
  try {
    await bus.ensureTopics(TOPICS_USED.map((name) => ({ name, partitions: DEFAULT_PARTITIONS[name] })));
    producer = bus.producer();
  } catch (e) {
    state = 'failed';
    await releaseModel();
    throw toForecastError('start-failed', 'expected to create the forecast worker topics', e, true);
  }

  const onDimensions = (batch: MessageBatch): Promise<void> => {
    for (const message of batch.messages) {
      if (message.value.byteLength === 0) {
        // A compaction tombstone: the record named by the key was deleted.
        const at = message.key.indexOf(':');
        const name = message.key.slice(0, at);
        const id = message.key.slice(at + 1);
        if (name === 'Indicator') indicators.delete(id);
        else if (name === 'Area') areas.delete(id);
        continue;
      }
      const decoded = decodeDimension(message.headers, message.value);
      if (!decoded.ok) {
        // Counted, not dead-lettered: this topic is read from the beginning at every start,
        // and the dead letters would fill with copies of the same record.
        counters.dimension_records_skipped++;
        lastError = `skipped ${TOPICS.dimensions}[${batch.partition}]@${message.offset}: ${decoded.reason}`;
        continue;
      }
      const d = decoded.value;
      if (d.name === 'Indicator') {
        indicators.set(d.record.id, d.record);
        const s = states.get(d.record.id);
        if (s !== undefined) model.setSeasonLength(s.index, seasonFor(d.record.id));
      } else if (d.name === 'Area') {
        areas.set(d.record.id, d.record);
      }
    }
    return Promise.resolve();
  };

  const stateFor = (id: string): IndicatorState => {
    let s = states.get(id);
    if (s === undefined) {
      s = {
        id,
        index: model.addIndicator(seasonFor(id)),
        hasValue: false,
        lastTs: Number.NEGATIVE_INFINITY,
        lastValue: Number.NaN,
        lastTickId: '',
        ticks: 0,
        sinceForecast: 0,
        changes: new Float64Array(moves.windowTicks),
        changeCount: 0,
        changeHead: 0,
        intervals: new Float64Array(INTERVALS_KEPT),
        intervalCount: 0,
        intervalHead: 0,
        moveTicks: [],
      };
      states.set(id, s);
    }
    return s;
  };

  // ---- forecasts ---------------------------------------------------------------------------

  const due = new Map<number, Origin>();
  let out: ForecastOutput = allocate(64, horizon);

  const issueDueForecasts = async (): Promise<void> => {
    if (due.size === 0) return;
    const origins = [...due.values()];
    due.clear();
    if (out.method.length < origins.length) out = allocate(origins.length, horizon);
    const indices = Int32Array.from(origins, (o) => o.state.index);
    await model.forecastBatch(indices, horizon, out);
    for (let j = 0; j < origins.length; j++) {
      const o = origins[j]!;
      if (out.method[j] === FORECAST_METHOD.none) {
        counters.forecasts_skipped_short_history++;
        continue;
      }
      emitPath(o, j);
    }
  };

  const emitPath = (o: Origin, j: number): void => {
    const info = indicators.get(o.state.id);
    const step = stepMs(o.state, info?.frequency ?? defaultFrequency);
    const band = riskBand(info);
    let worst: { p: number; forecast: Forecast } | undefined;
    for (let h = 1; h <= horizon; h++) {
      const k = j * horizon + h - 1;
      const mean = out.mean[k]!;
      const lower = out.lower[k]!;
      const upper = out.upper[k]!;
      const p = band === undefined ? 0 : breachProbability(lower, upper, band);
      const forecast: Forecast = {
        id: stableId(o.state.id, o.ts, h, modelName, modelVersion),
        schema_version: 1,
        indicator_id: o.state.id,
        // The forecast is "as of" its origin tick: event time, so a replay gives the same record
        // and a back-test reads it as it was issued then.
        issued_at: o.ts,
        target_ts: Math.round(o.ts + h * step),
        horizon_step: h,
        mean,
        lower,
        upper,
        breach_probability: p,
        model: modelName,
        model_version: modelVersion,
      };
      if (!checkForecast.check(forecast)) {
        invalid.push({ topic: TOPICS.forecasts, key: o.state.id, record: forecast, errors: checkForecast.errors(forecast) });
        continue;
      }
      outbox.push(TOPICS.forecasts, recordMessage(forecast.indicator_id, forecast, 'Forecast', forecast.issued_at));
      if (worst === undefined || p > worst.p) worst = { p, forecast };
    }
    counters.forecast_paths++;
    if (band === undefined || worst === undefined || info === undefined) return;
    const line = levelByLine(breachLevels, worst.p, (l) => l.minProbability);
    if (line === undefined) return;
    const f = worst.forecast;
    const reasons = [
      `${modelName} forecast (season ${model.seasonLength(o.state.index)} ticks) for ${iso(f.target_ts)}, step ${f.horizon_step} of ${horizon}: ${fmt(f.mean)} ${info.unit}, 95% interval ${fmt(f.lower)}…${fmt(f.upper)} ${info.unit}`,
      `risk lines: above ${fmt(band.upper)} or below ${fmt(band.lower)} ${info.unit}; probability of being beyond them ${fmt(worst.p)} (normal approximation of the interval)`,
      `last observed ${fmt(o.value)} ${info.unit} at ${iso(o.ts)}`,
      `level ${line.level}: breach probability ≥ ${line.minProbability} within ${horizon} steps`,
    ];
    pushWarning(o.state, info, 'price_shock', line.level, o.ts, worst.p, reasons, [f.id], 'breach');
  };

  // ---- warnings ----------------------------------------------------------------------------

  const pushWarning = (
    s: IndicatorState,
    info: Indicator | undefined,
    kind: EventKind,
    level: WarningLevel,
    ts: number,
    score: number,
    reasons: string[],
    evidence: string[],
    trigger: 'move' | 'breach' | 'co-movement',
    partner?: { id: string; name: string },
  ): void => {
    // A pair's break cools down as a pair: the same break seen from either side is one warning.
    if (!cooldown.admit(partner === undefined ? s.id : pairKey(s.id, partner.id), kind, level, ts)) {
      counters.warnings_suppressed_cooldown++;
      return;
    }
    const label = EVENT_KIND_LABELS[kind];
    const name = info === undefined ? s.id : `${info.name_zh} ${info.name_en}`;
    const where = location();
    const warning: EarlyWarning = {
      id: partner === undefined ? stableId(s.id, trigger, ts, kind, level) : stableId(s.id, trigger, partner.id, ts, kind, level),
      schema_version: 1,
      ts,
      level,
      kind,
      area_id: areaId,
      source_kind: 'indicator',
      source_id: s.id,
      lon: where.lon,
      lat: where.lat,
      title: clip(
        `${label.zh} ${label.en} · ${name}${trigger === 'breach' ? ' · forecast risk' : ''}${partner === undefined ? '' : ` · decoupled from ${partner.name}`}`,
        300,
      ),
      reasons: reasons.map((r) => clip(r, 500)),
      score,
      evidence_ids: evidence,
      produced_by: producedBy,
      machine_made: true,
    };
    if (checkWarning.check(warning)) outbox.push(TOPICS.warnings, recordMessage(warning.source_id, warning, 'EarlyWarning', warning.ts));
    else invalid.push({ topic: TOPICS.warnings, key: s.id, record: warning, errors: checkWarning.errors(warning) });
  };

  const onTick = async (t: MarketTick): Promise<void> => {
    if (!Number.isFinite(t.value) || !Number.isFinite(t.ts)) {
      counters.skipped_non_finite++;
      return;
    }
    const s = stateFor(t.indicator_id);
    if (s.hasValue && t.ts <= s.lastTs) {
      // A late tick cannot enter a history that has moved past it; a same-timestamp tick is a
      // redelivery. Neither may shape a forecast.
      if (t.ts === s.lastTs) counters.skipped_duplicate++;
      else counters.skipped_out_of_order++;
      return;
    }
    // A forecast that fell due on this indicator's previous tick is made before this one enters.
    if (due.has(s.index)) await issueDueForecasts();
    counters.ticks_accepted++;
    let move: { change: number; median: number; scale: number; z: number; expected: string } | undefined;
    if (s.hasValue) {
      const change = t.value - s.lastValue;
      if (s.changeCount >= moves.minChanges) {
        const { median, mad } = medianAndMad(s.changes, s.changeCount);
        // Robust z of the change against recent changes: median and MAD are not dragged by the
        // very shocks being looked for (Hampel identifier; 1.4826 scales the MAD to σ).
        const floor = moves.scaleFloorRelative * Math.abs(s.lastValue);
        const scale = MAD_TO_SIGMA * Math.max(mad, floor, Number.MIN_VALUE);
        const z = (change - median) / scale;
        if (Math.abs(z) >= moves.threshold) move = { change, median, scale, z, expected: await expectedNext(s) };
      }
      s.changes[s.changeHead] = change;
      s.changeHead = (s.changeHead + 1) % s.changes.length;
      if (s.changeCount < s.changes.length) s.changeCount++;
      s.intervals[s.intervalHead] = t.ts - s.lastTs;
      s.intervalHead = (s.intervalHead + 1) % INTERVALS_KEPT;
      if (s.intervalCount < INTERVALS_KEPT) s.intervalCount++;
    }
    const previous = s.lastValue;
    model.push(s.index, t.value);
    s.hasValue = true;
    s.lastTs = t.ts;
    s.lastValue = t.value;
    s.lastTickId = t.id;
    s.ticks++;
    s.sinceForecast++;

    if (move !== undefined) {
      counters.abnormal_moves++;
      s.moveTicks.push(s.ticks);
      while (s.moveTicks.length > 0 && s.moveTicks[0]! <= s.ticks - moves.volatilityWindowTicks) s.moveTicks.shift();
      const volatile = s.moveTicks.length >= moves.volatilityMoves;
      const kind: EventKind = volatile ? 'market_volatility' : 'price_shock';
      const absZ = Math.abs(move.z);
      const line = levelByLine(moves.levels, absZ, (l) => l.minScore);
      if (line !== undefined) {
        const info = indicators.get(s.id);
        const unit = info?.unit ?? '';
        const pct = previous !== 0 ? ` (${move.change > 0 ? '+' : ''}${fmt((100 * move.change) / Math.abs(previous))}%)` : '';
        const reasons = [
          `${info === undefined ? s.id : `${info.name_en} (${s.id})`} moved from ${fmt(previous)} to ${fmt(t.value)} ${unit}${pct} in one tick, at ${iso(t.ts)}`,
          `typical change ${fmt(move.median)} ± ${fmt(move.scale)} ${unit} over the last ${s.changeCount} ticks (median, 1.4826·MAD): robust z ${fmt(move.z)}, threshold ${moves.threshold}`,
          move.expected,
          volatile
            ? `${s.moveTicks.length} abnormal moves within the last ${moves.volatilityWindowTicks} ticks: the market is swinging, not just jumping once`
            : `level ${line.level}: move robust z ≥ ${line.minScore}`,
        ];
        pushWarning(s, info, kind, line.level, t.ts, absZ, reasons, [t.id], 'move');
      }
    }
    if (coMovement !== undefined) for (const b of coMovement.observe(s.id, t.ts, t.value)) coMovementWarning(b);
    if (s.sinceForecast >= every) {
      s.sinceForecast = 0;
      due.set(s.index, { state: s, ts: t.ts, value: t.value });
    }
  };

  /**
   * A pair that stopped moving together: the warning is placed on the one that moved further
   * from its usual (the likelier news), and names the other.
   */
  const coMovementWarning = (b: CoMovementBreak): void => {
    counters.co_movement_breaks++;
    const line = levelByLine(coMovement!.policy.levels, b.drop, (l) => l.minDrop);
    if (line === undefined) return;
    const aFirst = !(Math.abs(b.zB) > Math.abs(b.zA));
    const [src, other] = aFirst ? [b.a, b.b] : [b.b, b.a];
    const s = states.get(src);
    const o = states.get(other);
    if (s === undefined || o === undefined) return;
    const label = (id: string): string => {
      const info = indicators.get(id);
      return info === undefined ? id : `${info.name_en} (${id})`;
    };
    const move = (id: string, rel: number, z: number): string =>
      `${label(id)} ${rel >= 0 ? '+' : ''}${fmt(100 * rel)}% over the last ${b.currentBars} bars (${fmt(z)} × its usual spread)`;
    const minutes = (coMovement!.policy.barMs * b.currentBars) / 60_000;
    const reasons = [
      `${label(src)} and ${label(other)} usually move together: correlation of ${fmt(coMovement!.policy.barMs / 1000)} s returns ${fmt(b.usual)} over the ${b.usualBars} bars before`,
      `over the last ${b.currentBars} bars (${fmt(minutes)} min, to ${iso(b.ts)}) the correlation is ${fmt(b.current)}: a drop of ${fmt(b.drop)}`,
      `moves: ${move(b.a, b.moveA, b.zA)}; ${move(b.b, b.moveB, b.zB)}`,
      `level ${line.level}: correlation drop ≥ ${line.minDrop}`,
    ];
    const info = indicators.get(src);
    const partnerInfo = indicators.get(other);
    pushWarning(s, info, 'market_volatility', line.level, b.ts, b.drop, reasons, [s.lastTickId, o.lastTickId], 'co-movement', {
      id: other,
      name: partnerInfo === undefined ? other : `${partnerInfo.name_zh} ${partnerInfo.name_en}`,
    });
  };

  /** What the model expected for the tick about to enter, in words (before it is added). */
  const expectedNext = async (s: IndicatorState): Promise<string> => {
    const one = allocate(1, 1);
    await model.forecastBatch(Int32Array.of(s.index), 1, one);
    if (one.method[0] === FORECAST_METHOD.none) return `the ${modelName} model had too little history to expect a value`;
    const unit = indicators.get(s.id)?.unit ?? '';
    return `the ${modelName} model expected ${fmt(one.mean[0]!)} ${unit} for this tick (95% interval ${fmt(one.lower[0]!)}…${fmt(one.upper[0]!)} ${unit})`;
  };

  const handleTicks = async (batch: MessageBatch): Promise<void> => {
    const accepted: MarketTick[] = [];
    for (const message of batch.messages) {
      processed++;
      const decoded = decodeRecord(MarketTickSchema, message.value);
      if (!decoded.ok) {
        await deadLetter(producer, {
          source: TOPICS.marketTicks,
          reason: decoded.reason,
          errors: decoded.errors,
          payload: decoded.payload,
          key: message.key,
        });
        deadLettered++;
        continue;
      }
      accepted.push(decoded.value);
    }
    // One batch at a time from here to the outbox (the loop awaits this handler), so no other
    // batch interleaves with the model state while a forecast awaits ONNX Runtime.
    for (const t of accepted) await onTick(t);
    await issueDueForecasts();
    for (const bad of invalid.splice(0)) {
      // A record that fails its own contract is a bug here; dead-lettered (visible, with the
      // reason) rather than sent to consumers that would reject it.
      counters.invalid_outputs++;
      lastError = `produced an invalid record for ${bad.topic}: ${bad.errors.map((e) => `${e.path} ${e.message}`).join('; ')}`;
      await deadLetter(producer, {
        source: bad.topic,
        reason: lastError,
        errors: bad.errors,
        payload: truncate(JSON.stringify(bad.record)),
        key: bad.key,
      });
      deadLettered++;
    }
    await flushOutbox();
    lastBatchAtMs = clock();
  };

  const flushOutbox = async (): Promise<void> => {
    const sent = await outbox.flush(producer);
    counters.forecasts_emitted += sent[TOPICS.forecasts] ?? 0;
    counters.warnings_emitted += sent[TOPICS.warnings] ?? 0;
  };

  let loop: ConsumerLoop;
  try {
    // One batch at a time: batches of several partitions share one model and one outbox.
    loop = await startConsumerLoop({
      // Listed first so the follower's consumer is created before the main one.
      follow: {
        consumer: bus.consumer({ groupId: `${groupId}.dimensions.${randomId()}`, topics: [TOPICS.dimensions], fromBeginning: true }),
        topic: TOPICS.dimensions,
        handle: onDimensions,
        timeoutMs: config.dimensionsCatchUpTimeoutMs ?? 30_000,
        // Not fatal: without Indicator records, forecasts still run (default frequency) but carry
        // no breach probability; the health report says so.
        onBehind: () => {
          lastError = `${TOPICS.dimensions} was not read to its end within the catch-up timeout; some indicators may lack risk lines`;
        },
      },
      consumer: bus.consumer({ groupId, topics: [TOPICS.marketTicks], fromBeginning: true, maxBatchSize }),
      handle: handleTicks,
      flush: flushOutbox,
      producer,
      onError: (message) => (lastError = message),
      onState: (next) => (state = next),
      wrapBatchError: (e, batch) => toForecastError('produce-failed', `expected to process ${batch.topic}[${batch.partition}]`, e, true),
      wrapStopError: (e) => toForecastError('invalid-state', 'expected the forecast worker to stop cleanly', e, false),
    });
  } catch (e) {
    await releaseModel();
    throw toForecastError('start-failed', `expected the forecast worker consumers of group '${groupId}' to start`, e, true);
  }
  state = 'running';

  return {
    name: WORKER_NAME,
    health: (): WorkerHealth => ({
      name: WORKER_NAME,
      state,
      lag: loop.lag(),
      processed,
      dead_lettered: deadLettered,
      last_error: lastError,
      counters: { ...counters, indicators: states.size, indicators_known: indicators.size, last_batch_at_ms: lastBatchAtMs },
    }),
    stop: async () => {
      try {
        await loop.stop();
      } finally {
        await releaseModel();
      }
    },
  };
}

/** One cool-down key per unordered pair. */
function pairKey(a: string, b: string): string {
  return a < b ? `${a}\u0001${b}` : `${b}\u0001${a}`;
}

/** The indicator's risk band, if it has a usable one (lower < upper). */
function riskBand(info: Indicator | undefined): { lower: number; upper: number } | undefined {
  if (info === undefined || !(info.risk_lower < info.risk_upper)) return undefined;
  return { lower: info.risk_lower, upper: info.risk_upper };
}

/**
 * P(value above the upper line or below the lower) under a normal approximation of the 95%
 * interval: centered on its midpoint, σ = half-width / 1.96. A zero-width interval is a point.
 */
export function breachProbability(lower: number, upper: number, band: { lower: number; upper: number }): number {
  const center = (lower + upper) / 2;
  const sigma = (upper - lower) / (2 * 1.959963984540054);
  if (!(sigma > 0)) return center > band.upper || center < band.lower ? 1 : 0;
  const p = 1 - normalCdf((band.upper - center) / sigma) + normalCdf((band.lower - center) / sigma);
  return Math.min(1, Math.max(0, p));
}

/** Forecast step: the median recent interval between ticks, or the frequency's nominal step. */
function stepMs(s: IndicatorState, frequency: Frequency): number {
  if (s.intervalCount === 0) return STEP_MS_BY_FREQUENCY[frequency];
  const xs = Array.from(s.intervals.subarray(0, s.intervalCount)).sort((a, b) => a - b);
  const m = xs.length >> 1;
  const median = xs.length % 2 === 1 ? xs[m]! : (xs[m - 1]! + xs[m]!) / 2;
  return median > 0 ? median : STEP_MS_BY_FREQUENCY[frequency];
}

function medianAndMad(ring: Float64Array, n: number): { median: number; mad: number } {
  const xs = Float64Array.from(ring.subarray(0, n)).sort();
  const med = middle(xs);
  for (let i = 0; i < n; i++) xs[i] = Math.abs(xs[i]! - med);
  return { median: med, mad: middle(xs.sort()) };
}

function middle(sorted: Float64Array): number {
  const m = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[m]! : (sorted[m - 1]! + sorted[m]!) / 2;
}

function allocate(indicators: number, horizon: number): ForecastOutput {
  const n = Math.max(1, indicators);
  return {
    mean: new Float64Array(n * horizon),
    lower: new Float64Array(n * horizon),
    upper: new Float64Array(n * horizon),
    method: new Uint8Array(n),
  };
}

/** A number for people: at most 3 decimals (fewer for large values), no trailing zeros. */
function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  const digits = a >= 1000 ? 0 : a >= 100 ? 1 : a >= 1 ? 2 : 3;
  const s = v.toFixed(digits);
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/**
 * Shortens text to a contract's length limit. (schemas' `truncate` appends a marker after the
 * limit, which is right for dead-letter payloads but would break a bounded field.)
 */
function clip(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${text.slice(0, maxChars - 1)}…`;
}

function iso(ts: number): string {
  return new Date(ts).toISOString().replace('.000Z', 'Z');
}
