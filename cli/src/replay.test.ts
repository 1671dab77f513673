import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createInProcessBus } from '@cityops/bus';
import { createIngestHandler } from '@cityops/ingest';
import { DEFAULT_PARTITIONS, decodeRecords, MarketTick, TOPICS } from '@cityops/schemas';
import { replayFile, replayOptions } from './replay.js';

describe('cityops replay', () => {
  it('sends a history CSV through the real ingest API in event-time order; a missing value is refused by name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cityops-replay-'));
    const bus = createInProcessBus();
    await bus.ensureTopics([TOPICS.marketTicks, TOPICS.deadLetters].map((name) => ({ name, partitions: DEFAULT_PARTITIONS[name] })));
    const ticks: MarketTick[] = [];
    await bus.consumer({ groupId: 'test', topics: [TOPICS.marketTicks] }).run((batch) => {
      for (const m of batch.messages) ticks.push(...decodeRecords(MarketTick, m.headers, m.value).values);
      return Promise.resolve();
    });
    const handler = createIngestHandler({ producer: bus.producer(), apiKeys: () => ['k-replay'], clock: Date.now });
    const server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const file = join(dir, 'pork.csv');
      // Out of order in the file, one missing observation, ISO and epoch-ms times mixed.
      await writeFile(
        file,
        [
          'indicator_id,ts,value',
          'pork-price,2026-01-01T02:00:00Z,24.9',
          'pork-price,1767225600000,24.1',
          'pork-price,2026-01-01T01:00:00Z,',
          'pork-price,2026-01-01T03:00:00Z,25.3',
        ].join('\n'),
      );
      const options = replayOptions(
        ['replay', file, '--chunk-rows', '2', '--url', `http://127.0.0.1:${(server.address() as AddressInfo).port}`],
        {
          CITYOPS_API_KEY: 'k-replay',
        },
      );
      const report = await replayFile(options);
      expect(report).toMatchObject({ rows: 4, accepted: 3, rejected: 1, requests: 2 });
      expect(report.firstError).toContain('/value');
      await expect.poll(() => ticks.length).toBe(3);
      expect(ticks.map((t) => [t.ts, t.value])).toEqual([
        [1767225600000, 24.1],
        [Date.parse('2026-01-01T02:00:00Z'), 24.9],
        [Date.parse('2026-01-01T03:00:00Z'), 25.3],
      ]);
      expect(() => replayOptions(['replay'], { CITYOPS_API_KEY: 'x' })).toThrow(/expected a CSV file/);
      expect(() => replayOptions(['replay', file], {})).toThrow(/expected CITYOPS_API_KEY/);
    } finally {
      await new Promise((r) => server.close(r));
      await bus.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
