import { describe, expect, it } from 'vitest';
import { levelLadder, parseCameraVisionConfig } from './camera-config.js';

const zone = {
  id: 'plaza',
  polygon: [
    [0, 0.5],
    [1, 0.5],
    [1, 1],
    [0, 1],
  ],
};

describe('camera vision config', () => {
  it('fills rule defaults per type', () => {
    const c = parseCameraVisionConfig({
      cameraId: 'cam-1',
      zones: [zone],
      lines: [{ id: 'stop-line', from: [0, 0.6], to: [1, 0.6] }],
      rules: [
        { id: 'crowd', type: 'crowd', zone: 'plaza', levels: { blue: 3, yellow: 6 } },
        { id: 'count', type: 'line-crossing', line: 'stop-line', direction: 'left-to-right' },
      ],
    });
    expect(c).toMatchObject({ model: 'default', areaId: '', detectionSampleMs: 1000, location: undefined });
    expect(c.rules[0]).toMatchObject({ type: 'crowd', kind: 'crowd', classes: ['person'], holdMs: 2000, clearMs: 3000 });
    expect(c.rules[1]).toMatchObject({ type: 'line-crossing', kind: 'congestion', direction: 'left-to-right', windowMs: 60000 });
    expect(levelLadder({ yellow: 6, blue: 3 })).toEqual([
      { level: 'blue', threshold: 3 },
      { level: 'yellow', threshold: 6 },
    ]);
  });

  it('says what is wrong: unknown zone, bad polygon, unknown class, crossing level lines, unknown key', () => {
    expect(() =>
      parseCameraVisionConfig(
        {
          cameraId: 'cam-1',
          zones: [
            zone,
            {
              id: 'flat',
              polygon: [
                [0, 0],
                [0.5, 0.5],
                [1, 1],
              ],
            },
            {
              id: 'out',
              polygon: [
                [0, 0],
                [2, 0],
                [0, 1],
              ],
            },
          ],
          rules: [
            { id: 'r1', type: 'intrusion', zone: 'roof' },
            { id: 'r2', type: 'crowd', zone: 'plaza', classes: ['unicorn'] },
            { id: 'r3', type: 'queue', zone: 'plaza', levels: { blue: 10, yellow: 5 } },
            { id: 'r4', type: 'loitering', zone: 'plaza', dwell: 60 },
            { id: 'r5', type: 'teleport', zone: 'plaza' },
          ],
        },
        ['person', 'car'],
      ),
    ).toThrow(
      new RegExp(
        [
          "'zones\\[1\\].polygon': expected a polygon with an area",
          "'zones\\[2\\].polygon\\[1\\]': expected \\[x, y\\] normalised to 0…1 of the image; got \\[2,0\\]",
          "'rules\\[0\\].zone': expected one of the camera's zones \\(plaza, flat, out\\); got \"roof\"",
          "'rules\\[1\\].classes': the model has no class 'unicorn'",
          "'rules\\[2\\].levels': expected thresholds rising with the level \\(blue < yellow\\)",
          "unknown key 'rules\\[3\\].dwell'",
          '\'rules\\[4\\].type\': expected one of intrusion, loitering, crowd, queue, stopped-vehicle, line-crossing; got "teleport"',
        ].join('.*'),
      ),
    );
  });
});
