import type { WorkerHealth } from './records.js';

/**
 * What every running role (ingest, anomaly, forecast, incidents, sink, vision…) hands back to the
 * process that started it: the `cityops` CLI composes these, /api/health reports them.
 */
export interface RunningWorker {
  readonly name: string;
  health(): WorkerHealth;
  /** Finishes the batch in flight, commits it, and stops consuming. */
  stop(): Promise<void>;
}

/** Injected time source: production passes Date.now, tests a controllable clock. */
export type Clock = () => number;
