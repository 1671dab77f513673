import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Type } from '@sinclair/typebox';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import {
  Department,
  EVENT_KINDS,
  EVENT_KIND_LABELS,
  WARNING_LEVELS,
  validator,
  type DimensionRecord,
  type EventKind,
  type WarningLevel,
} from '@cityops/schemas';
import { IncidentsError, type TableIssue } from './errors.js';

/*
 * The responsibility table (权责清单): which department handles which kind of event where. Staff
 * cannot memorise these lists and departments pass cases to each other (推诿扯皮), so the machine
 * applies the list — and every dispatch cites the rule and the table version it came from.
 *
 * The table is data (YAML under config/), not code: the people who own the list change it without
 * a release, and a bad edit is rejected at load time with the line of the mistake.
 */

export const DISPATCH_MODES = ['auto', 'confirm'] as const;
/** 'auto': the machine dispatches on its own. 'confirm': it proposes, a commander confirms. */
export type DispatchMode = (typeof DISPATCH_MODES)[number];

/** The areas value of a city-wide rule. */
export const ANY_AREA = '*';

/** One shift of a department's on-duty roster (值班表), in the table's local time. */
export interface RosterShift {
  /** Who is on duty: the login commanders and notifications name. */
  readonly login: string;
  readonly name: string;
  /** Minutes after local midnight the shift starts (inclusive) … */
  readonly fromMinute: number;
  /** … and ends (exclusive); a shift with to < from runs over midnight. */
  readonly toMinute: number;
}

export interface DepartmentEntry {
  readonly id: string;
  readonly name_zh: string;
  readonly name_en: string;
  /** The department one level up (上级), the default escalation target; '' when none. */
  readonly supervisor: string;
  readonly roster: readonly RosterShift[];
  /** Where its field units start from (the wall draws it), when the table says. */
  readonly station?: { readonly lon: number; readonly lat: number };
  /** How many field units or crews it has (counted, not tracked), when the table says. */
  readonly units?: number;
}

export interface ServiceLevel {
  /** Minutes a commander has to confirm a proposed dispatch (rule `dispatch: confirm`). */
  readonly confirm_minutes: number;
  /** Minutes from dispatch until the department must accept the case. */
  readonly accept_minutes: number;
  /** Minutes from acceptance until the department must be on site; 0: the stage is skipped. */
  readonly arrive_minutes: number;
  /** Minutes from dispatch until the department must have resolved it. */
  readonly resolve_minutes: number;
}

/** How warnings are grouped into incidents (see README, "Correlation"). */
export interface CorrelationSettings {
  /** A warning joins an incident whose last warning came at most this long before. */
  readonly windowMs: number;
  /** Warnings in different areas still join when they are at most this far apart (border cases). */
  readonly radiusM: number;
  /** Groups of kinds that describe one real-world event (e.g. price_shock with market_volatility). */
  readonly relatedKinds: readonly (readonly EventKind[])[];
}

/** When the machine may verify a resolution on its own. */
export interface VerificationSettings {
  /** Every warning of the case must have been all-clear for this long. */
  readonly quietMs: number;
  /** After a resolution, how long to wait for the all-clear before asking a person to verify. */
  readonly maxWaitMs: number;
}

/** What is exposed in an area, weighing severity. */
export interface AreaExposure {
  readonly population: number;
  readonly assets: readonly string[];
}

export interface ResponsibilityRule {
  readonly kind: EventKind;
  /** `['*']` for the city-wide rule of a kind, otherwise the area ids it covers. */
  readonly areas: readonly string[];
  /** The lead department's id. */
  readonly department: string;
  /** Departments that assist the lead; may be empty. */
  readonly assist: readonly string[];
  readonly sla: ServiceLevel;
  readonly dispatch: DispatchMode;
  /** Per-level exceptions to `dispatch` (e.g. auto at red even where the rule says confirm). */
  readonly dispatchByLevel: Readonly<Partial<Record<WarningLevel, DispatchMode>>>;
  /** Departments to escalate to, in order, when an SLA clock runs out; [] = the supervisors' chain. */
  readonly escalateTo: readonly string[];
  /** Why this department: the duty or plan the rule rests on ('' when the table gives none). */
  readonly basis: string;
  /** 1-based line of the rule in the table's source, cited in dispatch reasons. */
  readonly line: number;
}

