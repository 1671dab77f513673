import { IncidentsError, type ResponsibilityTable, type TableSource } from '@cityops/incidents';
import type { AuthRoute } from '../auth/auth-routes.js';
import { assertKnownFields, readJsonObject, stringField } from '../auth/http-body.js';
import { DashboardError } from '../errors.js';

/*
 * /api/admin/rules: the responsibility table (权责清单) as its owners write it, YAML. GET gives
 * the text in force, its version, the saved versions and a parsed summary; PUT saves a new
 * version. The text is checked by the incidents package's own loader (the one the incidents role
 * runs), so what the editor accepts is exactly what dispatches; a refusal lists every problem
 * with its line. The incidents role reads the same TableSource and dispatches its next incident
 * by the new version, without a restart.
 */

export interface RulesRouteDeps {
  /** The incidents role's table, when that role runs in this process; undefined: the routes answer 404 saying so. */
  rules: TableSource | undefined;
}

/** The shipped table is ~10 KB; a megacity's with hundreds of area overrides stays well below this. */
const MAX_RULES_BODY_BYTES = 512 * 1024;

export interface RulesSummary {
  departments: { id: string; name_zh: string; name_en: string }[];
  rules: {
    line: number;
    kind: string;
    areas: string[];
    department: string;
    assist: string[];
    dispatch: string;
    accept_minutes: number;
    resolve_minutes: number;
  }[];
}

/** GET /api/admin/rules */
export interface RulesResponse {
  version: string;
  yaml: string;
  summary: RulesSummary;
  /** Versions saved beside the table, newest first. */
  versions: { version: string; saved_at: number }[];
}

/** PUT /api/admin/rules */
export interface RulesSaved {
  previous_version: string;
  version: string;
  summary: RulesSummary;
}

export function summarize(table: ResponsibilityTable): RulesSummary {
  return {
    departments: table.departments.map((d) => ({ id: d.id, name_zh: d.name_zh, name_en: d.name_en })),
    rules: table.rules.map((r) => ({
      line: r.line,
      kind: r.kind,
      areas: [...r.areas],
      department: r.department,
      assist: [...r.assist],
      dispatch: r.dispatch,
      accept_minutes: r.sla.accept_minutes,
      resolve_minutes: r.sla.resolve_minutes,
    })),
  };
}

/** Routes keyed by their policy action name (authorize.ts POLICY). */
export function createRulesRoutes(deps: RulesRouteDeps): Readonly<Record<string, AuthRoute>> {
  const source = (what: string): TableSource => {
    if (deps.rules === undefined) {
      throw new DashboardError(
        'not-found',
        `${what}: expected the incidents role in this process (cityops all, or dashboard and incidents together); it runs elsewhere, edit its table file there`,
      );
    }
    return deps.rules;
  };

  return {
    'rules.read': {
      query: [],
      async run() {
        const rules = source('GET /api/admin/rules');
        const table = rules.current();
        const body: RulesResponse = {
          version: table.version,
          yaml: rules.text(),
          summary: summarize(table),
          versions: await rules.versions(),
        };
        return { body };
      },
    },

    'rules.update': {
      query: [],
      async run({ req }) {
        const what = 'PUT /api/admin/rules';
        const rules = source(what);
        const body = await readJsonObject(req, what, MAX_RULES_BODY_BYTES);
        assertKnownFields(body, ['yaml', 'base_version'], what);
        const yaml = stringField(body, 'yaml', { max: MAX_RULES_BODY_BYTES });
        const base = stringField(body, 'base_version', { max: 64 });
        const inForce = rules.current().version;
        // Two administrators editing at once: the second save would silently undo the first.
        if (base !== inForce) {
          throw new DashboardError(
            'conflict',
            `${what}: field 'base_version': expected the version in force, '${inForce}' (reload the table and apply your change to it); got '${base.slice(0, 64)}'`,
          );
        }
        let saved;
        try {
          saved = await rules.replace(yaml);
        } catch (e) {
          throw refusal(e, what);
        }
        const answer: RulesSaved = {
          previous_version: saved.previous.version,
          version: saved.table.version,
          summary: summarize(saved.table),
        };
        return {
          body: answer,
          audit: {
            target: 'responsibility-table',
            detail: `version ${saved.previous.version} → ${saved.table.version} (${saved.table.rules.length} rules, ${saved.table.departments.length} departments)`,
          },
        };
      },
    },
  };
}

/** The loader's problems, each with its line, as the 400 the editor shows; the file path stays on the server. */
function refusal(e: unknown, what: string): unknown {
  if (!(e instanceof IncidentsError)) return e;
  if (e.code === 'table-invalid') {
    const problems = e.issues.map(
      (i) => `line ${i.line}${i.column > 0 ? `:${i.column}` : ''}${i.path === '' ? '' : ` (${i.path})`}: ${i.message}`,
    );
    const count = problems.length === 1 ? 'a problem' : `${problems.length} problems`;
    return new DashboardError(
      'bad-request',
      `${what}: field 'yaml': expected a valid responsibility table; got ${count}:\n${problems.join('\n')}`,
      {
        cause: e,
      },
    );
  }
  if (e.code === 'invalid-argument') return new DashboardError('bad-request', `${what}: ${e.message}`, { cause: e });
  return new DashboardError('store-failed', `${what}: ${e.message}`, { cause: e, retriable: e.retriable });
}
