import {
  EVENT_KIND_LABELS,
  WARNING_LEVEL_INFO,
  levelRank,
  maxLevel,
  stableId,
  type Clock,
  type DispatchOrder,
  type EarlyWarning,
  type EventKind,
  type Incident,
  type IncidentEvent,
  type IncidentEventType,
  type IncidentStatus,
  type Priority,
  type SlaStage,
  type WarningLevel,
} from '@cityops/schemas';
import { IncidentsError } from './errors.js';
import {
  dispatchModeFor,
  escalationChain,
  kindsRelated,
  lookupResponsibility,
  onDuty,
  type ResponsibilityMatch,
  type ResponsibilityTable,
} from './responsibility-table.js';
import { assessSeverity, priorityOf } from './severity.js';
import { INCIDENTS_VERSION } from './version.js';

/*
 * The incident engine: warnings and all-clear signals in; incidents, lifecycle events and
 * dispatch orders out; SLA clocks that escalate when they run out. Pure and synchronous — no I/O,
 * time comes from the injected clock — so the worker decides when results are published and
 * committed, and tests drive it step by step, through restarts.
 *
 * Two clocks, on purpose:
 * - Event time (a warning's `ts`, capped at now) decides grouping: a warning joins an incident
 *   when it came within the window of the incident's last activity. A backlog replayed after an
 *   outage then groups as it would have live. `opened_at`/`updated_at` follow it.
 * - The engine's clock stamps what the machine and people do: event `ts`, dispatch `ts` and
 *   every SLA due time (a department's time runs from when it was sent the case).
 *
 * Durable state: every event carries the case's state after its step (departments, severity,
 * priority, running clock, escalation level, revision), so `restore` rebuilds a case from its
 * latest incident record and its events; see README "Restart".
 */

/** `machine:<component>@<version>` — every machine-made event says which release made it. */
export const MACHINE_ACTOR = `machine:incidents@${INCIDENTS_VERSION}`;

/** The Incident contract caps `warning_ids` at 1000; later warnings are recorded in their events. */
export const MAX_WARNING_IDS_PER_INCIDENT = 1000;

const MAX_DETAIL_CHARS = 2000;
const MAX_REASON_CHARS = 1000;
const MAX_REF_IDS = 200;
const MAX_EVIDENCE_PER_WARNING = 50;
const LOGIN_PATTERN = /^[A-Za-z0-9._@-]{1,64}$/;
/** Severity moves by at least this much before a `severity_changed` event is worth a line. */
const SEVERITY_EVENT_STEP = 5;

export interface IncidentEngineOptions {
  /** The responsibility table (权责清单); `setTable` swaps it at run time. */
  table: ResponsibilityTable;
  /** Time source for event times, dispatch times and SLA clocks (Date.now in production). */
  clock: Clock;
  /**
   * Overrides the table's `correlation.window_minutes`: a warning joins an incident if it came
   * at most this long after the incident's last activity. Default: the table's (30 min).
   */
  joinWindowMs?: number;
  /**
   * Close incidents with no activity for this long, saying they were closed without
   * verification. Default undefined: never — closing is a person's decision or follows a
   * verification.
   */
  autoCloseAfterMs?: number;
  /**
   * How many closed incidents (with their warning ids) to remember, so a warning redelivered
   * after its incident closed stays a no-op instead of reopening it. Default 10 000.
   */
  rememberClosedIncidents?: number;
}

/** One change to one incident: its new state, the audit events, and a dispatch order if one was made. */
export interface IncidentChange {
  incident: Incident;
  events: IncidentEvent[];
  dispatch?: DispatchOrder;
}

export type WarningOutcome =
  | (IncidentChange & { outcome: 'opened' | 'joined' })
  /** The warning was seen before: nothing changed. `incident` is undefined if it has since closed. */
  | { outcome: 'duplicate'; incidentId: string; incident: Incident | undefined; events: []; dispatch?: undefined };

/** Who does a commander action; becomes `user:<login>` on the events. */
export interface ActorInput {
  login: string;
  /** Free text kept on the audit trail. */
  note?: string;
}

/**
 * A condition is over: a warning closed, a sensor is back in its band. Names the warnings, or a
 * source whose warnings all clear. The worker (or whoever watches the readings) feeds these; the
 * engine verifies a resolution when every warning of the case has been clear long enough.
 */
export interface AllClearSignal {
  /** When the condition ended (event time; capped at now). */
  ts: number;
  warning_ids?: readonly string[];
  source_id?: string;
  /** Why, for the audit trail: "water level 4 cm, back below 10 cm". */
  reason: string;
}

export type VerificationState =
  /** Not resolved yet. */
  | 'none'
  /** Resolved; waiting for the all-clear (or a person). */
  | 'pending'
  /** Resolved; the all-clear did not come within the wait: a person must verify. */
  | 'needs_person'
  | 'auto'
  | 'manual'
  /** Closed without a verification (false alarm, merged, auto-closed). */
  | 'unverified';

/** One warning in an incident's evidence chain. */
export interface EvidenceLink {
  warning_id: string;
  /** `<source_kind>:<source_id>`, e.g. `sensor:s-water-01`; '' when restored from an old event. */
  source: string;
  /** Anomalies, detections or forecasts the warning rests on. */
  evidence_ids: readonly string[];
  level: WarningLevel | '';
  ts: number;
  /** Its condition is over (an all-clear came). */
  cleared: boolean;
}

/** An incident with everything the engine knows about it: what the API's detail shows. */
export interface CaseView {
  incident: Incident;
  severity: number;
  priority: Priority;
  severity_reasons: readonly string[];
  assist_ids: readonly string[];
  /** The SLA stage whose clock runs ('' when none). */
  stage: SlaStage;
  /** When it runs out; 0 when no clock runs (with a stage: the escalation chain is exhausted). */
  due_at: number;
  escalation_level: number;
  /** The department the case was escalated to ('' at level 0). */
  escalated_to: string;
  evidence: readonly EvidenceLink[];
  verification: VerificationState;
  /** Since when every warning has been clear (0 when some is not). */
  clear_since: number;
}

export interface RestoreSummary {
  /** Incidents now held (not closed). */
  live: number;
  /** Closed incidents remembered so their warnings stay no-ops. */
  closed: number;
  /** Records ignored because a newer revision of the same incident was already known. */
  stale: number;
  /** Live incidents without events to rebuild their clocks from (clocks recomputed from the table). */
  withoutEvents: number;
}

interface WarningInfo {
  source: string;
  evidence: string[];
  level: WarningLevel | '';
  kind: EventKind | '';
  area_id: string;
  lon: number;
  lat: number;
  ts: number;
  cleared: boolean;
}