export interface ResponsibilityTable {
  /** Carried by every incident and dispatch order as `rule_version`. */
  readonly version: string;
  /** The file (or other source) it was loaded from, as given to the loader. */
  readonly sourceName: string;
  readonly departments: readonly DepartmentEntry[];
  readonly rules: readonly ResponsibilityRule[];
  readonly correlation: CorrelationSettings;
  readonly verification: VerificationSettings;
  /** Area id → what is exposed there ({} when the table gives none). */
  readonly exposure: Readonly<Record<string, AreaExposure>>;
  /** The roster's local time: minutes east of UTC (480 for China Standard Time). */
  readonly utcOffsetMinutes: number;
}

/** Defaults of the optional table sections, documented in the README. */
export const DEFAULT_CORRELATION = { window_minutes: 30, radius_m: 500 } as const;
export const DEFAULT_VERIFICATION = { quiet_minutes: 10, max_wait_minutes: 60 } as const;

export interface ResponsibilityMatch {
  readonly rule: ResponsibilityRule;
  readonly department: DepartmentEntry;
  readonly assist: readonly DepartmentEntry[];
  /** 'area' when an area-specific rule matched, 'city-wide' when the kind's '*' rule did. */
  readonly specificity: 'area' | 'city-wide';
  /** Which rule, for what kind and area, and why this department — for people to check. */
  readonly reason: string;
}

/* The file's shape. Enumerations (kind, dispatch) and cross-references are checked afterwards so
   their messages can list what is allowed instead of TypeBox's generic "expected union value". */
const TextId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' });
const ClockTime = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'HH:MM' });
const TableFile = Type.Object(
  {
    version: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' }),
    departments: Type.Array(
      Type.Object(
        {
          id: TextId,
          name_zh: Type.String({ minLength: 1, maxLength: 200 }),
          name_en: Type.String({ minLength: 1, maxLength: 200 }),
          supervisor: Type.Optional(Type.String()),
          // The Department contract's own optional fields: station (both or neither) and units.
          lon: Department.properties.lon,
          lat: Department.properties.lat,
          units: Department.properties.units,
          roster: Type.Optional(
            Type.Array(
              Type.Object(
                {
                  login: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._@-]+$' }),
                  name: Type.Optional(Type.String({ maxLength: 100 })),
                  from: ClockTime,
                  to: ClockTime,
                },
                { additionalProperties: false },
              ),
            ),
          ),
        },
        { additionalProperties: false },
      ),
      { minItems: 1 },
    ),
    rules: Type.Array(
      Type.Object(
        {
          kind: Type.String(),
          areas: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1 }),
          department: Type.String(),
          assist: Type.Optional(Type.Array(Type.String())),
          sla: Type.Object(
            {
              // A week at most: anything longer is not a service level but a typo.
              confirm_minutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_080 })),
              accept_minutes: Type.Integer({ minimum: 1, maximum: 10_080 }),
              arrive_minutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_080 })),
              resolve_minutes: Type.Integer({ minimum: 1, maximum: 43_200 }),
            },
            { additionalProperties: false },
          ),
          dispatch: Type.String(),
          dispatch_by_level: Type.Optional(Type.Record(Type.String(), Type.String())),
          escalate_to: Type.Optional(Type.Array(Type.String(), { maxItems: 10 })),
          basis: Type.Optional(Type.String({ maxLength: 300 })),
        },
        { additionalProperties: false },
      ),
      { minItems: 1 },
    ),
    utc_offset_minutes: Type.Optional(Type.Integer({ minimum: -720, maximum: 840 })),
    correlation: Type.Optional(
      Type.Object(
        {
          window_minutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 1440 })),
          radius_m: Type.Optional(Type.Number({ minimum: 0, maximum: 50_000 })),
          related_kinds: Type.Optional(Type.Array(Type.Array(Type.String(), { minItems: 2 }))),
        },
        { additionalProperties: false },
      ),
    ),
    verification: Type.Optional(
      Type.Object(
        {
          quiet_minutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 1440 })),
          max_wait_minutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_080 })),
        },
        { additionalProperties: false },
      ),
    ),
    exposure: Type.Optional(
      Type.Record(
        Type.String({ minLength: 1, maxLength: 64 }),
        Type.Object(
          {
            population: Type.Optional(Type.Integer({ minimum: 0 })),
            assets: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50 })),
          },
          { additionalProperties: false },
        ),
      ),
    ),
  },
  { $id: 'ResponsibilityTable', additionalProperties: false },
);

