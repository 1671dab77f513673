import {
  EVENT_KIND_LABELS,
  WARNING_LEVEL_INFO,
  levelRank,
  maxLevel,
  stableId,
  type Clock,
  type DispatchOrder,
  type EarlyWarning,
  type Incident,
  type IncidentEvent,
  type IncidentEventType,
  type IncidentStatus,
} from '@cityops/schemas';
import { IncidentsError } from './errors.js';
import { lookupResponsibility, type ResponsibilityMatch, type ResponsibilityTable } from './responsibility-table.js';
import { INCIDENTS_VERSION } from './version.js';

/*
 * The incident engine: warnings in, incidents, lifecycle events and dispatch orders out. Pure and
 * synchronous — no I/O, time comes from the injected clock — so the worker decides when results
 * are published and committed, and tests drive it step by step.
 *
 * Two clocks, on purpose:
 * - Event time (a warning's `ts`, capped at now) decides grouping: a warning joins an incident
 *   when it came within the window of the incident's last activity. A backlog replayed after an
 *   outage then groups as it would have live, instead of merging hours of warnings into one.
 *   `opened_at` and `updated_at` follow it for warning-driven changes.
 * - The engine's clock stamps what the machine and people do: event `ts`, dispatch `ts` and the
 *   SLA due times (a department's time runs from when it was sent the case, not from the sensor).
 */

/** `machine:<component>@<version>` — every machine-made event says which release made it. */
export const MACHINE_ACTOR = `machine:incidents@${INCIDENTS_VERSION}`;

/** Default join window: 30 minutes of quiet and the next warning opens a new incident. */
export const DEFAULT_JOIN_WINDOW_MS = 30 * 60_000;

/** The Incident contract caps `warning_ids` at 1000; later warnings are recorded in their events. */
export const MAX_WARNING_IDS_PER_INCIDENT = 1000;

const MAX_DETAIL_CHARS = 2000;
const MAX_REASON_CHARS = 1000;
const LOGIN_PATTERN = /^[A-Za-z0-9._@-]{1,64}$/;

export interface IncidentEngineOptions {
  /** The responsibility table (权责清单) that picks departments, SLAs and dispatch modes. */
  table: ResponsibilityTable;
  /** Time source for event times, dispatch times, SLA due times and auto-close (Date.now in production). */
  clock: Clock;
  /**
   * A warning joins an open incident of the same kind and area if it came at most this long
   * after the incident's last activity (and at most this long before it opened). Default 30 min.
   */
  joinWindowMs?: number;
  /**
   * Close incidents with no activity for this long, with an event saying they were closed
   * without verification. Default undefined: never — closing is a person's decision unless an
   * operator opts in.
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
}

export interface RestoreSummary {
  /** Incidents now held (not closed). */
  live: number;
  /** Closed incidents remembered so their warnings stay no-ops. */
  closed: number;
  /** Records ignored because a newer revision of the same incident was already known. */
  stale: number;
}

interface ClosedMemory {
  revision: number;
  warningIds: readonly string[];
}

const JOINABLE: ReadonlySet<IncidentStatus> = new Set(['open', 'dispatched', 'accepted']);

export class IncidentEngine {
  private readonly table: ResponsibilityTable;
  private readonly clock: Clock;
  private readonly joinWindowMs: number;
  private readonly autoCloseAfterMs: number | undefined;
  private readonly rememberClosed: number;
  /** Incidents not closed, by id. */
  private readonly live = new Map<string, Incident>();
  /** Recently closed incidents, oldest first (Map keeps insertion order), bounded. */
  private readonly closed = new Map<string, ClosedMemory>();
  /** Warning id → the incident it joined, for every live or remembered closed incident. */
  private readonly warningOwner = new Map<string, string>();

  constructor(options: IncidentEngineOptions) {
    this.table = options.table;
    this.clock = options.clock;
    this.joinWindowMs = positive(options.joinWindowMs ?? DEFAULT_JOIN_WINDOW_MS, 'joinWindowMs');
    this.autoCloseAfterMs = options.autoCloseAfterMs === undefined ? undefined : positive(options.autoCloseAfterMs, 'autoCloseAfterMs');
    this.rememberClosed = positive(options.rememberClosedIncidents ?? 10_000, 'rememberClosedIncidents');
  }

