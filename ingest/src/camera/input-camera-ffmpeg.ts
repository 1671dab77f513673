import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { encodeFrame, stableId, TOPICS, type CameraFrameHeader, type Clock, type RunningWorker, type WorkerHealth } from '@cityops/schemas';
import type { Producer } from '@cityops/bus';
import { IngestError } from '../errors.js';
import { FrameBufferPool } from './frame-pool.js';
import { openFrameSocket, type FrameSocket } from './frame-socket.js';

export interface CameraSourceOptions {
  producer: Producer;
  /** The camera: its id keys the frames, its url is decoded, its fps is the rate frames are taken at. */
  camera: { id: string; url: string; fps: number };
  /** Width of the frames produced (the vision model's input), px. Default 640. */
  width?: number;
  /** Height of the frames produced, px. Default 640. */
  height?: number;
  /**
   * Where the scaled picture sits in the frame: 'center' (Ultralytics YOLO's LetterBox) or
   * 'top-left' (YOLOX's preprocessing). The vision model decides; the detectors package's
   * `visionInputLayout()` says which. Default 'center'.
   */
  letterbox?: LetterboxPlacement;
  /** The ffmpeg binary. Entry points pass `process.env.FFMPEG_PATH ?? 'ffmpeg'`. Default 'ffmpeg'. */
  ffmpegPath?: string;
  /** Stamps frames. Production passes Date.now. */
  clock: Clock;
  /**
   * Pace file and lavfi inputs at their native rate (ffmpeg -re), as a live camera would be.
   * Turn off to decode a file as fast as possible (batch processing, benchmarks). Default true.
   */
  realtime?: boolean;
  /** Loop file inputs forever, so a recorded clip behaves like a camera. Default true. */
  loop?: boolean;
  /** First wait before restarting ffmpeg after it exited, ms; doubles per failed run. Default 1000. */
  restartDelayMs?: number;
  /** Upper bound of the restart wait, ms. Default 30_000. */
  maxRestartDelayMs?: number;
  /** Network read timeout for rtsp/http/rtmp inputs, ms; a silent stream is restarted after it. Default 10_000. */
  ioTimeoutMs?: number;
}

export interface CameraSource extends RunningWorker {
  readonly cameraId: string;
}

/** Letterbox padding colour: (114, 114, 114), what YOLO-family models are trained with. */
const PAD_COLOR = '0x727272';
const STDERR_LINES_KEPT = 20;

/**
 * A camera as a source: ffmpeg (spawned directly, one process per camera) decodes the URL,
 * takes frames at the camera's fps, letterboxes them to the model size and writes raw rgb24 to
 * stdout (a socket read straight into pooled frame buffers: frame-socket.ts); each frame goes to
 * camera.frames as a CameraFrameHeader + pixels, keyed by camera id, and its buffer comes back
 * to the pool when the bus releases it. Frames travel as binary, never base64.
 *
 * Overload: at most one send is in flight; a frame that arrives meanwhile replaces the one
 * waiting (newest wins, counted as frames_dropped), so a slow bus never makes a live stream
 * fall behind. When ffmpeg exits (stream gone, network down) it is restarted with exponential
 * backoff; the backoff resets once a run delivers frames.
 */