type PathSegment = string | number;

/**
 * Parses and validates a responsibility table. Throws an IncidentsError ('table-invalid') listing
 * every problem with its line, field, what was expected and what came; nothing half-valid is
 * returned, because a wrong table sends real cases to the wrong department.
 *
 * @param text the YAML source
 * @param sourceName how to name the source in messages (usually the file path)
 */
export function loadResponsibilityTable(text: string, sourceName: string): ResponsibilityTable {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): { line: number; column: number } => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };

  const syntaxIssues: TableIssue[] = doc.errors.map((e) => ({
    ...at(e.pos[0]),
    path: '',
    message: `YAML syntax: ${e.message.split('\n')[0] ?? e.code}`,
  }));
  if (syntaxIssues.length > 0) fail(sourceName, syntaxIssues);

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    fail(sourceName, [{ line: 0, column: 0, path: '', message: `YAML could not be read: ${e instanceof Error ? e.message : String(e)}` }]);
  }

  const locate = (path: readonly PathSegment[]): { line: number; column: number } => locateNode(doc, path, at);
  const issue = (path: readonly PathSegment[], message: string): TableIssue => ({ ...locate(path), path: displayPath(path), message });

  const check = validator(TableFile);
  if (!check.check(data)) {
    const seen = new Set<string>();
    const issues: TableIssue[] = [];
    for (const e of check.errors(data, 50)) {
      // TypeBox can report one field twice (e.g. missing and then wrong type); the first says it.
      if (seen.has(e.path)) continue;
      seen.add(e.path);
      issues.push(issue(parsePointer(e.path), lowerFirst(e.message)));
    }
    fail(sourceName, issues);
  }

  const issues: TableIssue[] = [];
  const departments = new Map<string, { entry: DepartmentEntry; index: number }>();
  data.departments.forEach((d, index) => {
    const first = departments.get(d.id);
    if (first) {
      issues.push(
        issue(
          ['departments', index, 'id'],
          `expected a unique department id; got '${d.id}' again (first at line ${locate(['departments', first.index]).line})`,
        ),
      );
    } else {
      departments.set(d.id, {
        entry: {
          id: d.id,
          name_zh: d.name_zh,
          name_en: d.name_en,
          supervisor: d.supervisor ?? '',
          roster: (d.roster ?? []).map((r) => ({
            login: r.login,
            name: r.name ?? r.login,
            fromMinute: minuteOf(r.from),
            toMinute: minuteOf(r.to),
          })),
          ...(d.lon !== undefined && d.lat !== undefined ? { station: { lon: d.lon, lat: d.lat } } : {}),
          ...(d.units === undefined ? {} : { units: d.units }),
        },
        index,
      });
    }
    if ((d.lon === undefined) !== (d.lat === undefined)) {
      const missing = d.lon === undefined ? 'lon' : 'lat';
      issues.push(
        issue(
          ['departments', index],
          `expected a station as both lon and lat; got ${missing === 'lon' ? 'lat' : 'lon'} without ${missing}`,
        ),
      );
    }
  });
  const knownDepartments = [...departments.keys()].join(', ');
  data.departments.forEach((d, index) => {
    if (d.supervisor === undefined) return;
    if (!departments.has(d.supervisor))
      issues.push(
        issue(
          ['departments', index, 'supervisor'],
          `expected a department id defined under departments (${knownDepartments}); got '${d.supervisor}'`,
        ),
      );
    else if (d.supervisor === d.id)
      issues.push(issue(['departments', index, 'supervisor'], `expected another department as supervisor; got '${d.id}' itself`));
  });
  // A supervisor chain that loops would escalate forever between the same departments.
  for (const { entry, index } of departments.values()) {
    const seen = new Set([entry.id]);
    for (let next = entry.supervisor; next !== ''; next = departments.get(next)?.entry.supervisor ?? '') {
      if (seen.has(next)) {
        issues.push(
          issue(['departments', index, 'supervisor'], `expected a supervisor chain without loops; got ${[...seen, next].join(' → ')}`),
        );
        break;
      }
      seen.add(next);
    }
  }

  const rules: ResponsibilityRule[] = [];
  /** `${kind}\u0000${area}` → index of the rule that claimed it first. */
  const claims = new Map<string, number>();
  data.rules.forEach((r, index) => {
    const here = (...rest: PathSegment[]): PathSegment[] => ['rules', index, ...rest];
    const before = issues.length;

    if (!isEventKind(r.kind)) issues.push(issue(here('kind'), `expected one of ${EVENT_KINDS.join(', ')}; got '${r.kind}'`));
    if (!isDispatchMode(r.dispatch))
      issues.push(issue(here('dispatch'), `expected one of ${DISPATCH_MODES.join(', ')}; got '${r.dispatch}'`));

    if (r.areas.includes(ANY_AREA) && r.areas.length > 1) {
      issues.push(issue(here('areas'), `expected either ['*'] or a list of area ids; got '*' mixed with ${r.areas.length - 1} area id(s)`));
    }
    r.areas.forEach((a, i) => {
      if (r.areas.indexOf(a) !== i) issues.push(issue(here('areas', i), `expected each area once; got '${a}' twice`));
    });

    if (!departments.has(r.department)) {
      issues.push(
        issue(here('department'), `expected a department id defined under departments (${knownDepartments}); got '${r.department}'`),
      );
    }
    const assist = r.assist ?? [];
    assist.forEach((a, i) => {
      if (!departments.has(a))
        issues.push(issue(here('assist', i), `expected a department id defined under departments (${knownDepartments}); got '${a}'`));
      else if (a === r.department)
        issues.push(issue(here('assist', i), `expected assisting departments other than the lead; got the lead '${a}'`));
      else if (assist.indexOf(a) !== i) issues.push(issue(here('assist', i), `expected each assisting department once; got '${a}' twice`));
    });

    const byLevel: Partial<Record<WarningLevel, DispatchMode>> = {};
    for (const [level, mode] of Object.entries(r.dispatch_by_level ?? {})) {
      if (!isWarningLevel(level))
        issues.push(issue(here('dispatch_by_level', level), `expected a level key (${WARNING_LEVELS.join(', ')}); got '${level}'`));
      else if (!isDispatchMode(mode))
        issues.push(issue(here('dispatch_by_level', level), `expected one of ${DISPATCH_MODES.join(', ')}; got '${mode}'`));
      else byLevel[level] = mode;
    }
    const escalateTo = r.escalate_to ?? [];
    escalateTo.forEach((a, i) => {
      if (!departments.has(a))
        issues.push(issue(here('escalate_to', i), `expected a department id defined under departments (${knownDepartments}); got '${a}'`));
      else if (a === r.department)
        issues.push(issue(here('escalate_to', i), `expected escalation to other departments than the lead; got the lead '${a}'`));
      else if (escalateTo.indexOf(a) !== i) issues.push(issue(here('escalate_to', i), `expected each department once; got '${a}' twice`));
    });

    if (r.sla.resolve_minutes < r.sla.accept_minutes) {
      issues.push(
        issue(
          here('sla', 'resolve_minutes'),
          `expected resolve_minutes ≥ accept_minutes (${r.sla.accept_minutes}); got ${r.sla.resolve_minutes}`,
        ),
      );
    }

    // Two rules for one kind and area would make the choice depend on their order in the file;
    // the table must say one thing, so the later one is rejected and both lines are named.
    r.areas.forEach((area, i) => {
      const key = `${r.kind}\u0000${area}`;
      const first = claims.get(key);
      if (first === undefined) claims.set(key, index);
      else if (first !== index) {
        const where = area === ANY_AREA ? 'city-wide' : `in area '${area}'`;
        issues.push(
          issue(
            here('areas', i),
            `expected one rule per kind and area; got a second rule for ${r.kind} ${where} (the first is at line ${locate(['rules', first]).line})`,
          ),
        );
      }
    });

    if (issues.length === before && isEventKind(r.kind) && isDispatchMode(r.dispatch)) {
      rules.push({
        kind: r.kind,
        areas: [...r.areas],
        department: r.department,
        assist: [...assist],
        sla: {
          // A proposal waits as long for a commander as a dispatch waits for the department.
          confirm_minutes: r.sla.confirm_minutes ?? r.sla.accept_minutes,
          accept_minutes: r.sla.accept_minutes,
          arrive_minutes: r.sla.arrive_minutes ?? 0,
          resolve_minutes: r.sla.resolve_minutes,
        },
        dispatch: r.dispatch,
        dispatchByLevel: byLevel,
        escalateTo: [...escalateTo],
        basis: r.basis ?? '',
        line: locate(here()).line,
      });
    }
  });

  // Every kind needs a city-wide rule, so every incident finds a department: a case that matches
  // no rule would sit undispatched, which is the loss the table exists to prevent.
  for (const kind of EVENT_KINDS) {
    if (!claims.has(`${kind}\u0000${ANY_AREA}`)) {
      issues.push(issue(['rules'], `expected a city-wide rule (areas: ['*']) for every event kind; got none for '${kind}'`));
    }
  }

  const related: EventKind[][] = [];
  (data.correlation?.related_kinds ?? []).forEach((group, g) => {
    const kinds: EventKind[] = [];
    group.forEach((k, i) => {
      if (!isEventKind(k))
        issues.push(issue(['correlation', 'related_kinds', g, i], `expected one of ${EVENT_KINDS.join(', ')}; got '${k}'`));
      else if (related.some((other) => other.includes(k)))
        issues.push(issue(['correlation', 'related_kinds', g, i], `expected each kind in one group at most; got '${k}' again`));
      else kinds.push(k);
    });
    related.push(kinds);
  });

  if (issues.length > 0) fail(sourceName, issues);
  const exposure: Record<string, AreaExposure> = {};
  for (const [area, e] of Object.entries(data.exposure ?? {})) exposure[area] = { population: e.population ?? 0, assets: e.assets ?? [] };
  return {
    version: data.version,
    sourceName,
    departments: [...departments.values()].map((d) => d.entry),
    rules,
    correlation: {
      windowMs: (data.correlation?.window_minutes ?? DEFAULT_CORRELATION.window_minutes) * 60_000,
      radiusM: data.correlation?.radius_m ?? DEFAULT_CORRELATION.radius_m,
      relatedKinds: related.filter((g) => g.length > 1),
    },
    verification: {
      quietMs: (data.verification?.quiet_minutes ?? DEFAULT_VERIFICATION.quiet_minutes) * 60_000,
      maxWaitMs: (data.verification?.max_wait_minutes ?? DEFAULT_VERIFICATION.max_wait_minutes) * 60_000,
    },
    exposure,
    utcOffsetMinutes: data.utc_offset_minutes ?? 480,
  };
}