interface CaseState {
  incident: Incident;
  severity: number;
  priority: Priority;
  reasons: string[];
  assist: string[];
  stage: SlaStage;
  dueAt: number;
  escalation: number;
  /** When the department was (last) sent the case; 0 before. Resolve is due from here. */
  dispatchedAt: number;
  resolveDue: number;
  verification: VerificationState;
  clearSince: number;
  /** Warning id → what the engine knows of it, in arrival order (the evidence chain). */
  warnings: Map<string, WarningInfo>;
}

interface ClosedMemory {
  revision: number;
  warningIds: readonly string[];
}

const JOINABLE: ReadonlySet<IncidentStatus> = new Set(['open', 'dispatched', 'accepted']);
const ALL_LIVE: readonly IncidentStatus[] = ['open', 'dispatched', 'accepted', 'resolved'];

export class IncidentEngine {
  private tableInForce: ResponsibilityTable;
  private readonly clock: Clock;
  private readonly joinWindowOverride: number | undefined;
  private readonly autoCloseAfterMs: number | undefined;
  private readonly rememberClosed: number;
  /** Incidents not closed, by id. */
  private readonly live = new Map<string, CaseState>();
  /** Recently closed incidents, oldest first (Map keeps insertion order), bounded. */
  private readonly closed = new Map<string, ClosedMemory>();
  /** Warning id → the incident it joined, for every live or remembered closed incident. */
  private readonly warningOwner = new Map<string, string>();

  constructor(options: IncidentEngineOptions) {
    this.tableInForce = options.table;
    this.clock = options.clock;
    this.joinWindowOverride = options.joinWindowMs === undefined ? undefined : positive(options.joinWindowMs, 'joinWindowMs');
    this.autoCloseAfterMs = options.autoCloseAfterMs === undefined ? undefined : positive(options.autoCloseAfterMs, 'autoCloseAfterMs');
    this.rememberClosed = positive(options.rememberClosedIncidents ?? 10_000, 'rememberClosedIncidents');
  }

  /** The table version this engine dispatches by. */
  get ruleVersion(): string {
    return this.tableInForce.version;
  }

  get table(): ResponsibilityTable {
    return this.tableInForce;
  }

  /**
   * Puts another table version in force (a rule change without restart). New incidents and
   * dispatches follow it; clocks already running keep the due times promised under the old one.
   */
  setTable(table: ResponsibilityTable): void {
    this.tableInForce = table;
  }

  /** Incidents not yet closed (open, dispatched, accepted, resolved). */
  incidents(): Incident[] {
    return [...this.live.values()].map((c) => c.incident);
  }

  get(incidentId: string): Incident | undefined {
    return this.live.get(incidentId)?.incident;
  }

  /** Everything known about a live incident, or undefined if it is unknown or closed. */
  view(incidentId: string): CaseView | undefined {
    const c = this.live.get(incidentId);
    return c === undefined ? undefined : this.toView(c);
  }

  views(): CaseView[] {
    return [...this.live.values()].map((c) => this.toView(c));
  }

  /** How many incidents are not yet closed. */
  get liveCount(): number {
    return this.live.size;
  }

  /** Whether the engine remembers `incidentId` as closed. */
  isClosed(incidentId: string): boolean {
    return this.closed.has(incidentId);
  }

  /** The earliest running SLA clock (for the worker's timer); undefined when none runs. */
  nextDueAt(): number | undefined {
    let next: number | undefined;
    for (const c of this.live.values()) if (c.dueAt > 0 && (next === undefined || c.dueAt < next)) next = c.dueAt;
    return next;
  }

  /**
   * Rebuilds state from what the engine emitted: incident records (the latest revision of each id
   * wins, in any order) and the incident events. Each live incident takes its severity, priority,
   * departments, SLA clock and escalation level from its latest event of a revision it has
   * reached (events of a newer revision belong to a change whose incident record was never
   * published; it is recomputed from the redelivered warning). Its evidence chain and all-clear
   * state are folded from all its events. Call before the first warning so a restart does not
   * open duplicates; clocks that ran out while the role was down fire on the next `tick()`.
   */
  restore(records: Iterable<Incident>, events: Iterable<IncidentEvent> = []): RestoreSummary {
    let stale = 0;
    const touched = new Set<string>();
    for (const record of records) {
      const known = this.live.get(record.id)?.incident.revision ?? this.closed.get(record.id)?.revision;
      if (known !== undefined && known >= record.revision) {
        stale++;
        continue;
      }
      if (record.status === 'closed') {
        const previous = this.live.get(record.id);
        this.live.delete(record.id);
        if (previous !== undefined) touched.delete(record.id);
        this.remember(record);
      } else {
        this.closed.delete(record.id);
        this.live.set(record.id, this.blankCase(record));
        for (const w of record.warning_ids) this.warningOwner.set(w, record.id);
        touched.add(record.id);
      }
    }
    const byIncident = new Map<string, IncidentEvent[]>();
    for (const e of events) {
      if (!touched.has(e.incident_id)) continue;
      let list = byIncident.get(e.incident_id);
      if (list === undefined) byIncident.set(e.incident_id, (list = []));
      list.push(e);
    }
    let withoutEvents = 0;
    for (const id of touched) {
      const c = this.live.get(id);
      if (c === undefined) continue;
      const list = (byIncident.get(id) ?? []).filter((e) => e.revision <= c.incident.revision);
      if (list.length === 0) {
        withoutEvents++;
        this.recomputeClock(c);
      } else this.fold(c, list);
    }
    return { live: this.live.size, closed: this.closed.size, stale, withoutEvents };
  }

  /**
   * Feeds one validated warning. It joins the live incident of a related kind, near in space and
   * time, or opens a new one (dispatched by the responsibility table, or proposed for a
   * commander). The same warning id twice is a no-op, so at-least-once delivery cannot
   * double-count.
   */
  onWarning(warning: EarlyWarning): WarningOutcome {
    const owner = this.warningOwner.get(warning.id);
    // The id of the incident this warning would open: known already means seen already.
    const openedId = stableId(warning.id);
    const seenAs = owner ?? (this.live.has(openedId) || this.closed.has(openedId) ? openedId : undefined);
    if (seenAs !== undefined) {
      return { outcome: 'duplicate', incidentId: seenAs, incident: this.live.get(seenAs)?.incident, events: [] };
    }
    const now = this.clock();
    // A warning stamped in the future (a forecast's target time, a drifting device clock) is
    // active now, not later: otherwise it would hold its incident open past the window.
    const activity = Math.min(warning.ts, now);
    const target = this.findJoinable(warning, activity);
    return target === undefined
      ? { outcome: 'opened', ...this.open(warning, openedId, activity, now) }
      : { outcome: 'joined', ...this.join(target, warning, activity, now) };
  }