export function startCameraSource(options: CameraSourceOptions): CameraSource {
  const { producer, camera, clock } = options;
  const width = options.width ?? 640;
  const height = options.height ?? 640;
  const ffmpegPath = options.ffmpegPath ?? 'ffmpeg';
  const restartDelayMs = options.restartDelayMs ?? 1000;
  const maxRestartDelayMs = options.maxRestartDelayMs ?? 30_000;
  for (const [key, v, max] of [
    ['width', width, 8192],
    ['height', height, 8192],
  ] as const) {
    if (!Number.isInteger(v) || v < 1 || v > max)
      throw new IngestError('invalid-options', `expected ${key} to be an integer in 1…${max}; got ${v}`);
  }
  if (!(camera.fps > 0 && camera.fps <= 60))
    throw new IngestError('invalid-options', `expected camera ${camera.id} fps in (0, 60]; got ${camera.fps}`);
  const placement = options.letterbox ?? 'center';
  if (placement !== 'center' && placement !== 'top-left')
    throw new IngestError('invalid-options', `expected letterbox 'center' or 'top-left'; got ${JSON.stringify(placement)}`);
  const args = ffmpegArgs(camera.url, {
    width,
    height,
    letterbox: placement,
    fps: camera.fps,
    realtime: options.realtime ?? true,
    loop: options.loop ?? true,
    ioTimeoutMs: options.ioTimeoutMs ?? 10_000,
  });
  const frameBytes = width * height * 3;
  const pool = new FrameBufferPool(frameBytes);
  const name = `camera:${camera.id}`;

  const counters = { frames_in: 0, frames_out: 0, frames_dropped: 0, restarts: 0, send_errors: 0, last_frame_ts: 0 };
  let state: WorkerHealth['state'] = 'starting';
  let lastError = '';
  let stopped = false;
  let seq = 0;
  let backoffMs = restartDelayMs;
  let restartTimer: ReturnType<typeof setTimeout> | undefined;
  let child: ChildProcessByStdio<null, null, Readable> | undefined;
  let reader: Socket | undefined;
  let childClosed: Promise<void> = Promise.resolve();
  let letterbox: Letterbox | undefined;
  let framesBeforeSize = 0;

  // Newest-wins hand-off to the bus.
  let sending: Promise<void> | undefined;
  let waiting: { pixels: Buffer; ts: number } | undefined;

  const dropWaiting = (pixels: Buffer): void => {
    counters.frames_dropped++;
    pool.release(pixels);
  };

  const deliver = (pixels: Buffer, ts: number): void => {
    if (letterbox === undefined) {
      // ffmpeg prints the input size on stderr before decoding; a few frames of grace cover
      // pipe ordering. Past that, report the frame as the model size and say so.
      if (++framesBeforeSize <= Math.ceil(camera.fps * 2) + 2) {
        if (waiting !== undefined) dropWaiting(waiting.pixels);
        waiting = { pixels, ts };
        return;
      }
      letterbox = computeLetterbox(width, height, width, height, placement);
      lastError = 'ffmpeg did not report the input size; frames are labelled as unscaled';
    }
    if (sending !== undefined) {
      if (waiting !== undefined) dropWaiting(waiting.pixels);
      waiting = { pixels, ts };
      return;
    }
    sendFrame(pixels, ts, letterbox);
  };

  const sendFrame = (pixels: Buffer, ts: number, lb: Letterbox): void => {
    const header: CameraFrameHeader = {
      id: stableId(camera.id, ts, seq),
      schema_version: 1,
      camera_id: camera.id,
      ts,
      seq: seq++,
      width,
      height,
      pixel_format: 'rgb24',
      source_width: lb.sourceWidth,
      source_height: lb.sourceHeight,
      scale: lb.scale,
      pad_x: lb.padX,
      pad_y: lb.padY,
    };
    const { value, headers } = encodeFrame(header, pixels);
    sending = producer
      .send(TOPICS.cameraFrames, [{ key: camera.id, value, headers, timestampMs: ts, onReleased: () => pool.release(pixels) }])
      .then(
        () => {
          counters.frames_out++;
        },
        (e: unknown) => {
          // Frames are perishable: a refused one is counted, not retried (a newer one is coming).
          counters.send_errors++;
          lastError = `expected the bus to accept a frame; ${e instanceof Error ? e.message : String(e)}`;
        },
      )
      .finally(() => {
        sending = undefined;
        const next = waiting;
        if (next !== undefined && letterbox !== undefined && !stopped) {
          waiting = undefined;
          sendFrame(next.pixels, next.ts, letterbox);
        }
      });
  };

  const run = async (): Promise<void> => {
    if (stopped) return;
    let frame = pool.acquire();
    let filled = 0;
    let framesThisRun = 0;
    let inputSection = false;
    const stderrTail: string[] = [];
    let socket: FrameSocket;
    try {
      socket = await openFrameSocket(
        () => frame.subarray(filled),
        (bytes) => {
          filled += bytes;
          if (filled < frameBytes) return;
          const done = frame;
          frame = pool.acquire();
          filled = 0;
          const ts = clock();
          counters.frames_in++;
          counters.last_frame_ts = ts;
          framesThisRun++;
          state = 'running';
          deliver(done, ts);
        },
      );
    } catch (e) {
      onEnd(`expected a socket for ffmpeg's output; ${e instanceof Error ? e.message : String(e)}`, 0);
      return;
    }
    const { childEnd, reader: frames } = socket;
    if (stopped) {
      childEnd.destroy();
      frames.destroy();
      return;
    }
    let proc: ChildProcessByStdio<null, null, Readable>;
    try {
      proc = spawn(ffmpegPath, args, { stdio: ['ignore', childEnd, 'pipe'] });
    } catch (e) {
      frames.destroy();
      onEnd(`expected to start ffmpeg at '${ffmpegPath}'; ${e instanceof Error ? e.message : String(e)}`, 0);
      return;
    } finally {
      // The child has its own copy of this end; ours would keep the socket open after it exits.
      childEnd.destroy();
    }
    child = proc;
    reader = frames;
    let ended = false;
    let resolveClosed: () => void = () => {};
    childClosed = new Promise((resolve) => (resolveClosed = resolve));
    // The run ends when ffmpeg has exited and its last bytes are read, in either order.
    let exitReason: string | undefined;
    let outputDone = false;
    frames.on('error', () => (outputDone = true));
    frames.on('close', () => {
      outputDone = true;
      if (exitReason !== undefined) finish(exitReason);
    });

    createInterface({ input: proc.stderr }).on('line', (line) => {
      stderrTail.push(line);
      if (stderrTail.length > STDERR_LINES_KEPT) stderrTail.shift();
      if (line.startsWith('Input #')) inputSection = true;
      else if (line.startsWith('Output #') || line.startsWith('Stream mapping')) inputSection = false;
      else if (inputSection && letterbox === undefined) {
        const size = parseStreamSize(line);
        if (size !== undefined) {
          letterbox = computeLetterbox(size.width, size.height, width, height, placement);
          const held = waiting;
          if (held !== undefined && sending === undefined) {
            waiting = undefined;
            sendFrame(held.pixels, held.ts, letterbox);
          }
        }
      }
    });
    const finish = (reason: string): void => {
      if (ended) return;
      ended = true;
      frames.destroy();
      resolveClosed();
      if (child === proc) child = undefined;
      if (reader === frames) reader = undefined;
      onEnd(reason, framesThisRun);
    };
    const exited = (reason: string): void => {
      exitReason = reason;
      if (outputDone) finish(reason);
    };
    proc.on('error', (e) => finish(`expected to run ffmpeg at '${ffmpegPath}'; ${e.message}`));
    proc.on('close', (code, signal) => {
      const last = stderrTail.filter((l) => l.trim() !== '').slice(-1)[0] ?? '';
      exited(redact(`ffmpeg exited (${signal ?? `code ${code}`}) for ${camera.url}${last === '' ? '' : `: ${last}`}`));
    });
  };

  const onEnd = (reason: string, framesThisRun: number): void => {
    if (stopped) return;
    lastError = reason;
    counters.restarts++;
    // A run that delivered frames was a working stream that dropped: retry soon. A run that
    // delivered none (wrong URL, camera down) backs off so it does not spin.
    backoffMs = framesThisRun > 0 ? restartDelayMs : Math.min(maxRestartDelayMs, backoffMs * 2);
    const delay = framesThisRun > 0 ? restartDelayMs : backoffMs;
    // Sizes can change between runs (the camera was reconfigured): learn them again.
    letterbox = undefined;
    framesBeforeSize = 0;
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      void run();
    }, delay);
  };

  void run();

  return {
    name,
    cameraId: camera.id,
    health: () => ({
      name,
      state,
      lag: 0,
      processed: counters.frames_out,
      dead_lettered: 0,
      last_error: lastError,
      counters: { ...counters },
    }),
    async stop() {
      stopped = true;
      if (restartTimer !== undefined) clearTimeout(restartTimer);
      const proc = child;
      if (proc !== undefined) {
        proc.kill('SIGTERM');
        // Nobody reads the rest: ffmpeg blocked on a full socket must see it closed.
        reader?.destroy();
        const killTimer = setTimeout(() => proc.kill('SIGKILL'), 2000);
        await childClosed;
        clearTimeout(killTimer);
      }
      if (sending !== undefined) await sending;
      waiting = undefined;
      state = 'stopped';
    },
  };
}