/** The dispatch mode of a rule for an incident at `level` (a per-level exception wins). */
export function dispatchModeFor(rule: ResponsibilityRule, level: WarningLevel): DispatchMode {
  return rule.dispatchByLevel[level] ?? rule.dispatch;
}

/**
 * Where a case goes when its SLA clock runs out, in order: the rule's `escalate_to`, or else the
 * lead department's supervisor, that one's supervisor, and so on.
 */
export function escalationChain(table: ResponsibilityTable, rule: ResponsibilityRule, leadId: string): string[] {
  if (rule.escalateTo.length > 0) return rule.escalateTo.filter((d) => d !== leadId);
  const chain: string[] = [];
  for (let d = table.departments.find((x) => x.id === leadId)?.supervisor ?? ''; d !== '' && !chain.includes(d);) {
    chain.push(d);
    d = table.departments.find((x) => x.id === d)?.supervisor ?? '';
  }
  return chain;
}

/** Who is on duty in a department at `tsMs` by its roster (empty when it has none for that time). */
export function onDuty(table: ResponsibilityTable, departmentId: string, tsMs: number): RosterShift[] {
  const d = table.departments.find((x) => x.id === departmentId);
  if (d === undefined) return [];
  const minute = Math.floor(((tsMs / 60_000 + table.utcOffsetMinutes) % 1440) + 1440) % 1440;
  return d.roster.filter((s) =>
    s.fromMinute <= s.toMinute ? minute >= s.fromMinute && minute < s.toMinute : minute >= s.fromMinute || minute < s.toMinute,
  );
}

