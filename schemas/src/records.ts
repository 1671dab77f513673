import { Type, type Static, type TLiteral, type TSchema, type TUnion } from '@sinclair/typebox';
import { EVENT_KINDS, SENSOR_KINDS } from './sensor-kinds.js';
import { WARNING_LEVELS } from './levels.js';

/*
 * Message contracts. Field names equal ClickHouse column names (store/ maps them 1:1), times are
 * epoch milliseconds (UTC), and every record carries `id` (stable, for idempotent writes) and
 * `schema_version` (a breaking change gets a new version with recorded examples).
 */

/** A union of string literals from a const list; Static<> of it is the list's element type. */
const literalUnion = <const T extends readonly string[]>(values: T, description: string) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    { description },
  ) as TUnion<TLiteral<T[number]>[]>;

/** Epoch milliseconds; bounded to 2000-01-01 … 2100-01-01 so seconds or microseconds are caught. */
export const EpochMs = Type.Integer({ minimum: 946_684_800_000, maximum: 4_102_444_800_000, description: 'epoch milliseconds, UTC' });
const Id = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:@/-]+$', description: 'stable id' });
const Name = Type.String({ minLength: 1, maxLength: 200 });
const Finite = (description: string) => Type.Number({ description });
const Lon = Type.Number({ minimum: -180, maximum: 180 });
const Lat = Type.Number({ minimum: -90, maximum: 90 });
const Version = <V extends number>(v: V) => Type.Literal(v, { description: 'schema version' });

export const SensorKindSchema = literalUnion(SENSOR_KINDS, 'sensor kind');
export const EventKindSchema = literalUnion(EVENT_KINDS, 'event kind');
export const WarningLevelSchema = literalUnion(WARNING_LEVELS, 'warning level: blue IV, yellow III, orange II, red I');
export const SourceKindSchema = literalUnion(['sensor', 'indicator', 'camera'] as const, 'what produced the evidence');

export const SensorReading = Type.Object(
  {
    id: Id,
    schema_version: Version(1),
    sensor_id: Id,
    kind: SensorKindSchema,
    ts: EpochMs,
    value: Finite('measured value in the kind’s unit'),
    unit: Type.String({ maxLength: 16 }),
  },
  { $id: 'SensorReading', additionalProperties: false },
);

/**
 * A reading as producers usually send it: the contract's own fields less the two ingest derives
 * (`id` from sensor_id and ts, and `schema_version`). Ingest checks input of exactly this shape
 * as it came, instead of first building the record to check it; any other shape (an id given,
 * unit left out) takes the general path.
 */
export const SensorReadingFields = Type.Object(
  {
    sensor_id: SensorReading.properties.sensor_id,
    kind: SensorReading.properties.kind,
    ts: SensorReading.properties.ts,
    value: SensorReading.properties.value,
    unit: SensorReading.properties.unit,
  },
  { additionalProperties: false },
);

export const MarketTick = Type.Object(
  {
    id: Id,
    schema_version: Version(1),
    indicator_id: Id,
    ts: EpochMs,
    value: Finite('indicator value in its unit'),
  },
  { $id: 'MarketTick', additionalProperties: false },
);

/**
 * A camera frame travels as raw bytes (the bus message value) with this header beside it (a bus
 * header), never as base64 inside JSON.
 */
export const CameraFrameHeader = Type.Object(
  {
    id: Id,
    schema_version: Version(1),
    camera_id: Id,
    ts: EpochMs,
    seq: Type.Integer({ minimum: 0 }),
    width: Type.Integer({ minimum: 1, maximum: 8192 }),
    height: Type.Integer({ minimum: 1, maximum: 8192 }),
    pixel_format: literalUnion(['rgb24', 'jpeg'] as const, 'payload encoding'),
    /** Letterbox applied by the decoder, so boxes can be mapped back to source pixels. */
    source_width: Type.Integer({ minimum: 1 }),
    source_height: Type.Integer({ minimum: 1 }),
    scale: Type.Number({ exclusiveMinimum: 0 }),
    pad_x: Type.Integer({ minimum: 0 }),
    pad_y: Type.Integer({ minimum: 0 }),
  },
  { $id: 'CameraFrameHeader', additionalProperties: false },
);

/** One detected object in one frame (boxes normalised to 0…1 of the source image). */
export const VisionDetection = Type.Object(
  {
    id: Id,
    schema_version: Version(1),
    camera_id: Id,
    frame_id: Id,
    ts: EpochMs,
    class_name: Name,
    score: Type.Number({ minimum: 0, maximum: 1 }),
    x1: Type.Number(),
    y1: Type.Number(),
    x2: Type.Number(),
    y2: Type.Number(),
    track_id: Type.String({ maxLength: 64 }),
    model_version: Name,
  },
  { $id: 'VisionDetection', additionalProperties: false },
);

