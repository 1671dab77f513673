import { describe, expect, it } from 'vitest';
import { withoutCredentials } from './api-routes.js';

describe('cameras in /api/city', () => {
  it("drop the stream's user and password, keep everything else", () => {
    expect(withoutCredentials({ id: 'c1', url: 'rtsp://admin:s3cr3t@10.0.0.7:554/stream1' }).url).toBe('rtsp://10.0.0.7:554/stream1');
    expect(withoutCredentials({ id: 'c2', url: 'http://viewer@cam.example/mjpeg?x=a@b' }).url).toBe('http://cam.example/mjpeg?x=a@b');
    const plain = { id: 'c3', url: 'file:///data/clips/gate.mp4' };
    expect(withoutCredentials(plain)).toBe(plain);
  });
});