  /** Marks warnings clear; a case whose warnings are all clear is verified by `tick()` after the quiet time. */
  onAllClear(signal: AllClearSignal): IncidentChange[] {
    const now = this.clock();
    const at = Math.min(signal.ts, now);
    const named = new Set(signal.warning_ids ?? []);
    const source = signal.source_id;
    const changes: IncidentChange[] = [];
    for (const c of this.live.values()) {
      const cleared: string[] = [];
      for (const [id, w] of c.warnings) {
        if (w.cleared) continue;
        if (named.has(id) || (source !== undefined && w.source.endsWith(`:${source}`))) {
          w.cleared = true;
          cleared.push(id);
        }
      }
      if (cleared.length === 0) continue;
      const allClear = [...c.warnings.values()].every((w) => w.cleared);
      if (allClear) c.clearSince = Math.max(c.clearSince, at);
      this.bump(c, {}, now);
      const remaining = [...c.warnings.values()].filter((w) => !w.cleared).length;
      const state = allClear ? 'every warning of the case is clear' : `${remaining} warning(s) still active`;
      changes.push({
        incident: c.incident,
        events: [
          this.event(c, 'all_clear', MACHINE_ACTOR, `all-clear for ${cleared.join(', ')}: ${signal.reason}; ${state}`, now, cleared),
        ],
      });
    }
    return changes;
  }

  /**
   * Runs the clocks: escalates cases whose SLA stage ran out, verifies and closes resolved cases
   * whose warnings have been clear for the table's quiet time, and auto-closes idle cases if
   * configured. The worker calls it on a timer and after each batch; tests call it after moving
   * the clock.
   */
  tick(): IncidentChange[] {
    const now = this.clock();
    const changes: IncidentChange[] = [];
    for (const c of [...this.live.values()]) {
      const verified = this.tryAutoVerify(c, now);
      if (verified !== undefined) {
        changes.push(verified);
        continue;
      }
      if (c.dueAt > 0 && now >= c.dueAt) changes.push(this.expire(c, now));
      if (this.autoCloseAfterMs !== undefined && this.live.has(c.incident.id) && now - c.incident.updated_at >= this.autoCloseAfterMs) {
        const detail = `closed without verification: no activity for ${formatMinutes(this.autoCloseAfterMs)} minutes (was ${c.incident.status}; auto-close is configured)`;
        changes.push(this.closeCase(c, MACHINE_ACTOR, detail, now, 'unverified'));
      }
    }
    return changes;
  }

  /** Kept for callers of the first version: `tick()` does this and more. */
  closeIdle(): IncidentChange[] {
    return this.tick();
  }

  /**
   * A commander confirms the dispatch the table proposed (rule `dispatch: confirm`), or sends the
   * case to another department instead — people can override the machine.
   */
  confirmDispatch(incidentId: string, input: ActorInput & { departmentId?: string }): IncidentChange {
    const c = this.require(incidentId, ['open'], 'confirm a dispatch');
    const actor = userActor(input.login);
    const now = this.clock();
    const proposed = this.match(c.incident);
    const department = this.department(input.departmentId ?? c.incident.department_id);
    const overridden = department.id !== proposed.department.id;
    const why = overridden
      ? `${actor} sent the case to ${department.name_zh} (${department.id}) instead of the table's ${proposed.department.name_zh} (${proposed.department.id})${noteText(input.note)}; the table said: ${proposed.reason}`
      : `${actor} confirmed the table's proposal${noteText(input.note)}; ${proposed.reason}`;
    return this.dispatchTo(
      c,
      department.id,
      overridden ? [] : proposed.assist.map((d) => d.id),
      proposed,
      why,
      actor,
      'confirmed',
      now,
      false,
    );
  }

  /** A commander sends a dispatched or accepted case to another department; its clocks start again. */
  reassign(incidentId: string, input: ActorInput & { departmentId: string }): IncidentChange {
    const c = this.require(incidentId, ['dispatched', 'accepted'], 'reassign');
    const actor = userActor(input.login);
    const now = this.clock();
    const department = this.department(input.departmentId);
    if (department.id === c.incident.department_id) {
      throw new IncidentsError(
        'invalid-argument',
        `expected another department than the current ${department.id} to reassign to; got the same`,
      );
    }
    const why = `${actor} reassigned the case from ${c.incident.department_id} to ${department.name_zh} (${department.id})${noteText(input.note)}`;
    return this.dispatchTo(
      c,
      department.id,
      c.assist.filter((d) => d !== department.id),
      this.match(c.incident),
      why,
      actor,
      'reassigned',
      now,
      false,
    );
  }

  /** A commander withdraws a dispatch: the case waits for a new decision (confirm or reassign). */
  recall(incidentId: string, input: ActorInput): IncidentChange {
    const c = this.require(incidentId, ['dispatched', 'accepted'], 'recall');
    const actor = userActor(input.login);
    const now = this.clock();
    const from = c.incident.department_id;
    c.escalation = 0;
    c.dispatchedAt = 0;
    c.resolveDue = 0;
    this.bump(c, { status: 'open' }, now);
    this.startClock(c, 'confirm', now + this.match(c.incident).rule.sla.confirm_minutes * 60_000);
    const detail = `${actor} recalled the dispatch to ${from}${noteText(input.note)}; the case awaits a commander's decision`;
    return { incident: c.incident, events: [this.event(c, 'recalled', actor, detail, now)] };
  }

  /** The department takes the case. */
  accept(incidentId: string, input: ActorInput): IncidentChange {
    const c = this.require(incidentId, ['dispatched'], 'accept');
    const actor = userActor(input.login);
    const now = this.clock();
    this.bump(c, { status: 'accepted' }, now);
    const arrive = this.match(c.incident).rule.sla.arrive_minutes;
    if (arrive > 0) this.startClock(c, 'arrive', now + arrive * 60_000);
    else this.startClock(c, 'resolve', c.resolveDue);
    c.escalation = 0;
    return { incident: c.incident, events: [this.event(c, 'accepted', actor, `${actor} accepted the case${noteText(input.note)}`, now)] };
  }

  /** The department is on site; the resolve clock (from dispatch) runs on. */
  arrive(incidentId: string, input: ActorInput): IncidentChange {
    const c = this.require(incidentId, ['accepted'], 'report arrival');
    if (c.stage !== 'arrive') {
      throw new IncidentsError(
        'invalid-transition',
        `expected incident ${incidentId} to be awaiting arrival; got stage '${c.stage}' (arrival already reported or not required)`,
      );
    }
    const actor = userActor(input.login);
    const now = this.clock();
    this.bump(c, {}, now);
    c.escalation = 0;
    this.startClock(c, 'resolve', c.resolveDue);
    return {
      incident: c.incident,
      events: [this.event(c, 'arrived', actor, `${actor} reported arrival on site${noteText(input.note)}`, now)],
    };
  }