/**
 * A picture kept as evidence of a camera warning: the analysed frame with the regions of faces and
 * licence plates pixelated (privacy by default: raw frames are never stored). The PNG bytes travel
 * as the bus message's binary value, this header beside them, like a camera frame.
 */
export const VisionSnapshot = Type.Object(
  {
    id: Id,
    schema_version: Version(1),
    camera_id: Id,
    ts: EpochMs,
    /** The warning it is evidence for (that warning's evidence_ids name this snapshot). */
    warning_id: Id,
    width: Type.Integer({ minimum: 1, maximum: 8192 }),
    height: Type.Integer({ minimum: 1, maximum: 8192 }),
    format: literalUnion(['png'] as const, 'image encoding'),
    /** Person and vehicle regions were pixelated before the picture left the worker. */
    masked: Type.Boolean(),
    model_version: Name,
  },
  { $id: 'VisionSnapshot', additionalProperties: false },
);

/** An abnormal observation, with why: what was expected, what came, which detector said so. */
export const Anomaly = Type.Object(
  {
    id: Id,
    schema_version: Version(1),
    ts: EpochMs,
    source_kind: SourceKindSchema,
    source_id: Id,
    /** Sensor kind, indicator id's family, or camera rule — free text bounded in length. */
    metric: Type.String({ maxLength: 64 }),
    area_id: Type.String({ maxLength: 64 }),
    value: Type.Number(),
    expected: Type.Number(),
    lower: Type.Number(),
    upper: Type.Number(),
    /** Detector-specific unusualness; higher is more unusual. */
    score: Type.Number({ minimum: 0 }),
    /** Probability that this is a real anomaly, 0…1. */
    probability: Type.Number({ minimum: 0, maximum: 1 }),
    detector: Name,
    detector_version: Name,
    reason: Type.String({ maxLength: 1000 }),
  },
  { $id: 'Anomaly', additionalProperties: false },
);

/** One step of a forecast path with its 95% interval. */
export const Forecast = Type.Object(
  {
    id: Id,
    schema_version: Version(1),
    indicator_id: Id,
    issued_at: EpochMs,
    target_ts: EpochMs,
    horizon_step: Type.Integer({ minimum: 1 }),
    mean: Type.Number(),
    lower: Type.Number(),
    upper: Type.Number(),
    /** Probability that the indicator is past its risk threshold at target_ts (0 if none set). */
    breach_probability: Type.Number({ minimum: 0, maximum: 1 }),
    model: Name,
    model_version: Name,
  },
  { $id: 'Forecast', additionalProperties: false },
);

/**
 * An early warning (预警). Machine-made decisions say so, carry their reasons and the
 * model/rule version that produced them, so a person can check and override.
 */
export const EarlyWarning = Type.Object(
  {
    id: Id,
    schema_version: Version(1),
    ts: EpochMs,
    level: WarningLevelSchema,
    kind: EventKindSchema,
    area_id: Type.String({ maxLength: 64 }),
    source_kind: SourceKindSchema,
    source_id: Id,
    lon: Lon,
    lat: Lat,
    title: Type.String({ maxLength: 300 }),
    reasons: Type.Array(Type.String({ maxLength: 500 }), { maxItems: 20 }),
    score: Type.Number({ minimum: 0 }),
    evidence_ids: Type.Array(Id, { maxItems: 100 }),
    produced_by: Name,
    machine_made: Type.Boolean(),
  },
  { $id: 'EarlyWarning', additionalProperties: false },
);

/**
 * The condition behind a source's warnings has ended: its episode closed (the sensor is back in
 * its expected band for long enough). The incidents role uses it to verify a resolved case
 * before closing it; warnings themselves are immutable records of what was raised.
 */
export const WarningCleared = Type.Object(
  {
    id: Id,
    schema_version: Version(1),
    /** When the condition was seen to end (event time of the point that closed the episode). */
    ts: EpochMs,
    kind: EventKindSchema,
    area_id: Type.String({ maxLength: 64 }),
    source_kind: SourceKindSchema,
    source_id: Id,
    /** Event time of the episode's first anomalous point: with source_id, the episode's identity. */
    started_at: EpochMs,
    /** The warnings this all-clear ends (every level the episode raised); empty: all of the source's. */
    warning_ids: Type.Array(Id, { maxItems: 20 }),
    reason: Type.String({ maxLength: 500 }),
    produced_by: Name,
    machine_made: Type.Boolean(),
  },
  { $id: 'WarningCleared', additionalProperties: false },
);

