import { describe, expect, it } from 'vitest';
import type { Producer } from '@cityops/bus';
import { computeLetterbox, ffmpegArgs, parseStreamSize, redact, startCameraSource } from './input-camera-ffmpeg.js';

const base = { width: 640, height: 640, fps: 5, realtime: true, loop: true, ioTimeoutMs: 10_000 };

describe('ffmpegArgs', () => {
  it('decodes lavfi sources through -f lavfi, letterboxed to the model size as rgb24', () => {
    const args = ffmpegArgs('lavfi:testsrc2=size=640x360:rate=5', base);
    expect(args.join(' ')).toContain('-re -f lavfi -i testsrc2=size=640x360:rate=5');
    const vf = args[args.indexOf('-vf') + 1];
    expect(vf).toBe(
      'fps=5,scale=640:640:force_original_aspect_ratio=decrease:flags=bilinear,format=rgb24,pad=640:640:(ow-iw)/2:(oh-ih)/2:color=0x727272',
    );
    expect(args.slice(-5)).toEqual(['-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1']);
  });

  it('places the picture top-left for models trained that way (YOLOX), centred by default', () => {
    const vf = (letterbox?: 'center' | 'top-left') => {
      const args = ffmpegArgs('lavfi:testsrc2', { ...base, width: 416, height: 416, letterbox });
      return args[args.indexOf('-vf') + 1];
    };
    expect(vf('top-left')).toContain('pad=416:416:0:0:color=0x727272');
    expect(vf()).toContain('pad=416:416:(ow-iw)/2:(oh-ih)/2:color=0x727272');
  });

  it('uses TCP and a socket timeout for RTSP, a read timeout for HTTP, and loops files', () => {
    expect(ffmpegArgs('rtsp://cam/1', base).join(' ')).toContain('-rtsp_transport tcp -timeout 10000000 -i rtsp://cam/1');
    expect(ffmpegArgs('http://cam/mjpeg', base).join(' ')).toContain('-rw_timeout 10000000 -i http://cam/mjpeg');
    expect(ffmpegArgs('file:///videos/a%20b.mp4', base).join(' ')).toContain('-stream_loop -1 -re -i /videos/a b.mp4');
    expect(ffmpegArgs('/videos/c.mp4', { ...base, loop: false, realtime: false }).join(' ')).toContain('-dn -vf');
    expect(ffmpegArgs('/videos/c.mp4', { ...base, loop: false, realtime: false })).not.toContain('-re');
  });
});

describe('computeLetterbox', () => {
  it('matches ffmpeg: scale rounded to nearest, padding centred and truncated', () => {
    expect(computeLetterbox(640, 360, 320, 320)).toEqual({ sourceWidth: 640, sourceHeight: 360, scale: 0.5, padX: 0, padY: 70 });
    expect(computeLetterbox(641, 359, 416, 416)).toMatchObject({ padX: 0, padY: 91 });
    expect(computeLetterbox(360, 640, 640, 640)).toMatchObject({ scale: 1, padX: 140, padY: 0 });
    expect(computeLetterbox(640, 640, 640, 640)).toMatchObject({ scale: 1, padX: 0, padY: 0 });
  });

  it('has no padding offset for top-left placement', () => {
    expect(computeLetterbox(320, 240, 416, 416, 'top-left')).toEqual({ sourceWidth: 320, sourceHeight: 240, scale: 1.3, padX: 0, padY: 0 });
    expect(computeLetterbox(360, 640, 640, 640, 'top-left')).toMatchObject({ padX: 0, padY: 0 });
  });
});

describe('parseStreamSize', () => {
  it('reads the size of an input video stream line', () => {
    expect(
      parseStreamSize('  Stream #0:0: Video: rawvideo (I420 / 0x30323449), yuv420p, 640x360 [SAR 1:1 DAR 16:9], 5 tbr, 5 tbn'),
    ).toEqual({ width: 640, height: 360 });
    expect(
      parseStreamSize('  Stream #0:1[0x101]: Video: h264 (High) ([27][0][0][0] / 0x001B), yuv420p(progressive), 1920x1080, 25 fps'),
    ).toEqual({ width: 1920, height: 1080 });
    expect(parseStreamSize('  Stream #0:1: Audio: aac (LC), 48000 Hz, stereo, fltp')).toBeUndefined();
  });
});

describe('redact', () => {
  it('hides credentials in camera URLs', () => {
    expect(redact('ffmpeg exited for rtsp://admin:secret@10.0.0.5/stream: rtsp://admin:secret@10.0.0.5/stream: 401')).toBe(
      'ffmpeg exited for rtsp://***@10.0.0.5/stream: rtsp://***@10.0.0.5/stream: 401',
    );
  });
});

describe('startCameraSource', () => {
  it('keeps going and says why when the ffmpeg binary is missing', async () => {
    const producer: Producer = { send: () => Promise.resolve(), flush: () => Promise.resolve() };
    const source = startCameraSource({
      producer,
      camera: { id: 'cam-x', url: 'lavfi:testsrc2', fps: 5 },
      ffmpegPath: '/nonexistent/ffmpeg',
      clock: Date.now,
      restartDelayMs: 10,
    });
    const deadline = Date.now() + 5000;
    while (source.health().counters.restarts! < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const h = source.health();
    expect(h.counters.restarts).toBeGreaterThanOrEqual(2);
    expect(h.last_error).toMatch(/expected to run ffmpeg at '\/nonexistent\/ffmpeg'.*ENOENT/);
    await source.stop();
    expect(source.health().state).toBe('stopped');
  });

  it('rejects options it cannot work with', () => {
    const producer: Producer = { send: () => Promise.resolve(), flush: () => Promise.resolve() };
    expect(() => startCameraSource({ producer, camera: { id: 'c', url: 'x', fps: 0 }, clock: Date.now })).toThrow(
      /fps in \(0, 60\]; got 0/,
    );
    expect(() => startCameraSource({ producer, camera: { id: 'c', url: 'x', fps: 5 }, width: 0, clock: Date.now })).toThrow(
      /width to be an integer/,
    );
    expect(() =>
      startCameraSource({ producer, camera: { id: 'c', url: 'x', fps: 5 }, letterbox: 'bottom' as 'center', clock: Date.now }),
    ).toThrow(/letterbox 'center' or 'top-left'; got "bottom"/);
  });
});
