import { describe, expect, it } from 'vitest';
import { DEFAULT_RETENTION_DAYS, resolveRetention, ttlDaysOf } from './retention.js';

describe('retention', () => {
  it('merges overrides over the defaults', () => {
    const r = resolveRetention({ readings: 7, dead_letters: 0 });
    expect(r.readings).toBe(7);
    expect(r.dead_letters).toBe(0);
    expect(r.incidents).toBe(DEFAULT_RETENTION_DAYS.incidents);
  });

  it('rejects unknown tables and non-whole days, saying what it expected', () => {
    expect(() => resolveRetention({ areas: 5 } as never)).toThrow(/retentionDays: expected one of readings, .*; got 'areas'/);
    expect(() => resolveRetention({ readings: -1 })).toThrow('retentionDays.readings: expected whole days ≥ 0 (0 keeps forever); got -1');
  });

  it('reads the TTL days from engine_full as ClickHouse prints it', () => {
    expect(
      ttlDaysOf(
        'ReplacingMergeTree PARTITION BY toYYYYMM(ts) ORDER BY (ts, id) TTL toDateTime(ts) + toIntervalDay(90) SETTINGS index_granularity = 8192',
      ),
    ).toBe(90);
    expect(ttlDaysOf('ReplacingMergeTree ORDER BY id SETTINGS index_granularity = 8192')).toBeUndefined();
  });
});