/** Where the scaled picture sits in a letterboxed frame. */
export type LetterboxPlacement = 'center' | 'top-left';

export interface FfmpegArgsOptions {
  width: number;
  height: number;
  /** Default 'center'. */
  letterbox?: LetterboxPlacement;
  fps: number;
  realtime: boolean;
  loop: boolean;
  ioTimeoutMs: number;
}

/**
 * The ffmpeg command line for one camera. `format=rgb24` comes before `pad` so the pad offsets
 * are exact pixels (in a subsampled format ffmpeg rounds them to even numbers, and boxes mapped
 * back to the source would be a pixel off).
 */
export function ffmpegArgs(url: string, o: FfmpegArgsOptions): string[] {
  const { width: w, height: h } = o;
  // One decoding thread per camera: a camera at 5–25 fps needs no more, and a box with hundreds
  // of cameras must not start a thread pool per camera that fights the detector for its cores.
  const input: string[] = ['-threads', '1', '-filter_threads', '1'];
  const timeoutUs = String(Math.round(o.ioTimeoutMs * 1000));
  if (url.startsWith('lavfi:')) {
    if (o.realtime) input.push('-re');
    input.push('-f', 'lavfi', '-i', url.slice('lavfi:'.length));
  } else if (/^rtsps?:\/\//i.test(url)) {
    // TCP: UDP loses packets on busy networks and shows up as smeared frames.
    input.push('-rtsp_transport', 'tcp', '-timeout', timeoutUs, '-i', url);
  } else if (/^(https?|rtmps?|srt|udp|tcp):\/\//i.test(url)) {
    input.push('-rw_timeout', timeoutUs, '-i', url);
  } else {
    const path = /^file:/i.test(url) ? fileURLToPath(url) : url;
    if (o.loop) input.push('-stream_loop', '-1');
    if (o.realtime) input.push('-re');
    input.push('-i', path);
  }
  const filter = [
    `fps=${o.fps}`,
    // Bilinear, as the detectors' own preprocessing resizes (OpenCV INTER_LINEAR in YOLOX and
    // Ultralytics); it is also cheaper than ffmpeg's default bicubic (on the 320×240 motorway clip
    // to 416×416: 0.77 s against 0.83 s of CPU for 748 frames).
    `scale=${w}:${h}:force_original_aspect_ratio=decrease:flags=bilinear`,
    'format=rgb24',
    o.letterbox === 'top-left' ? `pad=${w}:${h}:0:0:color=${PAD_COLOR}` : `pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2:color=${PAD_COLOR}`,
  ].join(',');
  return [
    '-hide_banner',
    '-nostdin',
    '-nostats',
    '-loglevel',
    'info',
    ...input,
    '-an',
    '-sn',
    '-dn',
    '-vf',
    filter,
    '-pix_fmt',
    'rgb24',
    '-f',
    'rawvideo',
    'pipe:1',
  ];
}

