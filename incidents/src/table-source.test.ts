import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IncidentsError } from './errors.js';
import {
  defaultResponsibilityTablePath,
  escalationChain,
  loadResponsibilityTable,
  lookupResponsibility,
  onDuty,
} from './responsibility-table.js';
import { openTableSource } from './table-source.js';

const shipped = readFileSync(defaultResponsibilityTablePath(), 'utf8');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function loadError(text: string): IncidentsError {
  try {
    loadResponsibilityTable(text, 't.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(IncidentsError);
    return e as IncidentsError;
  }
  throw new Error('expected the table to be rejected');
}

describe('responsibility table: escalation, rosters, policies', () => {
  const table = loadResponsibilityTable(shipped, 'responsibility.yaml');

  it('escalates along escalate_to, else up the supervisors', () => {
    const price = lookupResponsibility(table, 'price_shock', '');
    expect(escalationChain(table, price.rule, 'dept.market')).toEqual(['dept.development', 'dept.finance']);
    const water = lookupResponsibility(table, 'waterlogging', 'hb.haihe');
    expect(escalationChain(table, water.rule, 'dept.water')).toEqual(['dept.emergency']);
  });

  it('names who is on duty by the roster in local time, shifts over midnight included', () => {
    // 02:00 UTC is 10:00 in China; 14:00 UTC is 22:00.
    expect(onDuty(table, 'dept.water', Date.UTC(2026, 10, 21, 2)).map((s) => s.login)).toEqual(['wang.hai']);
    expect(onDuty(table, 'dept.water', Date.UTC(2026, 10, 21, 14)).map((s) => s.login)).toEqual(['li.bo']);
  });

  it('rejects unknown escalation targets, supervisor loops and bad per-level policies, naming the lines', () => {
    const text = shipped
      .replace('supervisor: dept.development }', 'supervisor: dept.market }')
      .replace('escalate_to: [dept.development, dept.finance]', 'escalate_to: [dept.nowhere]')
      .replace('dispatch_by_level: { red: auto }', 'dispatch_by_level: { purple: auto }');
    const e = loadError(text);
    const lines = text.split('\n');
    const lineOf = (s: string): number => lines.findIndex((l) => l.includes(s)) + 1;
    expect(e.issues.map((i) => [i.line, i.path])).toEqual(
      expect.arrayContaining([
        [lineOf('escalate_to: [dept.nowhere]'), 'rules[4].escalate_to[0]'],
        [lineOf('dispatch_by_level: { purple'), 'rules[6].dispatch_by_level.purple'],
      ]),
    );
    expect(e.message).toMatch(/expected another department as supervisor; got 'dept.market' itself/);
    expect(e.message).toMatch(/expected a level key \(blue, yellow, orange, red\); got 'purple'/);
  });
});

describe('openTableSource', () => {
  it('reloads a changed file without a restart and keeps the last good table when an edit is broken', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cityops-table-'));
    dirs.push(dir);
    const path = join(dir, 'responsibility.yaml');
    writeFileSync(path, shipped);
    const seen: string[] = [];
    const errors: IncidentsError[] = [];
    const source = await openTableSource({ path, watchFile: false, onChange: (t) => seen.push(t.version), onError: (e) => errors.push(e) });
    expect(source.current().version).toBe('2026-11-22.1');

    writeFileSync(path, shipped.replace("version: '2026-11-22.1'", "version: '2026-11-22.2'"));
    expect(await source.reload()).toEqual({ ok: true, changed: true, version: '2026-11-22.2' });
    expect(seen).toEqual(['2026-11-22.2']);

    writeFileSync(path, shipped.replace('dispatch: auto', 'dispatch: sometimes'));
    const broken = await source.reload();
    expect(broken).toMatchObject({ ok: false, version: '2026-11-22.2' });
    expect(errors[0]?.message).toMatch(/responsibility.yaml:\d+:\d+ rules\[0\]\.dispatch: expected one of auto, confirm; got 'sometimes'/);
    expect(source.current().version).toBe('2026-11-22.2');
    source.close();
  });
});