  /** The department reports the case handled; it is then verified (by the data or a person) and closed. */
  resolve(incidentId: string, input: ActorInput): IncidentChange {
    const c = this.require(incidentId, ['dispatched', 'accepted'], 'resolve');
    const actor = userActor(input.login);
    const now = this.clock();
    this.bump(c, { status: 'resolved' }, now);
    c.escalation = 0;
    c.verification = 'pending';
    this.startClock(c, 'verify', now + this.tableInForce.verification.maxWaitMs);
    const waiting = `awaiting verification: the machine closes it once every warning has been clear for ${formatMinutes(this.tableInForce.verification.quietMs)} min`;
    return {
      incident: c.incident,
      events: [this.event(c, 'resolved', actor, `${actor} reported the case resolved${noteText(input.note)}; ${waiting}`, now)],
    };
  }

  /** A person verifies a resolution (on site, by camera) and closes the case. */
  verify(incidentId: string, input: ActorInput): IncidentChange {
    const c = this.require(incidentId, ['resolved'], 'verify');
    const actor = userActor(input.login);
    const now = this.clock();
    this.bump(c, {}, now);
    const verified = this.event(c, 'verified', actor, `${actor} verified the resolution${noteText(input.note)}`, now);
    const change = this.closeCase(c, actor, `${actor} closed the case after verifying its resolution`, now, 'manual');
    return { incident: change.incident, events: [verified, ...change.events] };
  }

  /**
   * A commander closes the case without a verification: a false alarm, or a resolution nobody
   * could check. The event says so, so reports can count it.
   */
  close(incidentId: string, input: ActorInput): IncidentChange {
    const c = this.require(incidentId, ALL_LIVE, 'close');
    const actor = userActor(input.login);
    const now = this.clock();
    const what =
      c.incident.status === 'resolved'
        ? `${actor} closed the case without verification (resolved, not verified)${noteText(input.note)}`
        : `${actor} closed the case without verification while it was ${c.incident.status} (not resolved)${noteText(input.note)}`;
    return this.closeCase(c, actor, what, now, 'unverified');
  }

  /** A commander escalates by hand: the next level of the escalation chain is told and takes over the clock. */
  escalate(incidentId: string, input: ActorInput): IncidentChange {
    const c = this.require(incidentId, ['open', 'dispatched', 'accepted'], 'escalate');
    const actor = userActor(input.login);
    const now = this.clock();
    const chain = this.chainOf(c);
    const target = chain[c.escalation];
    if (target === undefined) {
      throw new IncidentsError(
        'invalid-transition',
        `expected a next level to escalate incident ${incidentId} to; got none (chain ${chain.join(' → ') || 'empty'}, at level ${c.escalation})`,
      );
    }
    c.escalation++;
    this.bump(c, {}, now);
    const detail = `${actor} escalated the case to ${target} (level ${c.escalation})${noteText(input.note)}`;
    return { incident: c.incident, events: [this.event(c, 'escalated', actor, detail, now, [target])] };
  }

  /** A remark on the audit trail; the status stays. */
  comment(incidentId: string, input: ActorInput & { text: string }): IncidentChange {
    const c = this.require(incidentId, ALL_LIVE, 'comment');
    const actor = userActor(input.login);
    if (input.text.trim() === '') throw new IncidentsError('invalid-argument', 'expected a comment text; got an empty one');
    const now = this.clock();
    this.bump(c, {}, now);
    return { incident: c.incident, events: [this.event(c, 'commented', actor, input.text, now)] };
  }

  /**
   * A commander merges incidents the machine kept apart (one real event): the survivor takes
   * every warning; the others close, each saying where it went.
   */
  merge(survivorId: string, absorbedIds: readonly string[], input: ActorInput): IncidentChange[] {
    const survivor = this.require(survivorId, ALL_LIVE, 'merge into');
    const actor = userActor(input.login);
    if (absorbedIds.length === 0 || absorbedIds.includes(survivorId)) {
      throw new IncidentsError('invalid-argument', `expected other incidents to merge into ${survivorId}; got [${absorbedIds.join(', ')}]`);
    }
    const absorbed = absorbedIds.map((id) => this.require(id, ALL_LIVE, 'merge'));
    const now = this.clock();
    const changes: IncidentChange[] = [];
    let level = survivor.incident.level;
    for (const a of absorbed) {
      for (const [id, w] of a.warnings) {
        survivor.warnings.set(id, w);
        this.warningOwner.set(id, survivor.incident.id);
      }
      for (const id of a.incident.warning_ids) this.warningOwner.set(id, survivor.incident.id);
      level = maxLevel(level, a.incident.level);
      this.bump(a, {}, now);
      const merged = this.event(a, 'merged', actor, `${actor} merged this incident into ${survivorId}${noteText(input.note)}`, now, [
        survivorId,
      ]);
      const closing = this.closeCase(a, actor, `closed: merged into ${survivorId}`, now, 'unverified');
      changes.push({ incident: closing.incident, events: [merged, ...closing.events] });
    }
    const ids = uniqueCapped([...survivor.incident.warning_ids, ...absorbed.flatMap((a) => a.incident.warning_ids)]);
    this.bump(survivor, { warning_ids: ids, level }, now);
    if ([...survivor.warnings.values()].some((w) => !w.cleared)) survivor.clearSince = 0;
    this.reassess(survivor, now);
    const detail = `${actor} merged ${absorbedIds.join(', ')} into this incident${noteText(input.note)}; ${survivor.reasons.join('; ')}`;
    changes.unshift({ incident: survivor.incident, events: [this.event(survivor, 'merged', actor, detail, now, [...absorbedIds])] });
    return changes;
  }

