import { randomBytes } from 'node:crypto';
import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { murmur2, partitionForKey } from './partitioner.js';

/** kafkajs's DefaultPartitioner is the Java client's: the reference our hash must match. */
const kafkajsPartition = Partitioners.DefaultPartitioner();
function reference(key: string, partitions: number): number {
  return kafkajsPartition({
    topic: 'reference',
    partitionMetadata: Array.from({ length: partitions }, (_, partitionId) => ({
      partitionId,
      leader: 1,
      partitionErrorCode: 0,
      replicas: [1],
      isr: [1],
    })),
    message: { key, value: null },
  });
}

function randomKey(): string {
  const kind = Math.floor(Math.random() * 4);
  const length = Math.floor(Math.random() * 40);
  if (kind === 0) return randomBytes(length).toString('hex').slice(0, length);
  if (kind === 1) return `sensor-${Math.floor(Math.random() * 1e6)}`;
  if (kind === 2) return Array.from({ length }, () => String.fromCodePoint(0x400 + Math.floor(Math.random() * 0x5000))).join('');
  return `${'摄像头'.repeat(length % 5)}🚦${length}`;
}

describe('partitionForKey', () => {
  it('matches the Java/kafkajs default partitioner for ASCII, Cyrillic, CJK and emoji keys', () => {
    for (let i = 0; i < 3000; i++) {
      const key = randomKey();
      const partitions = 1 + (i % 64);
      expect(partitionForKey(key, partitions), `key ${JSON.stringify(key)}`).toBe(reference(key, partitions));
    }
  });

  it('handles the empty key and keys longer than the scratch buffer', () => {
    for (const key of ['', 'a', 'ab', 'abc', 'abcd', 'x'.repeat(5000), 'ж'.repeat(2000)]) {
      expect(partitionForKey(key, 12)).toBe(reference(key, 12));
    }
  });

  it('is a signed 32-bit hash', () => {
    const hash = murmur2('cam-42');
    expect(Number.isInteger(hash)).toBe(true);
    expect(hash).toBe(hash | 0);
  });
});