  /** The table version this engine dispatches by. */
  get ruleVersion(): string {
    return this.table.version;
  }

  /** Incidents not yet closed (open, dispatched, accepted, resolved). */
  incidents(): Incident[] {
    return [...this.live.values()];
  }

  get(incidentId: string): Incident | undefined {
    return this.live.get(incidentId);
  }

  /** How many incidents are not yet closed. */
  get liveCount(): number {
    return this.live.size;
  }

  /**
   * Rebuilds state from incident records (the incidents topic read from the beginning): the
   * highest revision of each id wins, whatever order the records come in; closed ones are only
   * remembered. Call before the first warning so a restart does not open duplicates.
   */
  restore(records: Iterable<Incident>): RestoreSummary {
    let stale = 0;
    for (const record of records) {
      const known = this.live.get(record.id)?.revision ?? this.closed.get(record.id)?.revision;
      if (known !== undefined && known >= record.revision) {
        stale++;
        continue;
      }
      if (record.status === 'closed') {
        this.live.delete(record.id);
        this.remember(record);
      } else {
        this.closed.delete(record.id);
        this.live.set(record.id, record);
        for (const w of record.warning_ids) this.warningOwner.set(w, record.id);
      }
    }
    return { live: this.live.size, closed: this.closed.size, stale };
  }