  /**
   * A commander splits warnings off into a new incident (two real events the machine joined). The
   * new incident is dispatched by the table like any other; the first moved warning names it.
   */
  split(incidentId: string, warningIds: readonly string[], input: ActorInput): IncidentChange[] {
    const c = this.require(incidentId, ALL_LIVE, 'split');
    const actor = userActor(input.login);
    const moving = [...new Set(warningIds)];
    const unknown = moving.filter((id) => !c.incident.warning_ids.includes(id) && !c.warnings.has(id));
    if (moving.length === 0 || unknown.length > 0 || moving.length >= c.incident.warning_ids.length) {
      throw new IncidentsError(
        'invalid-argument',
        `expected some but not all warnings of ${incidentId} to split off; got [${moving.join(', ')}]${unknown.length > 0 ? ` (not in the incident: ${unknown.join(', ')})` : ''}`,
      );
    }
    const now = this.clock();
    const first = c.warnings.get(moving[0]!);
    const newId = stableId(incidentId, 'split', c.incident.revision);
    const kind = first?.kind === '' || first === undefined ? c.incident.kind : first.kind;
    const levels = moving.map((id) => c.warnings.get(id)?.level ?? '').filter((l): l is WarningLevel => l !== '');
    const level = levels.length > 0 ? levels.reduce((a, b) => maxLevel(a, b)) : c.incident.level;
    const area = first?.area_id ?? c.incident.area_id;
    const match = lookupResponsibility(this.tableInForce, kind, area);
    const label = EVENT_KIND_LABELS[kind];
    const fresh: Incident = {
      ...c.incident,
      id: newId,
      opened_at: Math.min(...moving.map((id) => c.warnings.get(id)?.ts ?? now)),
      updated_at: now,
      kind,
      area_id: area,
      level,
      status: 'open',
      title: clip(`${label.zh} ${label.en} · ${area === '' ? 'city-wide' : area}`, 300),
      department_id: match.department.id,
      warning_ids: moving,
      lon: first?.lon ?? c.incident.lon,
      lat: first?.lat ?? c.incident.lat,
      rule_version: this.tableInForce.version,
      revision: 1,
    };
    const n = this.blankCase(fresh);
    for (const id of moving) {
      const w = c.warnings.get(id);
      if (w !== undefined) n.warnings.set(id, w);
      c.warnings.delete(id);
      this.warningOwner.set(id, newId);
    }
    this.live.set(newId, n);
    this.reassess(n, now);
    const openedEvent = this.event(
      n,
      'split',
      actor,
      `${actor} split ${moving.length} warning(s) off ${incidentId} into this incident${noteText(input.note)}`,
      now,
      [incidentId, ...moving],
    );
    const opened = this.decideDispatch(n, match, now, [openedEvent]);

    const remaining = c.incident.warning_ids.filter((id) => !moving.includes(id));
    // The level of what stays, when every remaining warning's level is known (not for restored ones).
    const knownLevels = remaining.map((id) => c.warnings.get(id)?.level ?? '').filter((l): l is WarningLevel => l !== '');
    const newLevel =
      knownLevels.length === remaining.length && knownLevels.length > 0 ? knownLevels.reduce((a, b) => maxLevel(a, b)) : c.incident.level;
    this.bump(c, { warning_ids: remaining, level: newLevel }, now);
    this.reassess(c, now);
    const detail = `${actor} split ${moving.join(', ')} off into ${newId}${noteText(input.note)}`;
    return [{ incident: c.incident, events: [this.event(c, 'split', actor, detail, now, [newId, ...moving])] }, opened];
  }

  /* ------------------------------------------------------------------ internals */

  private windowMs(): number {
    return this.joinWindowOverride ?? this.tableInForce.correlation.windowMs;
  }

  private findJoinable(warning: EarlyWarning, activity: number): CaseState | undefined {
    const window = this.windowMs();
    const radius = this.tableInForce.correlation.radiusM;
    const source = `${warning.source_kind}:${warning.source_id}`;
    let best: CaseState | undefined;
    for (const c of this.live.values()) {
      const incident = c.incident;
      if (!JOINABLE.has(incident.status) || !kindsRelated(this.tableInForce, incident.kind, warning.kind)) continue;
      // Late warnings count too, but not ones from long before the incident began.
      if (activity - incident.updated_at > window || incident.opened_at - activity > window) continue;
      if (!this.near(c, warning, source, radius)) continue;
      if (best === undefined || incident.updated_at > best.incident.updated_at) best = c;
    }
    return best;
  }

  /**
   * Same place: the same area; or, across an area border, within the table's radius of the
   * incident. Unlocated warnings (market indicators, area '') join only an incident their own
   * source is already part of: two indicators breaking at once are two events unless the table
   * relates them, and a location would say nothing.
   */
  private near(c: CaseState, warning: EarlyWarning, source: string, radiusM: number): boolean {
    const incident = c.incident;
    if (warning.area_id === '' || incident.area_id === '') {
      if (warning.area_id !== incident.area_id) return false;
      for (const w of c.warnings.values()) if (w.source === source) return true;
      return false;
    }
    if (warning.area_id === incident.area_id) return true;
    return radiusM > 0 && distanceM(incident.lon, incident.lat, warning.lon, warning.lat) <= radiusM;
  }

  private open(warning: EarlyWarning, id: string, activity: number, now: number): IncidentChange {
    const match = lookupResponsibility(this.tableInForce, warning.kind, warning.area_id);
    const label = EVENT_KIND_LABELS[warning.kind];
    const incident: Incident = {
      id,
      schema_version: 1,
      opened_at: activity,
      updated_at: activity,
      kind: warning.kind,
      area_id: warning.area_id,
      level: warning.level,
      status: 'open',
      title: clip(`${label.zh} ${label.en} · ${warning.area_id === '' ? 'city-wide' : warning.area_id}`, 300),
      // While status is 'open' this is the table's proposal, awaiting a commander's confirmation.
      department_id: match.department.id,
      warning_ids: [warning.id],
      lon: warning.lon,
      lat: warning.lat,
      rule_version: this.tableInForce.version,
      revision: 1,
    };
    const c = this.blankCase(incident);
    c.warnings.set(warning.id, warningInfo(warning, activity));
    c.assist = match.assist.map((d) => d.id);
    this.live.set(id, c);
    this.warningOwner.set(warning.id, id);
    this.reassess(c, activity);
    const opened = this.event(
      c,
      'opened',
      MACHINE_ACTOR,
      `opened from warning ${warning.id} (${levelText(warning.level)}, ${warning.source_kind} ${warning.source_id}, by ${warning.produced_by}): ${warning.title}; ${c.reasons.join('; ')}`,
      now,
      warningRefs(warning),
    );
    return this.decideDispatch(c, match, now, [opened]);
  }

  /** Dispatches a new case at once (auto) or proposes it and starts the commander's clock (confirm). */
  private decideDispatch(c: CaseState, match: ResponsibilityMatch, now: number, events: IncidentEvent[]): IncidentChange {
    const mode = dispatchModeFor(match.rule, c.incident.level);
    if (mode === 'confirm') {
      this.startClock(c, 'confirm', now + match.rule.sla.confirm_minutes * 60_000);
      const detail = `proposed to ${match.department.name_zh} (${match.department.id}), awaiting a commander's confirmation (rule says dispatch: confirm at ${c.incident.level}); ${match.reason}`;
      events.push(this.event(c, 'proposed', MACHINE_ACTOR, detail, now));
      return { incident: c.incident, events };
    }
    const why = `${levelText(c.incident.level)}, ${c.priority} (severity ${c.severity}): dispatched automatically (rule says dispatch: auto at ${c.incident.level}); ${match.reason}`;
    // Opened and dispatched in one step: one revision, as one record reaches the topic.
    const sameRevision = c.incident.revision === 1 && events.length === 1 && events[0]?.type === 'opened';
    const change = this.dispatchTo(
      c,
      match.department.id,
      match.assist.map((d) => d.id),
      match,
      why,
      MACHINE_ACTOR,
      'dispatched',
      now,
      true,
      sameRevision,
    );
    return { incident: change.incident, events: [...events, ...change.events], ...(change.dispatch ? { dispatch: change.dispatch } : {}) };
  }

