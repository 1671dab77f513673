import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import { SENSOR_KINDS, type SensorKind } from '@cityops/schemas';
import { DetectorError } from '../errors.js';
import type { EpisodeSnapshot } from './episode-tracker.js';

/**
 * The anomaly worker's state on disk, so a restart resumes every series where it stopped: the
 * detector's per-series state (its own versioned checkpoint), which sensor each detector series
 * is, and the open warning episodes (so a condition already warned of is not warned of again).
 *
 *   'CAWC' · u32 format version · u32 CRC-32 of everything after it · u32 header length ·
 *   header (UTF-8 JSON, WorkerCheckpointHeader) · detector checkpoint bytes
 *
 * Files are replaced atomically (written beside, flushed, renamed over), so a crash while
 * writing leaves the previous checkpoint; the CRC catches a file damaged at rest.
 */

export interface WorkerCheckpoint {
  /** When it was taken (the worker's clock), epoch ms. */
  writtenAtMs: number;
  /**
   * Detector series in index order: the sensor, its kind, its current stuck run, and the moving
   * average its physical lines compare with the time it is at (NaN: none yet).
   */
  series: { sensorId: string; kind: SensorKind; stuckRun: number; average: number; averageTs: number }[];
  episodes: EpisodeSnapshot[];
  /** `TimeseriesDetector.checkpoint()` of the same moment. */
  detectorState: Uint8Array;
}

interface WorkerCheckpointHeader {
  written_at_ms: number;
  /** [sensor id, kind, stuck run, average, its ts] per detector series; NaN is written as null. */
  series: [string, SensorKind, number, number | null, number | null][];
  episodes: EpisodeSnapshot[];
}

const MAGIC = 0x43574143; // 'CAWC' read as a little-endian u32
const FORMAT_VERSION = 1;
const PREAMBLE_BYTES = 16;

export function encodeWorkerCheckpoint(c: WorkerCheckpoint): Uint8Array {
  const header: WorkerCheckpointHeader = {
    written_at_ms: c.writtenAtMs,
    series: c.series.map((s) => [s.sensorId, s.kind, s.stuckRun, finiteOrNull(s.average), finiteOrNull(s.averageTs)]),
    episodes: c.episodes,
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const bytes = new Uint8Array(PREAMBLE_BYTES + json.byteLength + c.detectorState.byteLength);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, FORMAT_VERSION, true);
  view.setUint32(12, json.byteLength, true);
  bytes.set(json, PREAMBLE_BYTES);
  bytes.set(c.detectorState, PREAMBLE_BYTES + json.byteLength);
  view.setUint32(8, crc32(bytes.subarray(12)), true);
  return bytes;
}

/** Throws DetectorError 'invalid-argument' saying what was expected when the bytes are not a worker checkpoint. */
export function decodeWorkerCheckpoint(bytes: Uint8Array): WorkerCheckpoint {
  const fail = (what: string): never => {
    throw new DetectorError('invalid-argument', `expected an anomaly worker checkpoint: ${what}`);
  };
  if (bytes.byteLength < PREAMBLE_BYTES) fail(`at least ${PREAMBLE_BYTES} bytes; got ${bytes.byteLength}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, true);
  if (magic !== MAGIC) fail(`a 'CAWC' header; got 0x${magic.toString(16)}`);
  const format = view.getUint32(4, true);
  if (format !== FORMAT_VERSION) fail(`format ${FORMAT_VERSION}; got ${format}`);
  const want = view.getUint32(8, true);
  const got = crc32(bytes.subarray(12));
  if (want !== got) fail(`CRC-32 ${hex(want)} over its ${bytes.byteLength - 12} bytes; got ${hex(got)} (the file is damaged)`);
  const headerLength = view.getUint32(12, true);
  if (PREAMBLE_BYTES + headerLength > bytes.byteLength) fail(`a ${headerLength}-byte header; the file ends first`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(PREAMBLE_BYTES, PREAMBLE_BYTES + headerLength)));
  } catch (e) {
    fail(`a JSON header; ${e instanceof Error ? e.message : String(e)}`);
  }
  const h = header as Partial<WorkerCheckpointHeader>;
  if (typeof h.written_at_ms !== 'number') fail(`a numeric 'written_at_ms'; got ${JSON.stringify(h.written_at_ms)}`);
  if (!Array.isArray(h.series)) fail(`a 'series' array`);
  if (!Array.isArray(h.episodes)) fail(`an 'episodes' array`);
  const series = h.series!.map((row, i) => {
    const [sensorId, kind, stuckRun, average, averageTs] = Array.isArray(row) ? row : [];
    const numberOrNull = (v: unknown) => v === null || typeof v === 'number';
    if (
      typeof sensorId !== 'string' ||
      !SENSOR_KINDS.includes(kind as SensorKind) ||
      !Number.isInteger(stuckRun) ||
      !numberOrNull(average) ||
      !numberOrNull(averageTs)
    ) {
      fail(`series[${i}] as [sensor id, sensor kind, stuck run, average, average ts]; got ${JSON.stringify(row)}`);
    }
    return {
      sensorId: sensorId as string,
      kind: kind as SensorKind,
      stuckRun: stuckRun as number,
      average: (average as number | null) ?? Number.NaN,
      averageTs: (averageTs as number | null) ?? Number.NaN,
    };
  });
  const episodes = h.episodes!;
  for (const [i, e] of episodes.entries()) {
    if (typeof e !== 'object' || e === null || !Number.isInteger(e.series) || e.series < 0 || e.series >= series.length) {
      fail(`episodes[${i}] of a series 0…${series.length - 1}; got ${JSON.stringify(e)}`);
    }
  }
  return {
    writtenAtMs: h.written_at_ms!,
    series,
    episodes,
    detectorState: bytes.slice(PREAMBLE_BYTES + headerLength),
  };
}

/** The checkpoint file's bytes, or undefined when there is none yet. */
export async function readCheckpointFile(path: string): Promise<Uint8Array | undefined> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Replaces the file with `bytes` atomically: another reader sees the old file or the new, never half of one. */
export async function writeCheckpointFile(path: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  const file = await open(temp, 'w');
  try {
    await file.writeFile(bytes);
    // Flushed before the rename, or a power cut could leave the new name on empty blocks.
    await file.sync();
  } finally {
    await file.close();
  }
  try {
    await rename(temp, path);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
}

function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

function hex(v: number): string {
  return `0x${v.toString(16).padStart(8, '0')}`;
}
