import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Department, EVENT_KINDS, validator } from '@cityops/schemas';
import { IncidentsError } from './errors.js';
import {
  defaultResponsibilityTablePath,
  departmentsAsDimensions,
  loadResponsibilityTable,
  lookupResponsibility,
  readResponsibilityTableFile,
} from './responsibility-table.js';

const shippedText = readFileSync(defaultResponsibilityTablePath(), 'utf8');

/** A minimal valid table: two departments, one city-wide rule per kind, then `extra` lines. */
function tableText(extra = ''): string {
  const rules = EVENT_KINDS.map(
    (kind) =>
      `  - { kind: ${kind}, areas: ['*'], department: dept-a, assist: [], sla: { accept_minutes: 10, resolve_minutes: 60 }, dispatch: auto }`,
  );
  return [
    'version: "t.1"',
    'departments:',
    '  - { id: dept-a, name_zh: 甲局, name_en: A }',
    '  - { id: dept-b, name_zh: 乙局, name_en: B }',
    'rules:',
    ...rules,
    extra,
  ].join('\n');
}

/** 1-based line of the only line containing `marker`. */
function lineOf(text: string, marker: string): number {
  const lines = text.split('\n');
  const hits = lines.flatMap((l, i) => (l.includes(marker) ? [i + 1] : []));
  expect(hits, `marker ${marker}`).toHaveLength(1);
  return hits[0]!;
}