export const INCIDENT_STATUSES = ['open', 'dispatched', 'accepted', 'resolved', 'closed'] as const;
export const IncidentStatusSchema = literalUnion(INCIDENT_STATUSES, 'incident lifecycle stage');

/** The current state of an incident; every change is also an IncidentEvent (the audit trail). */
export const Incident = Type.Object(
  {
    id: Id,
    schema_version: Version(1),
    opened_at: EpochMs,
    updated_at: EpochMs,
    kind: EventKindSchema,
    area_id: Type.String({ maxLength: 64 }),
    level: WarningLevelSchema,
    status: IncidentStatusSchema,
    title: Type.String({ maxLength: 300 }),
    department_id: Type.String({ maxLength: 64 }),
    warning_ids: Type.Array(Id, { maxItems: 1000 }),
    lon: Lon,
    lat: Lat,
    rule_version: Name,
    /** Monotonic per incident: the store keeps the row with the highest revision. */
    revision: Type.Integer({ minimum: 1 }),
  },
  { $id: 'Incident', additionalProperties: false },
);

export const INCIDENT_EVENT_TYPES = [
  'opened',
  'warning_joined',
  'level_raised',
  'dispatched',
  'accepted',
  'escalated',
  'commented',
  'resolved',
  'closed',
  /** The machine proposes a department and waits for a commander (rule `dispatch: confirm`). */
  'proposed',
  /** A commander confirmed (or overrode) a proposal; a dispatch order goes out with it. */
  'confirmed',
  /** The department reports it is on site (starts the resolve stage's clock). */
  'arrived',
  /** A commander sends the case to another department. */
  'reassigned',
  /** A commander withdraws a dispatch; the case waits for a new decision. */
  'recalled',
  /** An SLA clock ran out (`stage` says which). */
  'sla_breached',
  /** A warning's condition is over (sensor back in range, warning closed); `ref_ids` name the warnings. */
  'all_clear',
  /** The resolution was checked: by the machine from all-clear signals, or by a person. */
  'verified',
  /** Incidents were merged: on the survivor `ref_ids` are the absorbed incidents, on an absorbed one the survivor. */
  'merged',
  /** Warnings were split off into a new incident; `ref_ids` are the warnings (and the new incident). */
  'split',
  /** Severity or priority changed (new evidence, spread, duration); `detail` gives the reasons. */
  'severity_changed',
] as const;

export const SLA_STAGES = ['', 'confirm', 'accept', 'arrive', 'resolve', 'verify'] as const;

/**
 * One step of an incident's life (the audit trail). Besides what happened, each event carries
 * the case's state *after* the step — lead and assisting departments, severity, priority, the
 * running SLA clock, escalation level — so state can be rebuilt from the events alone after a
 * restart, and SLA compliance can be computed in SQL.
 */
export const IncidentEvent = Type.Object(
  {
    id: Id,
    schema_version: Version(1),
    incident_id: Id,
    ts: EpochMs,
    type: literalUnion(INCIDENT_EVENT_TYPES, 'lifecycle step'),
    /** `machine:<component>@<version>` or `user:<login>`. */
    actor: Name,
    machine_made: Type.Boolean(),
    detail: Type.String({ maxLength: 2000 }),
    /** The incident revision this step produced (events of one revision describe one change). */
    revision: Type.Integer({ minimum: 1 }),
    /** Lead department after the step ('' while none is proposed). */
    department_id: Type.String({ maxLength: 64 }),
    /** Assisting departments after the step. */
    assist_ids: Type.Array(Id, { maxItems: 20 }),
    /** 0…100, from level, spread, duration and exposure; `severity_changed` events give the reasons. */
    severity: Type.Number({ minimum: 0, maximum: 100 }),
    /** 'P1' (most urgent) … 'P4'. */
    priority: literalUnion(['P1', 'P2', 'P3', 'P4'] as const, 'priority'),
    /** The SLA stage whose clock runs after the step ('' when none runs). */
    stage: literalUnion(SLA_STAGES, 'SLA stage'),
    /** When that clock runs out, epoch ms; 0 when none runs. */
    due_at: Type.Integer({ minimum: 0, maximum: 4_102_444_800_000 }),
    /** 0 = with the lead department; n = escalated n steps up its escalation chain. */
    escalation_level: Type.Integer({ minimum: 0, maximum: 20 }),
    /**
     * What the step concerns: for `opened`/`warning_joined` the warning, its source, then its
     * evidence (anomalies, detections, forecasts); for `all_clear` the warnings cleared; for
     * `merged`/`split` the other incident(s) and moved warnings.
     */
    ref_ids: Type.Array(Id, { maxItems: 200 }),
  },
  { $id: 'IncidentEvent', additionalProperties: false },
);