  /**
   * Feeds one validated warning. It joins the open incident of the same kind and area whose last
   * activity is within the join window, or opens a new one (dispatched by the responsibility
   * table). The same warning id twice is a no-op, so at-least-once delivery cannot double-count.
   */
  onWarning(warning: EarlyWarning): WarningOutcome {
    const owner = this.warningOwner.get(warning.id);
    // The id of the incident this warning would open: known already means seen already.
    const openedId = stableId(warning.id);
    const seenAs = owner ?? (this.live.has(openedId) || this.closed.has(openedId) ? openedId : undefined);
    if (seenAs !== undefined) {
      return { outcome: 'duplicate', incidentId: seenAs, incident: this.live.get(seenAs), events: [] };
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

  /**
   * A commander confirms the dispatch the table proposed (rule `dispatch: confirm`), or sends the
   * case to another department instead — people can override the machine.
   */
  confirmDispatch(incidentId: string, input: ActorInput & { departmentId?: string; note?: string }): IncidentChange {
    const incident = this.require(incidentId, ['open'], 'confirm a dispatch');
    const actor = userActor(input.login);
    const now = this.clock();
    const proposed = lookupResponsibility(this.table, incident.kind, incident.area_id);
    const departmentId = input.departmentId ?? incident.department_id;
    const department = this.table.departments.find((d) => d.id === departmentId);
    if (department === undefined) {
      const known = this.table.departments.map((d) => d.id).join(', ');
      throw new IncidentsError(
        'invalid-argument',
        `expected a department of table ${this.table.version} (${known}); got '${departmentId}'`,
      );
    }
    const overridden = department.id !== proposed.department.id;
    const note = input.note === undefined || input.note === '' ? '' : `; note: ${input.note}`;
    const why = overridden
      ? `${actor} sent the case to ${department.name_zh} (${department.id}) instead of the table's ${proposed.department.name_zh} (${proposed.department.id})${note}; the table said: ${proposed.reason}`
      : `${actor} confirmed the table's proposal${note}; ${proposed.reason}`;
    const next = this.bump(incident, { status: 'dispatched', department_id: department.id }, now);
    // The SLA stays the rule's for this kind and area even when a person picks the department:
    // how urgent the case is does not change with who handles it.
    const dispatch = this.dispatchOrder(next, proposed, department.id, why, now, false);
    return { incident: next, events: [this.event(next, 'dispatched', actor, dispatchDetail(dispatch, why), now)], dispatch };
  }

  /** The department takes the case. */
  accept(incidentId: string, input: ActorInput & { note?: string }): IncidentChange {
    return this.transition(incidentId, input, 'accept', ['dispatched'], 'accepted', 'accepted', 'accepted the case');
  }

  /** The department reports the case handled; a commander then verifies and closes it. */
  resolve(incidentId: string, input: ActorInput & { note?: string }): IncidentChange {
    return this.transition(incidentId, input, 'resolve', ['dispatched', 'accepted'], 'resolved', 'resolved', 'reported the case resolved');
  }

  /** A commander closes the case: after verifying a resolution, or earlier (a false alarm). */
  close(incidentId: string, input: ActorInput & { note?: string }): IncidentChange {
    const incident = this.get(incidentId);
    const what =
      incident?.status === 'resolved'
        ? 'closed the case after verifying its resolution'
        : `closed the case while it was ${incident?.status ?? 'unknown'} (not resolved)`;
    const change = this.transition(incidentId, input, 'close', ['open', 'dispatched', 'accepted', 'resolved'], 'closed', 'closed', what);
    this.evict(change.incident);
    return change;
  }

  /** A remark on the audit trail; the status stays. */
  comment(incidentId: string, input: ActorInput & { text: string }): IncidentChange {
    const incident = this.require(incidentId, ['open', 'dispatched', 'accepted', 'resolved'], 'comment');
    const actor = userActor(input.login);
    if (input.text.trim() === '') throw new IncidentsError('invalid-argument', 'expected a comment text; got an empty one');
    const now = this.clock();
    const next = this.bump(incident, {}, now);
    return { incident: next, events: [this.event(next, 'commented', actor, input.text, now)] };
  }

  /**
   * Closes incidents with no activity for `autoCloseAfterMs`, if configured (otherwise does
   * nothing). The worker calls it after each batch and on a timer.
   */
  closeIdle(): IncidentChange[] {
    const after = this.autoCloseAfterMs;
    if (after === undefined) return [];
    const now = this.clock();
    const changes: IncidentChange[] = [];
    for (const incident of [...this.live.values()]) {
      if (now - incident.updated_at < after) continue;
      const next = this.bump(incident, { status: 'closed' }, now);
      const detail = `closed without verification: no activity for ${formatMinutes(after)} minutes (was ${incident.status}; auto-close is configured)`;
      changes.push({ incident: next, events: [this.event(next, 'closed', MACHINE_ACTOR, detail, now)] });
      this.evict(next);
    }
    return changes;
  }

  private findJoinable(warning: EarlyWarning, activity: number): Incident | undefined {
    let best: Incident | undefined;
    for (const incident of this.live.values()) {
      if (incident.kind !== warning.kind || incident.area_id !== warning.area_id || !JOINABLE.has(incident.status)) continue;
      // Late warnings count too, but not ones from long before the incident began.
      if (activity - incident.updated_at > this.joinWindowMs || incident.opened_at - activity > this.joinWindowMs) continue;
      if (best === undefined || incident.updated_at > best.updated_at) best = incident;
    }
    return best;
  }

  private open(warning: EarlyWarning, id: string, activity: number, now: number): IncidentChange {
    const match = lookupResponsibility(this.table, warning.kind, warning.area_id);
    const label = EVENT_KIND_LABELS[warning.kind];
    const auto = match.rule.dispatch === 'auto';
    const incident: Incident = {
      id,
      schema_version: 1,
      opened_at: activity,
      updated_at: activity,
      kind: warning.kind,
      area_id: warning.area_id,
      level: warning.level,
      status: auto ? 'dispatched' : 'open',
      title: clip(`${label.zh} ${label.en} · ${warning.area_id === '' ? 'city-wide' : warning.area_id}`, 300),
      // While status is 'open' this is the table's proposal, awaiting a commander's confirmation.
      department_id: match.department.id,
      warning_ids: [warning.id],
      lon: warning.lon,
      lat: warning.lat,
      rule_version: this.table.version,
      revision: 1,
    };
    this.live.set(id, incident);
    this.warningOwner.set(warning.id, id);

    const events = [
      this.event(
        incident,
        'opened',
        MACHINE_ACTOR,
        `opened from warning ${warning.id} (${levelText(warning.level)}, by ${warning.produced_by}): ${warning.title}`,
        now,
      ),
    ];
    if (!auto) {
      // The event vocabulary has no 'proposed' type yet: a machine comment carries the proposal.
      const detail = `awaiting a commander's confirmation before dispatch (rule says dispatch: confirm); proposed: ${match.reason}`;
      events.push(this.event(incident, 'commented', MACHINE_ACTOR, detail, now));
      return { incident, events };
    }
    const dispatch = this.dispatchOrder(incident, match, match.department.id, `${levelText(incident.level)}: ${match.reason}`, now, true);
    events.push(
      this.event(
        incident,
        'dispatched',
        MACHINE_ACTOR,
        dispatchDetail(dispatch, 'dispatched automatically (rule says dispatch: auto)'),
        now,
      ),
    );
    return { incident, events, dispatch };
  }

  private join(incident: Incident, warning: EarlyWarning, activity: number, now: number): IncidentChange {
    const full = incident.warning_ids.length >= MAX_WARNING_IDS_PER_INCIDENT;
    const level = maxLevel(incident.level, warning.level);
    const next = this.bump(
      incident,
      {
        level,
        warning_ids: full ? incident.warning_ids : [...incident.warning_ids, warning.id],
        updated_at: Math.max(incident.updated_at, activity),
      },
      now,
    );
    this.warningOwner.set(warning.id, incident.id);
    const capped = full ? ` (warning_ids holds its first ${MAX_WARNING_IDS_PER_INCIDENT}; this one is recorded here only)` : '';
    const events = [
      this.event(
        next,
        'warning_joined',
        MACHINE_ACTOR,
        `warning ${warning.id} (${levelText(warning.level)}, by ${warning.produced_by}) joined${capped}: ${warning.title}`,
        now,
      ),
    ];
    if (levelRank(level) > levelRank(incident.level)) {
      events.push(
        this.event(
          next,
          'level_raised',
          MACHINE_ACTOR,
          `level raised from ${levelText(incident.level)} to ${levelText(level)} by warning ${warning.id}`,
          now,
        ),
      );
    }
    return { incident: next, events };
  }

  private transition(
    incidentId: string,
    input: ActorInput & { note?: string },
    action: string,
    from: readonly IncidentStatus[],
    to: IncidentStatus,
    type: IncidentEventType,
    what: string,
  ): IncidentChange {
    const incident = this.require(incidentId, from, action);
    const actor = userActor(input.login);
    const now = this.clock();
    const next = this.bump(incident, { status: to }, now);
    const note = input.note === undefined || input.note === '' ? '' : `: ${input.note}`;
    return { incident: next, events: [this.event(next, type, actor, `${actor} ${what}${note}`, now)] };
  }

  private require(incidentId: string, from: readonly IncidentStatus[], action: string): Incident {
    const incident = this.live.get(incidentId);
    if (incident === undefined) {
      const closed = this.closed.has(incidentId) ? ' (it is closed)' : '';
      throw new IncidentsError(
        'incident-not-found',
        `expected an incident that is not closed to ${action}; got unknown id '${incidentId}'${closed}`,
      );
    }
    if (!from.includes(incident.status)) {
      throw new IncidentsError(
        'invalid-transition',
        `expected incident ${incidentId} to be ${from.join(' or ')} to ${action}; got ${incident.status}`,
      );
    }
    return incident;
  }

  /** Every change is a new revision; the store keeps the highest, restore does too. */
  private bump(incident: Incident, patch: Partial<Incident>, now: number): Incident {
    const next: Incident = { ...incident, updated_at: Math.max(incident.updated_at, now), ...patch, revision: incident.revision + 1 };
    if (next.status !== 'closed') this.live.set(next.id, next);
    return next;
  }

  private evict(incident: Incident): void {
    this.live.delete(incident.id);
    this.remember(incident);
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

  private event(incident: Incident, type: IncidentEventType, actor: string, detail: string, now: number): IncidentEvent {
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
    };
  }

  private dispatchOrder(
    incident: Incident,
    match: ResponsibilityMatch,
    departmentId: string,
    reason: string,
    now: number,
    machineMade: boolean,
  ): DispatchOrder {
    return {
      id: stableId(incident.id, incident.revision, 'dispatch'),
      schema_version: 1,
      incident_id: incident.id,
      ts: now,
      department_id: departmentId,
      kind: incident.kind,
      area_id: incident.area_id,
      level: incident.level,
      reason: clip(reason, MAX_REASON_CHARS),
      rule_version: this.table.version,
      machine_made: machineMade,
      accept_due: now + match.rule.sla.accept_minutes * 60_000,
      resolve_due: now + match.rule.sla.resolve_minutes * 60_000,
    };
  }
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

function dispatchDetail(d: DispatchOrder, how: string): string {
  return `${how}; to ${d.department_id}, accept by ${new Date(d.accept_due).toISOString()}, resolve by ${new Date(d.resolve_due).toISOString()}; order ${d.id}`;
}

function levelText(level: EarlyWarning['level']): string {
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
