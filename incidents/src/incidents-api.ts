import { levelRank, type EventKind, type IncidentEvent, type IncidentStatus, type Priority, type WarningLevel } from '@cityops/schemas';
import { IncidentsError } from './errors.js';
import { changeList, type CaseView, type IncidentChange, type IncidentEngine } from './incident-engine.js';
import type { ReloadResult } from './table-source.js';

/*
 * The commanders' API as plain functions: an HTTP server (the dashboard's) parses the request,
 * authenticates the principal and calls one of these; `httpStatusOf` maps errors to statuses.
 * Permission is enforced here, not in the UI: a department user sees and acts on its own
 * incidents only, and a forbidden action is a typed 'forbidden' error (403), never a hidden button.
 *
 * Roles:
 * - wall      — the operations-center display: reads, acts on nothing.
 * - analyst   — reads and runs reports; acts on nothing.
 * - commander — without a department: the command center, every action. With a department: that
 *               department's duty officer — accept, arrive, resolve, comment, escalate its cases.
 * - admin     — every action, and reloading the responsibility table.
 * A principal with a department_id (any role) sees only incidents its department leads, assists
 * or was escalated to.
 */

export const ROLES = ['wall', 'commander', 'analyst', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who is asking, as the HTTP layer authenticated them. */
export interface Principal {
  login: string;
  role: Role;
  /** Set for department users: scopes what they see and do to their department's incidents. */
  department_id?: string;
}

export const API_ACTIONS = [
  'confirm',
  'accept',
  'arrive',
  'reassign',
  'escalate',
  'recall',
  'comment',
  'resolve',
  'verify',
  'close',
  'merge',
  'split',
] as const;
export type ApiAction = (typeof API_ACTIONS)[number];

/** What a department's own staff may do on its cases; the rest are the command center's. */
const DEPARTMENT_ACTIONS: ReadonlySet<ApiAction> = new Set(['accept', 'arrive', 'resolve', 'comment', 'escalate']);

/**
 * Where the API reads cases and runs commands. The worker provides one that runs commands in
 * line with its warning batches and publishes their results before answering; tests use
 * `engineBackend`.
 */
export interface IncidentsBackend {
  views(): CaseView[];
  view(incidentId: string): CaseView | undefined;
  /** Runs a command against the engine and publishes what it changed; resolves once published. */
  act<T extends IncidentChange | IncidentChange[]>(command: (engine: IncidentEngine) => T): Promise<T>;
  /** The audit trail of an incident (e.g. from the store); optional. */
  history?(incidentId: string): Promise<IncidentEvent[]>;
  /** Reloads the responsibility table; optional. */
  reloadRules?(): Promise<ReloadResult>;
}

/** A backend over a bare engine: commands run at once; `onChanges` sees what they produced. */
export function engineBackend(engine: IncidentEngine, onChanges: (changes: IncidentChange[]) => void = () => undefined): IncidentsBackend {
  return {
    views: () => engine.views(),
    view: (id) => engine.view(id),
    act: <T extends IncidentChange | IncidentChange[]>(command: (e: IncidentEngine) => T): Promise<T> => {
      try {
        const result = command(engine);
        onChanges(changeList(result));
        return Promise.resolve(result);
      } catch (e) {
        return Promise.reject(e instanceof Error ? e : new Error(String(e)));
      }
    },
  };
}

export interface IncidentFilter {
  status?: readonly IncidentStatus[];
  kind?: readonly EventKind[];
  area_id?: string;
  department_id?: string;
  priority?: readonly Priority[];
  /** Only incidents at this level or above. */
  min_level?: WarningLevel;
  /** Only incidents whose SLA clock has run out at `now` (or whose escalation chain is exhausted). */
  overdue?: boolean;
  /** Default 100, at most 1000. */
  limit?: number;
  offset?: number;
}

export interface IncidentList {
  total: number;
  items: CaseView[];
}

export interface IncidentDetail {
  case: CaseView;
  /** The audit trail when the backend can give it ([] otherwise). */
  events: IncidentEvent[];
  /** What this principal may do on this incident now: for the UI to show, not to enforce. */
  allowed: ApiAction[];
}

export interface NoteInput {
  note?: string;
}

export interface IncidentsApi {
  list(principal: Principal, filter?: IncidentFilter): IncidentList;
  detail(principal: Principal, incidentId: string): Promise<IncidentDetail>;
  confirm(principal: Principal, incidentId: string, input?: NoteInput & { department_id?: string }): Promise<IncidentChange>;
  accept(principal: Principal, incidentId: string, input?: NoteInput): Promise<IncidentChange>;
  arrive(principal: Principal, incidentId: string, input?: NoteInput): Promise<IncidentChange>;
  reassign(principal: Principal, incidentId: string, input: NoteInput & { department_id: string }): Promise<IncidentChange>;
  escalate(principal: Principal, incidentId: string, input?: NoteInput): Promise<IncidentChange>;
  recall(principal: Principal, incidentId: string, input?: NoteInput): Promise<IncidentChange>;
  comment(principal: Principal, incidentId: string, input: { text: string }): Promise<IncidentChange>;
  resolve(principal: Principal, incidentId: string, input?: NoteInput): Promise<IncidentChange>;
  verify(principal: Principal, incidentId: string, input?: NoteInput): Promise<IncidentChange>;
  close(principal: Principal, incidentId: string, input?: NoteInput): Promise<IncidentChange>;
  merge(principal: Principal, survivorId: string, input: NoteInput & { incident_ids: readonly string[] }): Promise<IncidentChange[]>;
  split(principal: Principal, incidentId: string, input: NoteInput & { warning_ids: readonly string[] }): Promise<IncidentChange[]>;
  /** Admins only. */
  reloadRules(principal: Principal): Promise<ReloadResult>;
}

export interface IncidentsApiOptions {
  backend: IncidentsBackend;
  /** For the `overdue` filter. Default Date.now. */
  clock?: () => number;
}

export function createIncidentsApi(options: IncidentsApiOptions): IncidentsApi {
  const { backend } = options;
  const clock = options.clock ?? Date.now;

  const visible = (p: Principal, c: CaseView): boolean => {
    const dept = p.department_id;
    if (dept === undefined || dept === '') return true;
    return c.incident.department_id === dept || c.assist_ids.includes(dept) || c.escalated_to === dept;
  };

  /** The incident as this principal may see it; an invisible one is 'not found', not 'forbidden' (no leak of its existence). */
  const caseFor = (p: Principal, incidentId: string): CaseView => {
    checkPrincipal(p);
    const c = backend.view(incidentId);
    if (c === undefined || !visible(p, c)) {
      throw new IncidentsError('incident-not-found', `expected an open incident visible to ${p.login}; got none with id '${incidentId}'`);
    }
    return c;
  };

  const allowedOn = (p: Principal, c: CaseView, action: ApiAction): string | undefined => {
    if (p.role === 'wall' || p.role === 'analyst') return `role '${p.role}' is read-only`;
    if (p.role === 'admin') return undefined;
    const dept = p.department_id;
    if (dept === undefined || dept === '') return undefined;
    if (!DEPARTMENT_ACTIONS.has(action))
      return `department users may ${[...DEPARTMENT_ACTIONS].join(', ')}; '${action}' is for the command center`;
    // Accepting, arriving and resolving are the lead's; assisting and escalation targets comment and escalate.
    if ((action === 'accept' || action === 'arrive' || action === 'resolve') && c.incident.department_id !== dept) {
      return `only the lead department (${c.incident.department_id}) may ${action}; ${dept} assists or supervises`;
    }
    return undefined;
  };

  const guard = (p: Principal, incidentId: string, action: ApiAction): CaseView => {
    const c = caseFor(p, incidentId);
    const why = allowedOn(p, c, action);
    if (why !== undefined) {
      throw new IncidentsError(
        'forbidden',
        `expected a principal allowed to ${action} incident ${incidentId}; got ${p.login} (${p.role}${p.department_id ? `, ${p.department_id}` : ''}): ${why}`,
      );
    }
    return c;
  };

  const run = <T extends IncidentChange | IncidentChange[]>(
    p: Principal,
    ids: readonly string[],
    action: ApiAction,
    command: (e: IncidentEngine) => T,
  ): Promise<T> => {
    try {
      for (const id of ids) guard(p, id, action);
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    return backend.act(command);
  };

  const note = (input: NoteInput | undefined): { note?: string } => (input?.note === undefined ? {} : { note: input.note });

  return {
    list(p, filter = {}) {
      checkPrincipal(p);
      const now = clock();
      const limit = Math.min(1000, Math.max(1, filter.limit ?? 100));
      const offset = Math.max(0, filter.offset ?? 0);
      const matches = backend
        .views()
        .filter((c) => visible(p, c))
        .filter((c) => filter.status === undefined || filter.status.includes(c.incident.status))
        .filter((c) => filter.kind === undefined || filter.kind.includes(c.incident.kind))
        .filter((c) => filter.area_id === undefined || c.incident.area_id === filter.area_id)
        .filter(
          (c) =>
            filter.department_id === undefined ||
            c.incident.department_id === filter.department_id ||
            c.assist_ids.includes(filter.department_id),
        )
        .filter((c) => filter.priority === undefined || filter.priority.includes(c.priority))
        .filter((c) => filter.min_level === undefined || levelRank(c.incident.level) >= levelRank(filter.min_level))
        .filter((c) => filter.overdue === undefined || isOverdue(c, now) === filter.overdue)
        // Most urgent first: priority, then severity, then the oldest.
        .sort((a, b) => a.priority.localeCompare(b.priority) || b.severity - a.severity || a.incident.opened_at - b.incident.opened_at);
      return { total: matches.length, items: matches.slice(offset, offset + limit) };
    },
    async detail(p, incidentId) {
      const c = caseFor(p, incidentId);
      const events = backend.history === undefined ? [] : await backend.history(incidentId);
      return { case: c, events, allowed: API_ACTIONS.filter((a) => allowedOn(p, c, a) === undefined) };
    },
    confirm: (p, id, input) =>
      run(p, [id], 'confirm', (e) =>
        e.confirmDispatch(id, { login: p.login, ...note(input), ...(input?.department_id ? { departmentId: input.department_id } : {}) }),
      ),
    accept: (p, id, input) => run(p, [id], 'accept', (e) => e.accept(id, { login: p.login, ...note(input) })),
    arrive: (p, id, input) => run(p, [id], 'arrive', (e) => e.arrive(id, { login: p.login, ...note(input) })),
    reassign: (p, id, input) =>
      run(p, [id], 'reassign', (e) => e.reassign(id, { login: p.login, departmentId: input.department_id, ...note(input) })),
    escalate: (p, id, input) => run(p, [id], 'escalate', (e) => e.escalate(id, { login: p.login, ...note(input) })),
    recall: (p, id, input) => run(p, [id], 'recall', (e) => e.recall(id, { login: p.login, ...note(input) })),
    comment: (p, id, input) => run(p, [id], 'comment', (e) => e.comment(id, { login: p.login, text: input.text })),
    resolve: (p, id, input) => run(p, [id], 'resolve', (e) => e.resolve(id, { login: p.login, ...note(input) })),
    verify: (p, id, input) => run(p, [id], 'verify', (e) => e.verify(id, { login: p.login, ...note(input) })),
    close: (p, id, input) => run(p, [id], 'close', (e) => e.close(id, { login: p.login, ...note(input) })),
    merge: (p, id, input) =>
      run(p, [id, ...input.incident_ids], 'merge', (e) => e.merge(id, input.incident_ids, { login: p.login, ...note(input) })),
    split: (p, id, input) => run(p, [id], 'split', (e) => e.split(id, input.warning_ids, { login: p.login, ...note(input) })),
    async reloadRules(p) {
      checkPrincipal(p);
      if (p.role !== 'admin') {
        throw new IncidentsError('forbidden', `expected an admin to reload the responsibility table; got ${p.login} (${p.role})`);
      }
      if (backend.reloadRules === undefined) {
        throw new IncidentsError('invalid-argument', 'expected a backend with a reloadable table (opened from a file); got one without');
      }
      return backend.reloadRules();
    },
  };
}

/** The clock ran out, or it stopped at an exhausted escalation chain (a stage with no due time). */
export function isOverdue(c: CaseView, now: number): boolean {
  if (c.stage === '') return false;
  return c.due_at === 0 ? c.stage !== 'verify' || c.verification === 'needs_person' : now >= c.due_at;
}

function checkPrincipal(p: Principal): void {
  if (!(ROLES as readonly string[]).includes(p.role) || typeof p.login !== 'string' || p.login === '') {
    throw new IncidentsError(
      'forbidden',
      `expected an authenticated principal with a login and a role (${ROLES.join(', ')}); got ${JSON.stringify({ login: p.login, role: p.role })}`,
    );
  }
}