export const DispatchOrder = Type.Object(
  {
    id: Id,
    schema_version: Version(1),
    incident_id: Id,
    ts: EpochMs,
    department_id: Type.String({ minLength: 1, maxLength: 64 }),
    kind: EventKindSchema,
    area_id: Type.String({ maxLength: 64 }),
    level: WarningLevelSchema,
    reason: Type.String({ maxLength: 1000 }),
    rule_version: Name,
    machine_made: Type.Boolean(),
    accept_due: EpochMs,
    resolve_due: EpochMs,
  },
  { $id: 'DispatchOrder', additionalProperties: false },
);

export const FieldError = Type.Object({ path: Type.String(), message: Type.String() }, { additionalProperties: false });

/** A rejected message and why; nothing accepted is dropped silently. */
export const DeadLetter = Type.Object(
  {
    id: Id,
    schema_version: Version(1),
    ts: EpochMs,
    /** Topic or endpoint it came from, e.g. `sensor.readings` or `http:/api/ingest/readings`. */
    source: Type.String({ maxLength: 200 }),
    reason: Type.String({ maxLength: 2000 }),
    errors: Type.Array(FieldError, { maxItems: 50 }),
    /** The offending input as text, truncated to 64 KiB. */
    payload: Type.String(),
    key: Type.String({ maxLength: 200 }),
  },
  { $id: 'DeadLetter', additionalProperties: false },
);

/* Dimensions: what exists in the city. Written by the simulator or administrators. */

export const Area = Type.Object(
  {
    id: Id,
    schema_version: Version(1),
    name_zh: Name,
    name_en: Name,
    /** Population, used to weigh the severity of incidents in the area. */
    population: Type.Integer({ minimum: 0 }),
    /** Polygon rings as GeoJSON geometry text (kept as text: ClickHouse stores it verbatim). */
    geometry: Type.String(),
    lon: Lon,
    lat: Lat,
  },
  { $id: 'Area', additionalProperties: false },
);

export const Sensor = Type.Object(
  {
    id: Id,
    schema_version: Version(1),
    kind: SensorKindSchema,
    area_id: Type.String({ maxLength: 64 }),
    name: Name,
    lon: Lon,
    lat: Lat,
    unit: Type.String({ maxLength: 16 }),
  },
  { $id: 'Sensor', additionalProperties: false },
);

export const Camera = Type.Object(
  {
    id: Id,
    schema_version: Version(1),
    area_id: Type.String({ maxLength: 64 }),
    name: Name,
    url: Type.String({ maxLength: 2000 }),
    lon: Lon,
    lat: Lat,
    fps: Type.Number({ exclusiveMinimum: 0, maximum: 60 }),
  },
  { $id: 'Camera', additionalProperties: false },
);

export const Indicator = Type.Object(
  {
    id: Id,
    schema_version: Version(1),
    name_zh: Name,
    name_en: Name,
    unit: Type.String({ maxLength: 16 }),
    frequency: literalUnion(['minute', 'hour', 'day', 'week', 'month'] as const, 'observation frequency'),
    /** Risk thresholds; a forecast's breach probability is P(value > upper or < lower). */
    risk_upper: Type.Number(),
    risk_lower: Type.Number(),
  },
  { $id: 'Indicator', additionalProperties: false },
);

export const Department = Type.Object(
  {
    id: Id,
    schema_version: Version(1),
    name_zh: Name,
    name_en: Name,
    /** Where the department's field units start from (its station); optional, added within v1. */
    lon: Type.Optional(Lon),
    lat: Type.Optional(Lat),
    /** How many field units or crews it has (counted, not tracked); optional, added within v1. */
    units: Type.Optional(Type.Integer({ minimum: 0, maximum: 500, description: 'field units or crews' })),
  },
  { $id: 'Department', additionalProperties: false },
);

/**
 * Takes a camera, sensor or area out of service, or back into it. Dimension records are
 * replaced whole and never deleted (the audit trail and past facts name them), so leaving service
 * is a record of its own: keyed by what it concerns (`id` = `<target>:<target_id>`), the latest
 * one wins. A retired camera stops being analysed; retired things leave the wall and the lists.
 */
export const Retirement = Type.Object(
  {
    id: Id,
    schema_version: Version(1),
    target: literalUnion(['Area', 'Sensor', 'Camera'] as const, 'what is retired'),
    target_id: Id,
    /** false: back in service. */
    retired: Type.Boolean(),
    ts: EpochMs,
    reason: Type.String({ maxLength: 500 }),
  },
  { $id: 'Retirement', additionalProperties: false },
);

