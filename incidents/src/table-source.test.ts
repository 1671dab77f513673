import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
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
      .replace('supervisor: dept.development\n', 'supervisor: dept.market\n')
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

describe('openTableSource: new versions saved through replace()', () => {
  const v2 = shipped.replace("version: '2026-11-22.1'", "version: '2026-11-22.2'");

  async function opened(options: { watchFile?: boolean } = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'cityops-table-'));
    dirs.push(dir);
    const path = join(dir, 'responsibility.yaml');
    const changes: string[] = [];
    const source = await openTableSource({
      path,
      seedFrom: defaultResponsibilityTablePath(),
      watchFile: options.watchFile ?? false,
      onChange: (t, previous) => changes.push(`${previous.version}→${t.version}`),
    });
    return { dir, path, source, changes };
  }

  it('seeds a missing file from the shipped table and leaves an existing one alone', async () => {
    const { path, source } = await opened();
    expect(readFileSync(path, 'utf8')).toBe(shipped);
    expect(source.text()).toBe(shipped);
    writeFileSync(path, v2);
    const again = await openTableSource({ path, seedFrom: defaultResponsibilityTablePath(), watchFile: false });
    expect(again.current().version).toBe('2026-11-22.2');
  });

  it('puts a valid new version in force, writes it to the file and keeps both editions', async () => {
    const { dir, path, source, changes } = await opened();
    const edited = v2.replace(/(- kind: congestion\n {4}areas: \['\*'\]\n {4}department: )dept\.traffic-police/, '$1dept.urban');
    expect(edited).not.toBe(v2);
    const result = await source.replace(edited);
    expect([result.previous.version, result.table.version]).toEqual(['2026-11-22.1', '2026-11-22.2']);
    expect(source.current().version).toBe('2026-11-22.2');
    expect(lookupResponsibility(source.current(), 'congestion', 'hb.haihe').department.id).toBe('dept.urban');
    expect(source.text()).toBe(edited);
    expect(readFileSync(path, 'utf8')).toBe(edited);
    expect(changes).toEqual(['2026-11-22.1→2026-11-22.2']);
    expect((await source.versions()).map((v) => v.version).sort()).toEqual(['2026-11-22.1', '2026-11-22.2']);
    expect(readFileSync(join(dir, 'responsibility.versions', '2026-11-22.1.yaml'), 'utf8')).toBe(shipped);
    // Reading our own write again changes nothing: the same table object stays in force.
    const before = source.current();
    expect(await source.reload()).toEqual({ ok: true, changed: false, version: '2026-11-22.2' });
    expect(source.current()).toBe(before);
  });

  it('refuses a table with a mistake, naming its line, and changes nothing', async () => {
    const { path, source, changes } = await opened();
    const broken = v2.replace('department: dept.water', 'department: dept.nowhere');
    const line = broken.split('\n').findIndex((l) => l.includes('dept.nowhere')) + 1;
    const error = await source.replace(broken).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(IncidentsError);
    expect((error as IncidentsError).code).toBe('table-invalid');
    expect((error as IncidentsError).issues.map((i) => i.line)).toContain(line);
    expect(source.current().version).toBe('2026-11-22.1');
    expect(readFileSync(path, 'utf8')).toBe(shipped);
    expect(changes).toEqual([]);
    expect(await source.versions()).toEqual([]);
  });

  it('refuses an unchanged or reused version, and the table shipped with the package', async () => {
    const { source } = await opened();
    await expect(source.replace(shipped.replace('radius_m: 500', 'radius_m: 600'))).rejects.toMatchObject({
      code: 'invalid-argument',
      message: expect.stringMatching(/expected a new version .*got '2026-11-22.1', the version in force/) as unknown,
    });
    await source.replace(v2);
    await expect(source.replace(shipped.replace('radius_m: 500', 'radius_m: 600'))).rejects.toMatchObject({
      code: 'invalid-argument',
      message: expect.stringMatching(/expected a version not used before .*got '2026-11-22.1'/) as unknown,
    });
    expect(source.current().version).toBe('2026-11-22.2');

    const packaged = await openTableSource({ path: defaultResponsibilityTablePath(), watchFile: false });
    await expect(packaged.replace(v2)).rejects.toMatchObject({ code: 'invalid-argument' });
    expect(readFileSync(defaultResponsibilityTablePath(), 'utf8')).toBe(shipped);
  });

  it('keeps watching after the file is replaced by a rename (how editors and replace() save)', async () => {
    const { dir, path, source } = await opened({ watchFile: true });
    try {
      writeFileSync(join(dir, 'edit.tmp'), v2);
      renameSync(join(dir, 'edit.tmp'), path);
      await vi.waitFor(() => expect(source.current().version).toBe('2026-11-22.2'), { timeout: 10_000, interval: 50 });
      writeFileSync(join(dir, 'edit.tmp'), shipped.replace("version: '2026-11-22.1'", "version: '2026-11-22.3'"));
      renameSync(join(dir, 'edit.tmp'), path);
      await vi.waitFor(() => expect(source.current().version).toBe('2026-11-22.3'), { timeout: 10_000, interval: 50 });
      expect(existsSync(join(dir, 'edit.tmp'))).toBe(false);
    } finally {
      source.close();
    }
  });
});
