import { partitionForKey } from '@cityops/bus';

const partitionKeys = new Map<string, string>();

/**
 * The key of a partition's batch messages: a fixed string per (topic, partition) that hashes to
 * that partition. Fixed, so that where a Kafka topic has another partition count than assumed,
 * every record of one sensor still goes through the same key, hence one partition, in order.
 */
export function partitionKey(topic: string, partition: number, partitions: number): string {
  const cacheKey = `${topic}/${partition}/${partitions}`;
  let key = partitionKeys.get(cacheKey);
  if (key === undefined) {
    for (let salt = 0; ; salt++) {
      const candidate = `${topic}#${partition}.${salt}`;
      if (partitionForKey(candidate, partitions) === partition) {
        key = candidate;
        break;
      }
    }
    partitionKeys.set(cacheKey, key);
  }
  return key;
}