/** An incident the simulator injected: what, where, when, which sources it affects. */
export const GroundTruthEvent = Type.Object(
  {
    id: Id,
    schema_version: Version(1),
    kind: EventKindSchema,
    area_id: Type.String({ maxLength: 64 }),
    source_ids: Type.Array(Id, { maxItems: 500 }),
    start_ts: EpochMs,
    end_ts: EpochMs,
    /** The level a good detector should reach for it. */
    expected_level: WarningLevelSchema,
    lon: Lon,
    lat: Lat,
    description: Type.String({ maxLength: 500 }),
  },
  { $id: 'GroundTruthEvent', additionalProperties: false },
);

/** A worker's state as /api/health reports it. */
export const WorkerHealth = Type.Object(
  {
    name: Name,
    state: literalUnion(['starting', 'running', 'paused', 'stopped', 'failed'] as const, 'worker state'),
    /** Messages its consumer group has not processed yet. */
    lag: Type.Integer({ minimum: 0 }),
    processed: Type.Integer({ minimum: 0 }),
    dead_lettered: Type.Integer({ minimum: 0 }),
    last_error: Type.String(),
    /** Worker-specific counters (e.g. dropped_stale_frames, warnings_open), units in the name. */
    counters: Type.Record(Type.String(), Type.Number()),
  },
  { $id: 'WorkerHealth', additionalProperties: false },
);

/** GET /api/health: is the system alive, how much has it stored, is any worker behind. */
export const HealthReport = Type.Object(
  {
    status: literalUnion(['ok', 'degraded', 'failing'] as const, 'overall state'),
    version: Type.String(),
    role: Type.String(),
    uptime_s: Type.Number({ minimum: 0 }),
    bus: Type.Object({ kind: Type.String(), ok: Type.Boolean(), detail: Type.String() }),
    store: Type.Object({ kind: Type.String(), ok: Type.Boolean(), detail: Type.String() }),
    /** Rows stored per table, duplicates collapsed. */
    tables: Type.Record(Type.String(), Type.Integer({ minimum: 0 })),
    workers: Type.Array(WorkerHealth),
  },
  { $id: 'HealthReport', additionalProperties: false },
);

export type SensorReading = Static<typeof SensorReading>;
export type SensorReadingFields = Static<typeof SensorReadingFields>;
export type MarketTick = Static<typeof MarketTick>;
export type CameraFrameHeader = Static<typeof CameraFrameHeader>;
export type VisionDetection = Static<typeof VisionDetection>;
export type VisionSnapshot = Static<typeof VisionSnapshot>;
export type Anomaly = Static<typeof Anomaly>;
export type Forecast = Static<typeof Forecast>;
export type EarlyWarning = Static<typeof EarlyWarning>;
export type WarningCleared = Static<typeof WarningCleared>;
export type Incident = Static<typeof Incident>;
export type IncidentStatus = Static<typeof IncidentStatusSchema>;
export type IncidentEvent = Static<typeof IncidentEvent>;
export type IncidentEventType = IncidentEvent['type'];
export type SlaStage = IncidentEvent['stage'];
export type Priority = IncidentEvent['priority'];
export type DispatchOrder = Static<typeof DispatchOrder>;
export type DeadLetter = Static<typeof DeadLetter>;
export type FieldError = Static<typeof FieldError>;
export type Area = Static<typeof Area>;
export type Sensor = Static<typeof Sensor>;
export type Camera = Static<typeof Camera>;
export type Indicator = Static<typeof Indicator>;
export type Department = Static<typeof Department>;
export type Retirement = Static<typeof Retirement>;
export type SourceKind = Static<typeof SourceKindSchema>;
export type GroundTruthEvent = Static<typeof GroundTruthEvent>;
export type WorkerHealth = Static<typeof WorkerHealth>;
export type HealthReport = Static<typeof HealthReport>;

/** Every contract by name; JSON Schema export and the store's table map iterate over it. */
export const RECORD_SCHEMAS = {
  SensorReading,
  MarketTick,
  CameraFrameHeader,
  VisionDetection,
  VisionSnapshot,
  Anomaly,
  Forecast,
  EarlyWarning,
  WarningCleared,
  Incident,
  IncidentEvent,
  DispatchOrder,
  DeadLetter,
  Area,
  Sensor,
  Camera,
  Indicator,
  Department,
  Retirement,
  GroundTruthEvent,
  WorkerHealth,
  HealthReport,
} as const satisfies Record<string, TSchema>;
export type RecordName = keyof typeof RECORD_SCHEMAS;
