import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The stdout of an ffmpeg camera process, read straight into frame buffers.
 *
 * A child's 'pipe' stdout hands Node a new 64 KiB Buffer per read: eight allocations per
 * 416×416 frame, copied once more into the frame. At a hundred frames a second those short-lived
 * buffers keep V8's external-memory accounting climbing, and the scavenges that follow promote
 * the frames alive at that moment, so old-space collections ran seven times a second. A socket
 * made here can be read with `onread`, into memory the caller chooses: each read lands at its
 * place in the frame being filled, and nothing is allocated.
 *
 * The pair is a connected Unix stream socket: one end goes to the child as its stdout, the other
 * is read here. On Linux it lives in the abstract namespace (no file); elsewhere a socket file
 * in the temp directory, removed once connected.
 */
export interface FrameSocket {
  /** Hand to spawn() as the child's stdout, then destroy here (the child keeps its copy). */
  childEnd: Socket;
  /** Reads into `into()`, reporting each read's length to `onRead`. */
  reader: Socket;
}

export async function openFrameSocket(into: () => Uint8Array, onRead: (bytes: number) => void): Promise<FrameSocket> {
  const name = `cityops-camera-${process.pid}-${randomBytes(6).toString('hex')}`;
  const abstract = process.platform === 'linux';
  const path = abstract ? `\0${name}` : join(tmpdir(), `${name}.sock`);
  const server = createServer({ pauseOnConnect: true });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    const accepted = new Promise<Socket>((resolve, reject) => {
      server.once('connection', resolve);
      server.once('error', reject);
    });
    const reader = connect({
      path,
      onread: {
        buffer: into,
        callback: (bytes: number) => {
          onRead(bytes);
          return true;
        },
      },
    });
    const connected = new Promise<void>((resolve, reject) => {
      reader.once('connect', resolve);
      reader.once('error', reject);
    });
    const [childEnd] = await Promise.all([accepted, connected]);
    return { childEnd, reader };
  } finally {
    server.close();
    if (!abstract) rmSync(path, { force: true });
  }
}
