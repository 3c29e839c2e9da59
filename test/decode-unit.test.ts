import { describe, expect, it } from 'vitest';
import { decodeUltralytics, decodeYolox } from '../src/main/engine/inference/decode';

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

// a box with coordinates compared to 4 decimals (the outputs are float32)
const near = (classId: number, score: number, x1: number, y1: number, x2: number, y2: number) => ({
  classId,
  score,
  x1: expect.closeTo(x1, 4),
  y1: expect.closeTo(y1, 4),
  x2: expect.closeTo(x2, 4),
  y2: expect.closeTo(y2, 4),
});

describe('YOLOX decoder, exact cases', () => {
  // a 72×40 input, 2 classes: strides 8, 16, 32 give 9×5 + 4×2 + 2×1 = 55 grid points (the grid floors)
  const opts = { inputWidth: 72, inputHeight: 40, numClasses: 2, confThreshold: 0.25 };
  const ROWS = 55;
  const head = (cells: [row: number, values: number[]][], rows = ROWS) => {
    const out = new Float32Array(rows * 7);
    for (const [row, values] of cells) out.set(values, row * 7);
    return out;
  };

  it('decodes cells of each stride: centre (t + grid) × stride, size exp(t) × stride, score obj × cls', () => {
    const out = head([
      // stride 8, gx 3, gy 2 (row 2 × 9 + 3): centre (26, 22), size 16 × 8
      [21, [0.25, 0.75, Math.log(2), 0, 0.5, 1, 0.5]],
      // stride 16, gx 1, gy 1 (row 45 + 4 + 1): centre (24, 40), size 16 × 64
      [50, [0.5, 1.5, 0, Math.log(4), 1, 0, 0.75]],
      // stride 32, gx 1, gy 0 (row 45 + 8 + 1): centre (32, 0), size 32 × 32
      [54, [0, 0, 0, 0, 1, 0.5, 0]],
    ]);
    expect(decodeYolox(out, opts)).toEqual([
      near(0, 0.5, 18, 18, 34, 26),
      near(1, 0.25, 18, 18, 34, 26),
      near(1, 0.75, 16, 8, 32, 72),
      near(0, 0.5, 16, -16, 48, 16),
    ]);
  });

  it('keeps scores exactly at the threshold; an objectness under it skips the cell whatever the class scores', () => {
    const atThreshold = head([[0, [0, 0, 0, 0, 0.5, 0.5, 0.25]]]); // 0.5 × 0.5 = 0.25
    expect(decodeYolox(atThreshold, { ...opts, confThreshold: 0.25 })).toEqual([near(0, 0.25, -4, -4, 4, 4)]);
    expect(decodeYolox(atThreshold, { ...opts, confThreshold: 0.5 })).toEqual([]);
    const objAtThreshold = head([[0, [0, 0, 0, 0, 0.5, 1, 0]]]);
    expect(decodeYolox(objAtThreshold, { ...opts, confThreshold: 0.5 })).toEqual([near(0, 0.5, -4, -4, 4, 4)]);
    const weakObj = head([[0, [0, 0, 0, 0, 0.25, 4, 4]]]); // obj × cls = 1, but obj < 0.5
    expect(decodeYolox(weakObj, { ...opts, confThreshold: 0.5 })).toEqual([]);
    expect(decodeYolox(head([]), opts)).toEqual([]);
  });

  it('refuses an output that does not fit the input size, saying how', () => {
    expect(() => decodeYolox(head([], ROWS - 1), opts)).toThrow(new Error('YOLOX output too short for a 72x40 input'));
    expect(() => decodeYolox(head([], ROWS + 1), opts)).toThrow(new Error('YOLOX output has 56 rows, expected 55 for a 72x40 input'));
    expect(() => decodeYolox(new Float32Array(ROWS * 7 + 3), opts)).toThrow(
      /^YOLOX output has 55\.42857\d* rows, expected 55 for a 72x40 input$/,
    );
  });
});

describe('Ultralytics decoder, exact cases', () => {
  // [1, 4 + 2, 3]: rows cx, cy, w, h, class 0, class 1; one column per anchor
  const out = Float32Array.from([
    ...[10, 50, 1], // cx
    ...[20, 60, 2], // cy
    ...[4, 10, 2], // w
    ...[8, 20, 2], // h
    ...[0.75, 0.25, 0.125], // class 0
    ...[0.125, 0.5, 0.1875], // class 1
  ]);
  const opts = { inputWidth: 416, inputHeight: 416, numClasses: 2, confThreshold: 0.25, anchors: 3 };

  it('reads each anchor column: centre and size in input pixels, one box per class at or over the threshold', () => {
    expect(decodeUltralytics(out, opts)).toEqual([
      { classId: 0, score: 0.75, x1: 8, y1: 16, x2: 12, y2: 24 },
      { classId: 0, score: 0.25, x1: 45, y1: 50, x2: 55, y2: 70 },
      { classId: 1, score: 0.5, x1: 45, y1: 50, x2: 55, y2: 70 },
    ]);
    expect(decodeUltralytics(out, { ...opts, confThreshold: 0.125 })).toHaveLength(6);
    expect(decodeUltralytics(out, { ...opts, confThreshold: 0.8 })).toEqual([]);
  });

  it('refuses an output of the wrong size, saying how', () => {
    expect(() => decodeUltralytics(out.subarray(1), opts)).toThrow(new Error('Ultralytics output has 17 values, expected (4 + 2) x 3'));
    expect(() => decodeUltralytics(out, { ...opts, numClasses: 1 })).toThrow(
      new Error('Ultralytics output has 18 values, expected (4 + 1) x 3'),
    );
  });
});