/** Whether two kinds describe one real-world event by the table (the same kind, or one related group). */
export function kindsRelated(table: ResponsibilityTable, a: EventKind, b: EventKind): boolean {
  return a === b || table.correlation.relatedKinds.some((g) => g.includes(a) && g.includes(b));
}

/**
 * The rule for an incident of `kind` in `areaId`: an area-specific rule wins over the kind's
 * city-wide rule. A loaded table always has one (the loader demands a '*' rule per kind).
 *
 * A linear scan: a city's list has tens to a few thousand rules and incidents open a few times a
 * minute, so an index would buy nothing measurable.
 */
export function lookupResponsibility(table: ResponsibilityTable, kind: EventKind, areaId: string): ResponsibilityMatch {
  let cityWide: ResponsibilityRule | undefined;
  let specific: ResponsibilityRule | undefined;
  for (const rule of table.rules) {
    if (rule.kind !== kind) continue;
    if (rule.areas.includes(areaId) && areaId !== ANY_AREA) {
      specific = rule;
      break;
    }
    if (rule.areas.includes(ANY_AREA)) cityWide = rule;
  }
  const rule = specific ?? cityWide;
  if (rule === undefined) {
    throw new IncidentsError(
      'invalid-argument',
      `expected table ${table.version} to have a rule for ${kind}; got none (was it built without loadResponsibilityTable?)`,
    );
  }
  const department = departmentOf(table, rule.department);
  const assist = rule.assist.map((id) => departmentOf(table, id));
  const specificity = specific ? 'area' : 'city-wide';
  const where = areaId === '' ? 'city-wide' : `in ${areaId}`;
  const which = specific
    ? `area rule for ${kind} in ${areaId} (overrides the city-wide rule)`
    : `city-wide rule for ${kind} (no area rule covers ${areaId === '' ? 'an unnamed area' : areaId})`;
  const reason = [
    `${EVENT_KIND_LABELS[kind].zh} ${EVENT_KIND_LABELS[kind].en} ${where} → ${department.name_zh} ${department.name_en} (${department.id})`,
    `by the responsibility table ${table.version}, ${which} at line ${rule.line}`,
    rule.basis === '' ? '' : `because ${rule.basis}`,
    assist.length > 0 ? `assisted by ${assist.map((d) => `${d.name_zh} (${d.id})`).join(', ')}` : '',
  ]
    .filter((s) => s !== '')
    .join('; ');
  return { rule, department, assist, specificity, reason };
}

