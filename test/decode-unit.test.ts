import { describe, expect, it } from 'vitest';
import { decodeYolox } from '../src/main/engine/inference/decode';

describe('YOLOX decoder', () => {
  it('decodes a YOLOX grid cell with stride and exp', () => {
    const rows = 52 * 52 + 26 * 26 + 13 * 13;
    const out = new Float32Array(rows * 7); // 2 classes
    const r = 52 * 52 + 3 * 26 + 5; // stride 16, gx 5, gy 3
    out.set([0.5, 0.5, Math.log(2), Math.log(4), 0.9, 0.1, 1.0], r * 7);
    const boxes = decodeYolox(out, { inputWidth: 416, inputHeight: 416, numClasses: 2, confThreshold: 0.25 });
    expect(boxes).toHaveLength(1);
    const b = boxes[0];
    expect(b.classId).toBe(1);
    expect(b.score).toBeCloseTo(0.9, 6);
    // centre ((5 + 0.5) * 16, (3 + 0.5) * 16) = (88, 56), size (2 * 16, 4 * 16)
    [b.x1, b.y1, b.x2, b.y2].forEach((v, i) => expect(v).toBeCloseTo([72, 24, 104, 88][i], 4));
    expect(() => decodeYolox(out.subarray(7), { inputWidth: 416, inputHeight: 416, numClasses: 2, confThreshold: 0.25 })).toThrow(
      /YOLOX output/,
    );
  });
});