export interface Letterbox {
  sourceWidth: number;
  sourceHeight: number;
  /** Model px per source px. */
  scale: number;
  padX: number;
  padY: number;
}

/**
 * The letterbox ffmpeg applies, computed the way its scale filter does
 * (force_original_aspect_ratio=decrease rescales with rounding to nearest) and its pad filter
 * does ((ow-iw)/2 truncated, or 0 for top-left placement), so boxes map back to source pixels exactly.
 */
export function computeLetterbox(
  sourceWidth: number,
  sourceHeight: number,
  width: number,
  height: number,
  placement: LetterboxPlacement = 'center',
): Letterbox {
  const scaledW = Math.min(width, Math.round((height * sourceWidth) / sourceHeight));
  const scaledH = Math.min(height, Math.round((width * sourceHeight) / sourceWidth));
  return {
    sourceWidth,
    sourceHeight,
    scale: Math.min(width / sourceWidth, height / sourceHeight),
    padX: placement === 'top-left' ? 0 : Math.floor((width - scaledW) / 2),
    padY: placement === 'top-left' ? 0 : Math.floor((height - scaledH) / 2),
  };
}

/** The WxH of a video stream line of ffmpeg's input summary, e.g. "Stream #0:0: Video: h264 …, 1920x1080 [SAR 1:1 …]". */
export function parseStreamSize(line: string): { width: number; height: number } | undefined {
  if (!/Stream #\d+:\d+.*: Video: /.test(line)) return undefined;
  const m = /, (\d{1,5})x(\d{1,5})(?=[\s,[]|$)/.exec(line);
  if (m === null) return undefined;
  const width = Number(m[1]);
  const height = Number(m[2]);
  return width > 0 && height > 0 ? { width, height } : undefined;
}

/** Camera URLs carry credentials (rtsp://user:pass@…); they must not reach logs or health. */
export function redact(text: string): string {
  return text.replace(/\/\/[^/@\s]*@/g, '//***@');
}