  private dispatchTo(
    c: CaseState,
    departmentId: string,
    assist: string[],
    match: ResponsibilityMatch,
    why: string,
    actor: string,
    type: IncidentEventType,
    now: number,
    machineMade: boolean,
    sameRevision = false,
  ): IncidentChange {
    if (sameRevision) c.incident = { ...c.incident, status: 'dispatched', department_id: departmentId };
    else this.bump(c, { status: 'dispatched', department_id: departmentId }, now);
    c.assist = assist;
    c.escalation = 0;
    c.dispatchedAt = now;
    // The SLA stays the rule's for this kind and area even when a person picks the department:
    // how urgent the case is does not change with who handles it.
    c.resolveDue = now + match.rule.sla.resolve_minutes * 60_000;
    c.verification = 'none';
    this.startClock(c, 'accept', now + match.rule.sla.accept_minutes * 60_000);
    const duty = onDuty(this.tableInForce, departmentId, now);
    const dutyText = duty.length > 0 ? `; on duty: ${duty.map((d) => `${d.name} (${d.login})`).join(', ')}` : '';
    const reason = `${why}${dutyText}`;
    const dispatch: DispatchOrder = {
      id: stableId(c.incident.id, c.incident.revision, 'dispatch'),
      schema_version: 1,
      incident_id: c.incident.id,
      ts: now,
      department_id: departmentId,
      kind: c.incident.kind,
      area_id: c.incident.area_id,
      level: c.incident.level,
      reason: clip(reason, MAX_REASON_CHARS),
      rule_version: this.tableInForce.version,
      machine_made: machineMade,
      accept_due: c.dueAt,
      resolve_due: c.resolveDue,
    };
    const how = `${reason}; to ${departmentId}${assist.length > 0 ? ` (assisted by ${assist.join(', ')})` : ''}, accept by ${iso(dispatch.accept_due)}, resolve by ${iso(dispatch.resolve_due)}; order ${dispatch.id}`;
    const events = [this.event(c, type, actor, how, now)];
    return { incident: c.incident, events, dispatch };
  }

  private join(c: CaseState, warning: EarlyWarning, activity: number, now: number): IncidentChange {
    const incident = c.incident;
    const full = incident.warning_ids.length >= MAX_WARNING_IDS_PER_INCIDENT;
    const level = maxLevel(incident.level, warning.level);
    const before = { severity: c.severity, priority: c.priority };
    c.warnings.set(warning.id, warningInfo(warning, activity));
    c.clearSince = 0;
    this.bump(
      c,
      {
        level,
        warning_ids: full ? incident.warning_ids : [...incident.warning_ids, warning.id],
        updated_at: Math.max(incident.updated_at, activity),
      },
      now,
    );
    this.warningOwner.set(warning.id, incident.id);
    this.reassess(c, activity);
    const capped = full ? ` (warning_ids holds its first ${MAX_WARNING_IDS_PER_INCIDENT}; this one is recorded here only)` : '';
    const events = [
      this.event(
        c,
        'warning_joined',
        MACHINE_ACTOR,
        `warning ${warning.id} (${levelText(warning.level)}, ${warning.source_kind} ${warning.source_id}, by ${warning.produced_by}) joined${capped}: ${warning.title}`,
        now,
        warningRefs(warning),
      ),
    ];
    if (levelRank(level) > levelRank(incident.level)) {
      events.push(
        this.event(
          c,
          'level_raised',
          MACHINE_ACTOR,
          `level raised from ${levelText(incident.level)} to ${levelText(level)} by warning ${warning.id}`,
          now,
        ),
      );
    }
    if (before.priority !== c.priority || Math.abs(before.severity - c.severity) >= SEVERITY_EVENT_STEP) {
      events.push(
        this.event(
          c,
          'severity_changed',
          MACHINE_ACTOR,
          `severity ${before.severity} → ${c.severity}, ${before.priority} → ${c.priority}: ${c.reasons.join('; ')}`,
          now,
        ),
      );
    }
    // A case awaiting confirmation whose level now reaches an automatic-dispatch level (e.g. a
    // crowd turning red) is dispatched at once: the rule says that level may not wait.
    if (c.incident.status === 'open') {
      const match = this.match(c.incident);
      if (dispatchModeFor(match.rule, c.incident.level) === 'auto') {
        const d = this.decideDispatch(c, match, now, events);
        return d;
      }
    }
    return { incident: c.incident, events };
  }

  /** A stage's clock ran out: record the breach and escalate one level, or say the chain is exhausted. */
  private expire(c: CaseState, now: number): IncidentChange {
    const stage = c.stage;
    const due = c.dueAt;
    this.bump(c, {}, now);
    const late = `${stage} SLA ran out at ${iso(due)} (${formatMinutes(now - due)} min ago) while ${c.incident.status}`;
    if (stage === 'verify') {
      c.verification = 'needs_person';
      this.startClock(c, 'verify', 0);
      const detail = `${late}: no all-clear within ${formatMinutes(this.tableInForce.verification.maxWaitMs)} min of the resolution, so the machine cannot verify it; a person must verify or reopen`;
      return { incident: c.incident, events: [this.event(c, 'sla_breached', MACHINE_ACTOR, detail, now)] };
    }
    const chain = this.chainOf(c);
    const target = chain[c.escalation];
    if (target === undefined) {
      // Nobody left to tell: the clock stops (due_at 0) and the case shows as overdue.
      this.startClock(c, stage, 0);
      const detail = `${late}; escalation chain ${chain.length === 0 ? '(none configured)' : chain.join(' → ')} is exhausted at level ${c.escalation}: the case stays overdue`;
      return { incident: c.incident, events: [this.event(c, 'sla_breached', MACHINE_ACTOR, detail, now)] };
    }
    const breach = this.event(c, 'sla_breached', MACHINE_ACTOR, late, now);
    c.escalation++;
    // The next level gets as long as the stage gave the department, from now.
    const length = this.stageLength(c, stage);
    this.bump(c, {}, now);
    this.startClock(c, stage, now + length);
    if (stage === 'resolve') c.resolveDue = c.dueAt;
    const duty = onDuty(this.tableInForce, target, now);
    const dutyText = duty.length > 0 ? `; on duty there: ${duty.map((d) => `${d.name} (${d.login})`).join(', ')}` : '';
    const detail = `escalated to ${target} (level ${c.escalation} of ${chain.join(' → ')}) because the ${stage} SLA ran out; next deadline ${iso(c.dueAt)}${dutyText}`;
    return { incident: c.incident, events: [breach, this.event(c, 'escalated', MACHINE_ACTOR, detail, now, [target])] };
  }

