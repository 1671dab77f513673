/**
 * Results a worker has computed but not yet produced. A worker adds to it while handling a
 * batch and flushes it before the bus may commit; a flush that fails leaves what was not sent,
 * to go first when the batch is redelivered (the handler sees duplicates by then, so without the
 * outbox those results would be lost). Lanes are sent in the order given, so a worker can make
 * evidence land before what cites it (anomalies before warnings, dispatches before incidents).
 */
import type { OutgoingMessage, Producer } from './bus.js';
import { BusError } from './errors.js';

export interface OutboxLane {
  topic: string;
  /**
   * Keep only the latest pending message per key (a record whose newer revision supersedes the
   * older one): earlier revisions in the same flush would add nothing downstream.
   */
  latestPerKey?: boolean;
}

interface Lane {
  readonly topic: string;
  pending: OutgoingMessage[];
  readonly latest: Map<string, OutgoingMessage> | undefined;
}

export class Outbox {
  private readonly lanes: Lane[];
  private readonly byTopic = new Map<string, Lane>();

  constructor(lanes: readonly (string | OutboxLane)[]) {
    this.lanes = lanes.map((l) => {
      const spec = typeof l === 'string' ? { topic: l } : l;
      return { topic: spec.topic, pending: [], latest: spec.latestPerKey === true ? new Map<string, OutgoingMessage>() : undefined };
    });
    for (const lane of this.lanes) this.byTopic.set(lane.topic, lane);
  }

  push(topic: string, message: OutgoingMessage): void {
    const lane = this.byTopic.get(topic);
    if (lane === undefined) {
      throw new BusError('invalid-argument', `outbox: expected one of its topics (${[...this.byTopic.keys()].join(', ')}); got '${topic}'`);
    }
    if (lane.latest !== undefined) lane.latest.set(message.key, message);
    else lane.pending.push(message);
  }

  /** Messages not yet sent. */
  get size(): number {
    let n = 0;
    for (const lane of this.lanes) n += lane.latest?.size ?? lane.pending.length;
    return n;
  }

  /** Sends every lane in order, one send per lane; returns how many went to each topic. */
  async flush(producer: Producer): Promise<Record<string, number>> {
    const sent: Record<string, number> = {};
    for (const lane of this.lanes) {
      sent[lane.topic] = 0;
      if (lane.latest !== undefined) {
        if (lane.latest.size === 0) continue;
        const sending = [...lane.latest.values()];
        await producer.send(lane.topic, sending);
        // A newer message pushed while this send was in flight stays for the next flush.
        for (const m of sending) if (lane.latest.get(m.key) === m) lane.latest.delete(m.key);
        sent[lane.topic] = sending.length;
      } else {
        if (lane.pending.length === 0) continue;
        const sending = lane.pending;
        await producer.send(lane.topic, sending);
        lane.pending = lane.pending.slice(sending.length);
        sent[lane.topic] = sending.length;
      }
    }
    return sent;
  }
}