function loadError(text: string): IncidentsError {
  try {
    loadResponsibilityTable(text, 'test.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(IncidentsError);
    return e as IncidentsError;
  }
  throw new Error('expected the table to be rejected');
}

describe('the shipped responsibility table', () => {
  const table = loadResponsibilityTable(shippedText, 'responsibility.yaml');

  it('loads, with its version and the demo city departments', () => {
    expect(table.version).toBe('2026-11-22.1');
    expect(table.departments.map((d) => d.id).sort()).toEqual(
      [
        'dept.development',
        'dept.finance',
        'dept.emergency',
        'dept.ecology',
        'dept.market',
        'dept.power',
        'dept.traffic-police',
        'dept.urban',
        'dept.water',
      ].sort(),
    );
    expect(table.departments.find((d) => d.id === 'dept.water')?.name_zh).toBe('市水务局');
  });

  it('has a city-wide rule for every event kind and some area overrides', () => {
    for (const kind of EVENT_KINDS) {
      expect(
        table.rules.some((r) => r.kind === kind && r.areas.includes('*')),
        kind,
      ).toBe(true);
    }
    expect(table.rules.filter((r) => !r.areas.includes('*')).length).toBeGreaterThanOrEqual(3);
    expect(new Set(table.rules.map((r) => r.dispatch))).toEqual(new Set(['auto', 'confirm']));
  });

  it('is found through defaultResponsibilityTablePath()', async () => {
    const fromFile = await readResponsibilityTableFile();
    expect(fromFile.version).toBe(table.version);
  });

  it('publishes departments as valid Department dimension records', () => {
    const dims = departmentsAsDimensions(table);
    expect(dims).toHaveLength(9);
    for (const d of dims) {
      expect(d.name).toBe('Department');
      expect(validator(Department).errors(d.record)).toEqual([]);
    }
  });

  it("gives every department a station and a unit count, and its dimension record carries them (it replaces the simulator's)", () => {
    const water = departmentsAsDimensions(table).find((d) => d.record.id === 'dept.water')?.record;
    expect(water).toMatchObject({ lon: 121.469454, lat: 31.213712, units: 8 });
    for (const d of table.departments) {
      expect(d.station, d.id).toBeDefined();
      expect(d.units, d.id).toBeGreaterThan(0);
    }
  });
});

describe('lookupResponsibility', () => {
  const table = loadResponsibilityTable(shippedText, 'responsibility.yaml');

  it('prefers an area-specific rule over the city-wide one', () => {
    const specific = lookupResponsibility(table, 'waterlogging', 'hb.laocheng');
    expect(specific.specificity).toBe('area');
    expect(specific.department.id).toBe('dept.emergency');
    expect(specific.reason).toMatch(/hb.laocheng/);
    expect(specific.reason).toMatch(/overrides the city-wide rule/);

    const general = lookupResponsibility(table, 'waterlogging', 'area-riverside');
    expect(general.specificity).toBe('city-wide');
    expect(general.department.id).toBe('dept.water');
    expect(general.assist.map((d) => d.id)).toEqual(['dept.traffic-police', 'dept.urban']);
  });

  it('does not depend on the order of rules in the file', () => {
    // The override comes before the city-wide rule of its kind here.
    const text = tableText().replace(
      'rules:\n',
      'rules:\n  - { kind: congestion, areas: [area-x, area-y], department: dept-b, sla: { accept_minutes: 5, resolve_minutes: 30 }, dispatch: confirm, basis: test override }\n',
    );
    const t = loadResponsibilityTable(text, 'test.yaml');
    const m = lookupResponsibility(t, 'congestion', 'area-y');
    expect(m.department.id).toBe('dept-b');
    expect(m.rule.line).toBe(lineOf(text, 'test override'));
    expect(m.rule.assist).toEqual([]);
    expect(lookupResponsibility(t, 'congestion', 'area-z').department.id).toBe('dept-a');
  });

  it('cites the table version, the rule line and why in its reason', () => {
    const m = lookupResponsibility(table, 'pollution', 'hb.lingang');
    expect(m.reason).toContain('2026-11-22.1');
    expect(m.reason).toContain(`line ${m.rule.line}`);
    expect(m.reason).toContain('because');
    expect(m.reason).toContain('dept.ecology');
  });
});

describe('loadResponsibilityTable validation', () => {
  it('accepts the minimal table', () => {
    expect(loadResponsibilityTable(tableText(), 'test.yaml').rules).toHaveLength(EVENT_KINDS.length);
  });

  it('names the line and the field of a wrong value, with what was expected and what came', () => {
    const text = tableText(
      [
        '  - kind: congestion',
        '    areas: [area-x]',
        '    department: dept-b',
        '    sla:',
        '      accept_minutes: ten # BAD',
        '      resolve_minutes: 60',
        '    dispatch: auto',
      ].join('\n'),
    );
    const err = loadError(text);
    expect(err.code).toBe('table-invalid');
    expect(err.retriable).toBe(false);
    const line = lineOf(text, '# BAD');
    expect(err.issues).toEqual([expect.objectContaining({ line, path: `rules[${EVENT_KINDS.length}].sla.accept_minutes` })]);
    expect(err.issues[0]?.message).toMatch(/expected integer; got "ten"/i);
    expect(err.message).toContain(`test.yaml:${line}`);
    expect(err.message).toContain('sla.accept_minutes');
  });

  it('names the rule line for a missing field and the key line for an unknown one', () => {
    const text = tableText(
      [
        '  - kind: congestion # RULE',
        '    areas: [area-x]',
        '    department: dept-b',
        '    sla: { accept_minutes: 5, resolve_minutes: 60 }',
        '    dispach: auto # TYPO',
      ].join('\n'),
    );
    const err = loadError(text);
    const byPath = new Map(err.issues.map((i) => [i.path, i]));
    const index = EVENT_KINDS.length;
    expect(byPath.get(`rules[${index}].dispatch`)).toMatchObject({ line: lineOf(text, '# RULE') });
    expect(byPath.get(`rules[${index}].dispatch`)?.message).toMatch(/missing/);
    expect(byPath.get(`rules[${index}].dispach`)).toMatchObject({ line: lineOf(text, '# TYPO') });
    expect(byPath.get(`rules[${index}].dispach`)?.message).toMatch(/unexpected property/i);
  });

  it('lists the allowed kinds and departments when one is unknown', () => {
    const text = tableText(
      [
        '  - kind: flood # KIND',
        '    areas: [area-x]',
        '    department: dept-fire # DEPT',
        '    sla: { accept_minutes: 5, resolve_minutes: 60 }',
        '    dispatch: sometimes # MODE',
      ].join('\n'),
    );
    const err = loadError(text);
    const index = EVENT_KINDS.length;
    const byPath = new Map(err.issues.map((i) => [i.path, i]));
    expect(byPath.get(`rules[${index}].kind`)).toMatchObject({ line: lineOf(text, '# KIND') });
    expect(byPath.get(`rules[${index}].kind`)?.message).toMatch(/expected one of waterlogging, congestion.*; got 'flood'/);
    expect(byPath.get(`rules[${index}].department`)).toMatchObject({ line: lineOf(text, '# DEPT') });
    expect(byPath.get(`rules[${index}].department`)?.message).toMatch(/dept-a, dept-b\); got 'dept-fire'/);
    expect(byPath.get(`rules[${index}].dispatch`)?.message).toMatch(/expected one of auto, confirm; got 'sometimes'/);
  });

  it('rejects two rules for the same kind and area, naming both lines', () => {
    const text = tableText(
      [
        '  - { kind: crowd, areas: [area-x], department: dept-b, sla: { accept_minutes: 5, resolve_minutes: 60 }, dispatch: auto } # FIRST',
        '  - { kind: crowd, areas: [area-y, area-x], department: dept-a, sla: { accept_minutes: 5, resolve_minutes: 60 }, dispatch: auto } # SECOND',
      ].join('\n'),
    );
    const err = loadError(text);
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]).toMatchObject({ line: lineOf(text, '# SECOND'), path: `rules[${EVENT_KINDS.length + 1}].areas[1]` });
    expect(err.issues[0]?.message).toContain(`the first is at line ${lineOf(text, '# FIRST')}`);
  });

  it('demands a city-wide rule for every kind', () => {
    const text = tableText().replace(/^.*kind: sensor_fault.*$/m, '');
    const err = loadError(text);
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]?.message).toMatch(/city-wide rule .* got none for 'sensor_fault'/);
    expect(err.issues[0]?.line).toBe(lineOf(text, 'rules:'));
  });

  it('checks cross-field rules: SLA order, assist departments, mixed wildcards', () => {
    const text = tableText(
      [
        "  - { kind: crowd, areas: ['*', area-x], department: dept-b, assist: [dept-b, dept-z], sla: { accept_minutes: 50, resolve_minutes: 10 }, dispatch: auto } # MIXED",
      ].join('\n'),
    );
    const err = loadError(text);
    const line = lineOf(text, '# MIXED');
    const messages = err.issues.map((i) => `${i.line} ${i.path}: ${i.message}`);
    const index = EVENT_KINDS.length;
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^${line} rules\\[${index}\\]\\.areas: expected either \\['\\*'\\]`)),
        expect.stringMatching(new RegExp(`^${line} rules\\[${index}\\]\\.assist\\[0\\]: .*got the lead 'dept-b'`)),
        expect.stringMatching(new RegExp(`^${line} rules\\[${index}\\]\\.assist\\[1\\]: .*got 'dept-z'`)),
        expect.stringMatching(
          new RegExp(`^${line} rules\\[${index}\\]\\.sla\\.resolve_minutes: expected resolve_minutes ≥ accept_minutes \\(50\\); got 10`),
        ),
      ]),
    );
  });

  it('reports YAML syntax errors with their line', () => {
    const text = 'version: "t.1"\ndepartments:\n  - { id: dept-a, name_zh: 甲, name_en: A\nrules: []\n';
    const err = loadError(text);
    expect(err.issues[0]?.message).toMatch(/^YAML syntax/);
    expect(err.issues[0]?.line).toBeGreaterThanOrEqual(3);
  });

  it('rejects duplicate department ids and a wrongly typed version', () => {
    const text = tableText().replace('version: "t.1"', 'version: [1]').replace('dept-b, name_zh', 'dept-a, name_zh');
    const first = loadError(text);
    expect(first.issues.map((i) => i.path)).toEqual(['version']);
    const second = loadError(tableText().replace('dept-b, name_zh', 'dept-a, name_zh'));
    expect(second.issues[0]).toMatchObject({ path: 'departments[1].id', line: 4 });
    expect(second.issues[0]?.message).toMatch(/unique department id; got 'dept-a' again \(first at line 3\)/);
  });

  it('takes a station as lon and lat together and units from 0 to 500, and leaves them out when absent', () => {
    const stationed = loadResponsibilityTable(
      tableText().replace(
        '{ id: dept-a, name_zh: 甲局, name_en: A }',
        '{ id: dept-a, name_zh: 甲局, name_en: A, lon: 121.5, lat: 31.2, units: 7 }',
      ),
      'test.yaml',
    );
    const [a, b] = departmentsAsDimensions(stationed).map((d) => d.record);
    expect(a).toEqual({ id: 'dept-a', schema_version: 1, name_zh: '甲局', name_en: 'A', lon: 121.5, lat: 31.2, units: 7 });
    expect(b).toEqual({ id: 'dept-b', schema_version: 1, name_zh: '乙局', name_en: 'B' });

    const halfStation = loadError(tableText().replace('name_en: A }', 'name_en: A, lon: 121.5 }'));
    expect(halfStation.issues[0]).toMatchObject({ path: 'departments[0]', line: 3 });
    expect(halfStation.issues[0]?.message).toBe('expected a station as both lon and lat; got lon without lat');
    const tooMany = loadError(tableText().replace('name_en: A }', 'name_en: A, units: 501 }'));
    expect(tooMany.issues.map((i) => i.path)).toEqual(['departments[0].units']);
    const offGlobe = loadError(tableText().replace('name_en: A }', 'name_en: A, lon: 200, lat: 31 }'));
    expect(offGlobe.issues.map((i) => i.path)).toEqual(['departments[0].lon']);
  });

  it('wraps an unreadable file', async () => {
    await expect(readResponsibilityTableFile('/nonexistent/responsibility.yaml')).rejects.toMatchObject({ code: 'table-unreadable' });
  });
});
