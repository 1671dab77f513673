import { describe, expect, it } from 'vitest';
import { createDemoCity } from '@cityops/ingest';
import { departmentsAsDimensions, readResponsibilityTableFile } from '@cityops/incidents';

/*
 * `cityops all` publishes departments twice: the simulator's demo city and the incidents role's
 * responsibility table. Whichever comes last replaces the other, so the two must agree — or the
 * wall's stations and unit counts would come and go with start-up order.
 */
describe('the demo departments', () => {
  it('are the same in the demo city and the shipped responsibility table, stations and units included', async () => {
    const table = await readResponsibilityTableFile();
    const fromTable = departmentsAsDimensions(table).map((d) => d.record);
    const byId = <T extends { id: string }>(list: readonly T[]) => [...list].sort((a, b) => a.id.localeCompare(b.id));
    expect(byId(fromTable)).toEqual(byId(createDemoCity().departments));
  });
});