  private tryAutoVerify(c: CaseState, now: number): IncidentChange | undefined {
    if (c.incident.status !== 'resolved' || c.clearSince === 0 || c.warnings.size === 0) return undefined;
    const quiet = this.tableInForce.verification.quietMs;
    if (now - c.clearSince < quiet) return undefined;
    if (![...c.warnings.values()].every((w) => w.cleared)) return undefined;
    this.bump(c, {}, now);
    const detail = `verified automatically: all ${c.warnings.size} warning(s) clear since ${iso(c.clearSince)} (≥ ${formatMinutes(quiet)} min), no new warning`;
    const verified = this.event(c, 'verified', MACHINE_ACTOR, detail, now);
    const change = this.closeCase(c, MACHINE_ACTOR, 'closed after automatic verification', now, 'auto');
    return { incident: change.incident, events: [verified, ...change.events] };
  }

  private closeCase(c: CaseState, actor: string, detail: string, now: number, verification: VerificationState): IncidentChange {
    c.verification = verification;
    this.bump(c, { status: 'closed' }, now);
    this.startClock(c, '', 0);
    const event = this.event(c, 'closed', actor, detail, now);
    this.live.delete(c.incident.id);
    this.remember(c.incident);
    return { incident: c.incident, events: [event] };
  }

  private reassess(c: CaseState, activity: number): void {
    const sources = new Set<string>();
    const kinds = new Set<string>();
    for (const w of c.warnings.values()) {
      if (w.source === '') continue;
      sources.add(w.source);
      kinds.add(w.source.slice(0, w.source.indexOf(':')));
    }
    const a = assessSeverity({
      level: c.incident.level,
      sources: Math.max(1, sources.size),
      sourceKinds: Math.max(1, kinds.size),
      durationMs: Math.max(activity, c.incident.updated_at) - c.incident.opened_at,
      exposure: this.tableInForce.exposure[c.incident.area_id],
    });
    c.severity = a.severity;
    c.priority = a.priority;
    c.reasons = a.reasons;
  }

  private stageLength(c: CaseState, stage: SlaStage): number {
    const sla = this.match(c.incident).rule.sla;
    switch (stage) {
      case 'confirm':
        return sla.confirm_minutes * 60_000;
      case 'accept':
        return sla.accept_minutes * 60_000;
      case 'arrive':
        return sla.arrive_minutes * 60_000;
      case 'resolve':
        return sla.resolve_minutes * 60_000;
      case 'verify':
        return this.tableInForce.verification.maxWaitMs;
      default:
        return 0;
    }
  }

  private chainOf(c: CaseState): string[] {
    return escalationChain(this.tableInForce, this.match(c.incident).rule, c.incident.department_id);
  }

  private match(incident: Incident): ResponsibilityMatch {
    return lookupResponsibility(this.tableInForce, incident.kind, incident.area_id);
  }

  private department(id: string): { id: string; name_zh: string } {
    const department = this.tableInForce.departments.find((d) => d.id === id);
    if (department === undefined) {
      const known = this.tableInForce.departments.map((d) => d.id).join(', ');
      throw new IncidentsError('invalid-argument', `expected a department of table ${this.tableInForce.version} (${known}); got '${id}'`);
    }
    return department;
  }

  private startClock(c: CaseState, stage: SlaStage, dueAt: number): void {
    c.stage = stage;
    c.dueAt = dueAt;
  }

  /** Clocks of a case restored without events: recomputed from its status and the table, from its last update. */
  private recomputeClock(c: CaseState): void {
    const from = c.incident.updated_at;
    const sla = this.match(c.incident).rule.sla;
    c.assist = this.match(c.incident).assist.map((d) => d.id);
    switch (c.incident.status) {
      case 'open':
        return this.startClock(c, 'confirm', from + sla.confirm_minutes * 60_000);
      case 'dispatched':
        c.dispatchedAt = from;
        c.resolveDue = from + sla.resolve_minutes * 60_000;
        return this.startClock(c, 'accept', from + sla.accept_minutes * 60_000);
      case 'accepted':
        c.resolveDue = from + sla.resolve_minutes * 60_000;
        return this.startClock(c, 'resolve', c.resolveDue);
      case 'resolved':
        c.verification = 'pending';
        return this.startClock(c, 'verify', from + this.tableInForce.verification.maxWaitMs);
      default:
        return this.startClock(c, '', 0);
    }
  }

  /** Folds a live incident's events (in topic order) into its state. */
  private fold(c: CaseState, events: readonly IncidentEvent[]): void {
    let latest: IncidentEvent | undefined;
    let clearedAt = 0;
    for (const e of events) {
      if (latest === undefined || e.revision >= latest.revision) latest = e;
      if (e.type === 'opened' || e.type === 'warning_joined') {
        const [warningId, source, ...evidence] = e.ref_ids;
        if (warningId !== undefined) {
          const known = c.warnings.get(warningId);
          c.warnings.set(warningId, {
            ...(known ?? restoredWarning(c.incident, e.ts)),
            source: source ?? '',
            evidence: evidence,
            cleared: false,
          });
        }
        c.clearSince = 0;
      } else if (e.type === 'all_clear') {
        for (const id of e.ref_ids) {
          const w = c.warnings.get(id);
          if (w !== undefined) w.cleared = true;
        }
        clearedAt = e.ts;
        if ([...c.warnings.values()].every((w) => w.cleared)) c.clearSince = clearedAt;
      } else if (e.type === 'split') {
        for (const id of e.ref_ids) if (!c.incident.warning_ids.includes(id)) c.warnings.delete(id);
      } else if (e.type === 'dispatched' || e.type === 'confirmed' || e.type === 'reassigned') {
        c.dispatchedAt = e.ts;
      } else if (e.type === 'resolved') {
        c.verification = 'pending';
      } else if (e.type === 'sla_breached' && e.stage === 'verify') {
        c.verification = 'needs_person';
      }
    }
    // Warnings the records list but no event described (an event lost to retention): known by id only.
    for (const id of c.incident.warning_ids) if (!c.warnings.has(id)) c.warnings.set(id, restoredWarning(c.incident, c.incident.opened_at));
    if (latest === undefined) return;
    c.severity = latest.severity;
    c.priority = latest.priority;
    c.assist = [...latest.assist_ids];
    c.stage = latest.stage;
    c.dueAt = latest.due_at;
    c.escalation = latest.escalation_level;
    c.reasons = [`restored: severity ${latest.severity} → ${latest.priority} (from event ${latest.id})`];
    // Resolve is due from dispatch by the rule; the escalated deadline, if any, is the clock itself.
    c.resolveDue =
      c.stage === 'resolve' ? c.dueAt : c.dispatchedAt > 0 ? c.dispatchedAt + this.match(c.incident).rule.sla.resolve_minutes * 60_000 : 0;
  }

