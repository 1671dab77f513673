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
  /**
   * Packed clients only (`GET /api/stream?readings=packed`): the sensor id of every slot the
   * process has assigned so far, in slot order. `readings-packed` events name sensors by slot.
   */
  sensor_slots?: string[];
}

/** Parallel arrays: sensor_ids[i] reported values[i] at reading_ts[i] (event time, epoch ms). */
export interface LiveReadings {
  /** Server clock when the batch was flushed. */
  server_ts: number;
  sensor_ids: string[];
  values: number[];
  reading_ts: number[];
}

/**
 * The wall's form of `readings` (`GET /api/stream?readings=packed`): the same newest value per
 * sensor, as one binary block instead of three JSON arrays. At 100k sensors the JSON form is
 * ~5 MB a second whose JSON.parse alone costs a browser's main thread tens of ms; this is a small
 * JSON header plus base64 bytes the browser decodes natively into one reused buffer.
 *
 * On the wire the event's data is two lines: this header as JSON, then the base64 of
 * `count` float64 values, `count` float64 reading_ts (epoch ms), `count` uint32 slots, in that
 * order, little-endian (so each array starts 8-byte aligned). A slot is an index into the hello's
 * `sensor_slots`, extended by `new_sensor_ids` (slots first_new_slot, first_new_slot + 1, …);
 * slots are assigned once per process and never reused, so a client that finds first_new_slot
 * beyond what it knows has missed an event and must reconnect.
 */
export interface LivePackedReadingsHeader {
  server_ts: number;
  count: number;
  first_new_slot: number;
  new_sensor_ids: string[];
}

/** How `GET /api/stream?readings=` sends readings: `json` (default, parallel arrays) or `packed`. */
export const LIVE_READINGS_FORMATS = ['json', 'packed'] as const;
export type LiveReadingsFormat = (typeof LIVE_READINGS_FORMATS)[number];

/** Bytes per sensor in a packed readings block: float64 value + float64 reading_ts + uint32 slot. */
export const PACKED_BYTES_PER_READING = 20;

/** Sent every heartbeat interval so a client can tell a quiet city from a dead connection. */
export interface LiveHeartbeat {
  server_ts: number;
}

/**
 * What one camera's newest analysed frame held: detections per class (COCO labels). The vision
 * worker publishes one VisionDetection per object on `vision.detections`; the hub folds the
 * objects of a camera's newest frame into this and sends, once per live interval, the cameras
 * whose summary changed (and every camera's summary to a client as it connects). A frame in which
 * nothing was detected publishes nothing, so `ts` says how old the counts are.
 */
export interface CameraDetectionSummary {
  camera_id: string;
  /** Event time of the frame, epoch ms. */
  ts: number;
  frame_id: string;
  /** Class name → objects detected in that frame; at most MAX_SUMMARY_CLASSES classes. */
  counts: Record<string, number>;
}

/** Classes kept per camera summary (the most frequent ones): bounds the event whatever a model emits. */
export const MAX_SUMMARY_CLASSES = 12;

export interface LiveCameraDetections {
  server_ts: number;
  cameras: CameraDetectionSummary[];
}

export interface LiveEventMap {
  hello: LiveHello;
  readings: LiveReadings;
  /** Header + base64 block, see LivePackedReadingsHeader; never JSON as a whole. */
  'readings-packed': LivePackedReadingsHeader;
  warning: EarlyWarning;
  incident: Incident;
  dispatch: DispatchOrder;
  anomaly: Anomaly;
  detections: LiveCameraDetections;
  heartbeat: LiveHeartbeat;
}

export type LiveEventName = keyof LiveEventMap;
