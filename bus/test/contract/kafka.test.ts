/**
 * The Bus contract against Kafka's wire protocol, served by librdkafka's mock cluster
 * (test/mock-kafka). Needs `cc` and Debian's librdkafka-dev to build the mock; without them the
 * suite is skipped with a warning, unless CITYOPS_REQUIRE_ALL_SUITES=1 (CI), where it fails.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createKafkaBus, type Bus } from '../../src/index.js';
import { prepareMockCluster, startMockCluster, type MockCluster } from '../mock-kafka/start-mock-cluster.js';
import { describeBusContract } from './bus-contract.js';

const prerequisites = prepareMockCluster();
const required = process.env.CITYOPS_REQUIRE_ALL_SUITES === '1';

if (!prerequisites.ok && !required) {
  console.warn(
    `[bus] SKIPPING the Kafka contract suite: ${prerequisites.reason}\n` +
      '      Install the Debian package librdkafka-dev (and a C compiler) to run it.',
  );
}

if (!prerequisites.ok && required) {
  const { reason } = prerequisites;
  describe('Kafka contract prerequisites', () => {
    it('can build the librdkafka mock cluster (required: CITYOPS_REQUIRE_ALL_SUITES=1)', () => {
      throw new Error(`${reason}\nInstall the Debian package librdkafka-dev.`);
    });
  });
}

describe.skipIf(!prerequisites.ok)('Kafka bus on the librdkafka mock cluster', () => {
  let cluster: MockCluster | undefined;

  beforeAll(async () => {
    cluster = await startMockCluster({ brokerCount: 3 });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  describeBusContract('kafka', ({ onError }) => {
    if (cluster === undefined) throw new Error('expected the mock cluster to be started by beforeAll, got none');
    const mock = cluster;
    const bus = createKafkaBus({
      brokers: mock.brokers,
      clientId: 'bus-contract',
      // The 2.0 mock advertises controller id 0, which is no broker, and kafkajs sends
      // InitProducerId to the controller; see KafkaBusOptions.idempotent.
      idempotent: false,
      logLevel: 'nothing',
      // The mock holds a rebalance open for (session timeout - 1 s) and answers an empty fetch
      // only after the full max wait, so both are kept short to keep the suite fast.
      sessionTimeoutMs: 3_000,
      heartbeatIntervalMs: 200,
      maxWaitTimeMs: 100,
      retryDelayMs: 50,
      maxRetryDelayMs: 500,
      onError,
    });
    return withMockTopics(bus, mock);
  });
});

/**
 * The mock does not implement CreateTopics, so topics are made through the harness first; the
 * real ensureTopics then finds them over the wire (Metadata) and has nothing left to create.
 */
function withMockTopics(bus: Bus, mock: MockCluster): Bus {
  return {
    kind: bus.kind,
    async ensureTopics(topics) {
      await mock.createTopics(topics.map(({ name, partitions }) => ({ name, partitions })));
      await bus.ensureTopics(topics);
    },
    producer: () => bus.producer(),
    consumer: (options) => bus.consumer(options),
    close: () => bus.close(),
  };
}