  private blankCase(incident: Incident): CaseState {
    return {
      incident,
      severity: 0,
      priority: priorityOf(0),
      reasons: [],
      assist: [],
      stage: '',
      dueAt: 0,
      escalation: 0,
      dispatchedAt: 0,
      resolveDue: 0,
      verification: incident.status === 'resolved' ? 'pending' : 'none',
      clearSince: 0,
      warnings: new Map(),
    };
  }

  private toView(c: CaseState): CaseView {
    const chain = c.escalation > 0 ? this.chainOf(c) : [];
    return {
      incident: c.incident,
      severity: c.severity,
      priority: c.priority,
      severity_reasons: [...c.reasons],
      assist_ids: [...c.assist],
      stage: c.stage,
      due_at: c.dueAt,
      escalation_level: c.escalation,
      escalated_to: chain[c.escalation - 1] ?? '',
      evidence: [...c.warnings].map(([id, w]) => ({
        warning_id: id,
        source: w.source,
        evidence_ids: [...w.evidence],
        level: w.level,
        ts: w.ts,
        cleared: w.cleared,
      })),
      verification: c.verification,
      clear_since: c.clearSince,
    };
  }

  private require(incidentId: string, from: readonly IncidentStatus[], action: string): CaseState {
    const c = this.live.get(incidentId);
    if (c === undefined) {
      const closed = this.closed.has(incidentId) ? ' (it is closed)' : '';
      throw new IncidentsError(
        'incident-not-found',
        `expected an incident that is not closed to ${action}; got unknown id '${incidentId}'${closed}`,
      );
    }
    if (!from.includes(c.incident.status)) {
      throw new IncidentsError(
        'invalid-transition',
        `expected incident ${incidentId} to be ${from.join(' or ')} to ${action}; got ${c.incident.status}`,
      );
    }
    return c;
  }

  /** Every change is a new revision; the store keeps the highest, restore does too. */
  private bump(c: CaseState, patch: Partial<Incident>, now: number): void {
    const incident = c.incident;
    c.incident = { ...incident, updated_at: Math.max(incident.updated_at, now), ...patch, revision: incident.revision + 1 };
  }

  private remember(incident: Incident): void {
    this.closed.delete(incident.id);
    this.closed.set(incident.id, { revision: incident.revision, warningIds: incident.warning_ids });
    for (const w of incident.warning_ids) this.warningOwner.set(w, incident.id);
    while (this.closed.size > this.rememberClosed) {
      const oldest = this.closed.keys().next();
      if (oldest.done === true) break;
      const memory = this.closed.get(oldest.value);
      this.closed.delete(oldest.value);
      for (const w of memory?.warningIds ?? []) {
        if (this.warningOwner.get(w) === oldest.value) this.warningOwner.delete(w);
      }
    }
  }

  private event(
    c: CaseState,
    type: IncidentEventType,
    actor: string,
    detail: string,
    now: number,
    refIds: readonly string[] = [],
  ): IncidentEvent {
    const incident = c.incident;
    return {
      // Revision and type identify the step: the same step replayed gets the same id, and the
      // store's idempotent writes keep one row.
      id: stableId(incident.id, incident.revision, type),
      schema_version: 1,
      incident_id: incident.id,
      ts: now,
      type,
      actor,
      machine_made: actor.startsWith('machine:'),
      detail: clip(detail, MAX_DETAIL_CHARS),
      revision: incident.revision,
      department_id: incident.department_id,
      assist_ids: c.assist.slice(0, 20),
      severity: c.severity,
      priority: c.priority,
      stage: c.stage,
      due_at: c.dueAt,
      escalation_level: Math.min(20, c.escalation),
      ref_ids: refIds.slice(0, MAX_REF_IDS),
    };
  }
}

/** A command's result as a list: merge and split change several incidents at once. */
export function changeList(result: IncidentChange | IncidentChange[]): IncidentChange[] {
  return Array.isArray(result) ? result : [result];
}

function warningInfo(w: EarlyWarning, activity: number): WarningInfo {
  return {
    source: `${w.source_kind}:${w.source_id}`,
    evidence: w.evidence_ids.slice(0, MAX_EVIDENCE_PER_WARNING),
    level: w.level,
    kind: w.kind,
    area_id: w.area_id,
    lon: w.lon,
    lat: w.lat,
    ts: activity,
    cleared: false,
  };
}

function restoredWarning(incident: Incident, ts: number): WarningInfo {
  return {
    source: '',
    evidence: [],
    level: '',
    kind: '',
    area_id: incident.area_id,
    lon: incident.lon,
    lat: incident.lat,
    ts,
    cleared: false,
  };
}

/** The warning, its source as `<source_kind>:<source_id>`, then its evidence: what restore folds back. */
function warningRefs(w: EarlyWarning): string[] {
  return [w.id, `${w.source_kind}:${w.source_id}`, ...w.evidence_ids].slice(0, MAX_REF_IDS);
}

function uniqueCapped(ids: readonly string[]): string[] {
  return [...new Set(ids)].slice(0, MAX_WARNING_IDS_PER_INCIDENT);
}

/** Great-circle distance (haversine); metres are plenty precise at city scale. */
function distanceM(lon1: number, lat1: number, lon2: number, lat2: number): number {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6_371_000 * Math.asin(Math.min(1, Math.sqrt(a)));
}

function userActor(login: string): string {
  if (!LOGIN_PATTERN.test(login)) {
    throw new IncidentsError(
      'invalid-argument',
      `expected a login of 1–64 letters, digits, '.', '_', '@' or '-'; got ${JSON.stringify(login.slice(0, 80))}`,
    );
  }
  return `user:${login}`;
}

function noteText(note: string | undefined): string {
  return note === undefined || note.trim() === '' ? '' : `: ${note}`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function levelText(level: WarningLevel): string {
  const info = WARNING_LEVEL_INFO[level];
  return `${info.level} (${info.roman})`;
}

function formatMinutes(ms: number): string {
  const minutes = ms / 60_000;
  return Number.isInteger(minutes) ? String(minutes) : minutes.toFixed(1);
}

function clip(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${text.slice(0, maxChars - 1)}…`;
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new IncidentsError('invalid-argument', `expected ${name} > 0; got ${value}`);
  return value;
}
