import type { Anomaly, DispatchOrder, EarlyWarning, Incident } from '@cityops/schemas';

/*
 * The live stream (GET /api/stream) as Server-Sent Events: `event: <name>` + `data: <JSON>`.
 * The wall display imports these types; the event names are the keys of LiveEventMap.
 *
 * Readings are coalesced: one `readings` event per interval carries the newest value of every
 * sensor that reported since the previous one, as parallel arrays (no per-reading objects, so a
 * city of 100k entities costs three arrays a second, not 100k events). Warnings, incidents,
 * dispatches and anomalies are rare and urgent: each is pushed as soon as it is consumed, as the
 * contract record itself.
 */

/** First event on every connection: the server's clock, so the client can correct its own. */
export interface LiveHello {
  server_ts: number;
  live_interval_ms: number;
  heartbeat_interval_ms: number;
}

/** Parallel arrays: sensor_ids[i] reported values[i] at reading_ts[i] (event time, epoch ms). */
export interface LiveReadings {
  /** Server clock when the batch was flushed. */
  server_ts: number;
  sensor_ids: string[];
  values: number[];
  reading_ts: number[];
}

/** Sent every heartbeat interval so a client can tell a quiet city from a dead connection. */
export interface LiveHeartbeat {
  server_ts: number;
}

export interface LiveEventMap {
  hello: LiveHello;
  readings: LiveReadings;
  warning: EarlyWarning;
  incident: Incident;
  dispatch: DispatchOrder;
  anomaly: Anomaly;
  heartbeat: LiveHeartbeat;
}

export type LiveEventName = keyof LiveEventMap;