/** The table's departments as dimension records, for TOPICS.dimensions (keyed `Department:<id>`). */
export function departmentsAsDimensions(table: ResponsibilityTable): DimensionRecord[] {
  return table.departments.map((d) => ({
    name: 'Department',
    // The station and units go out too: this record replaces any earlier one of the department.
    record: {
      id: d.id,
      schema_version: 1,
      name_zh: d.name_zh,
      name_en: d.name_en,
      ...(d.station === undefined ? {} : { lon: d.station.lon, lat: d.station.lat }),
      ...(d.units === undefined ? {} : { units: d.units }),
    },
  }));
}

/**
 * The table shipped with the package. Resolved from this module's URL, so it is the same file
 * whether the code runs from src/ (tests, tsx) or dist/ (compiled): both sit beside config/.
 */
export function defaultResponsibilityTablePath(): string {
  return fileURLToPath(new URL('../config/responsibility.yaml', import.meta.url));
}

/** Reads and loads a table file (the shipped one by default). */
export async function readResponsibilityTableFile(path: string = defaultResponsibilityTablePath()): Promise<ResponsibilityTable> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new IncidentsError(
      'table-unreadable',
      `expected a readable responsibility table at ${path}; got ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
  return loadResponsibilityTable(text, path);
}

function departmentOf(table: ResponsibilityTable, id: string): DepartmentEntry {
  const d = table.departments.find((x) => x.id === id);
  if (d === undefined)
    throw new IncidentsError('invalid-argument', `expected department '${id}' in table ${table.version}; got no such department`);
  return d;
}

function isEventKind(value: string): value is EventKind {
  return (EVENT_KINDS as readonly string[]).includes(value);
}

function isWarningLevel(value: string): value is WarningLevel {
  return (WARNING_LEVELS as readonly string[]).includes(value);
}

function minuteOf(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

function isDispatchMode(value: string): value is DispatchMode {
  return (DISPATCH_MODES as readonly string[]).includes(value);
}

function fail(sourceName: string, issues: readonly TableIssue[]): never {
  const lines = issues.map(
    (i) => `  ${sourceName}:${i.line}${i.column > 0 ? `:${i.column}` : ''}${i.path === '' ? '' : ` ${i.path}`}: ${i.message}`,
  );
  const count = issues.length === 1 ? 'a problem' : `${issues.length} problems`;
  throw new IncidentsError('table-invalid', `responsibility table ${sourceName} has ${count}:\n${lines.join('\n')}`, { issues });
}

/**
 * The source position of the deepest node on `path` that exists: a wrong scalar points at the
 * value, a mapping or list at its key (`rules:` rather than its first item), a missing field at
 * the mapping that lacks it.
 */
function locateNode(
  doc: Document,
  path: readonly PathSegment[],
  at: (offset: number) => { line: number; column: number },
): { line: number; column: number } {
  for (let n = path.length; n >= 0; n--) {
    const node: unknown = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (node === undefined) continue;
    const segment = path[n - 1];
    if (typeof segment === 'string' && (isMap(node) || isSeq(node))) {
      const parent: unknown = n === 1 ? doc.contents : doc.getIn(path.slice(0, n - 1), true);
      const pair = isMap(parent) ? parent.items.find((p) => isScalar(p.key) && p.key.value === segment) : undefined;
      const keyOffset = pair === undefined ? undefined : rangeStart(pair.key);
      if (keyOffset !== undefined) return at(keyOffset);
    }
    const offset = rangeStart(node);
    if (offset !== undefined) return at(offset);
  }
  return { line: 0, column: 0 };
}

function rangeStart(node: unknown): number | undefined {
  if (typeof node !== 'object' || node === null || !('range' in node)) return undefined;
  const range: unknown = node.range;
  return Array.isArray(range) && typeof range[0] === 'number' ? range[0] : undefined;
}

/** A JSON pointer (`/rules/3/sla`) as path segments; array indices become numbers for getIn. */
function parsePointer(pointer: string): PathSegment[] {
  if (pointer === '/' || pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** `rules[3].sla.accept_minutes`: how a person reading the YAML names the field. */
function displayPath(path: readonly PathSegment[]): string {
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

function lowerFirst(s: string): string {
  return s.length > 0 ? s[0]!.toLowerCase() + s.slice(1) : s;
}
