import { describe, expect, it } from 'vitest';
import { iou, ios, letterboxFor, mergeTiled, nms, tileGrid, unletterbox, type RawBox } from '../src/main/engine/geometry';

const box = (classId: number, score: number, x1: number, y1: number, x2: number, y2: number): RawBox => ({
  classId,
  score,
  x1,
  y1,
  x2,
  y2,
});

describe('NMS and letterbox', () => {
  it('suppresses overlaps within a class, keeps them across classes, caps the count', () => {
    const boxes = [box(0, 0.9, 0, 0, 10, 10), box(0, 0.8, 1, 1, 11, 11), box(1, 0.7, 1, 1, 11, 11), box(0, 0.6, 50, 50, 60, 60)];
    expect(iou(boxes[0], boxes[1])).toBeGreaterThan(0.45);
    expect(nms(boxes, 0.45, 100).map((b) => b.score)).toEqual([0.9, 0.7, 0.6]);
    expect(nms(boxes, 0.45, 2).map((b) => b.score)).toEqual([0.9, 0.7]);
  });

  it('places the photo top-left for YOLOX and centred for Ultralytics, and maps boxes back', () => {
    const y = letterboxFor('yolox', 800, 400, 416, 416);
    expect(y).toMatchObject({ scale: 0.52, padX: 0, padY: 0, resizedWidth: 416, resizedHeight: 208 });
    const u = letterboxFor('ultralytics', 800, 400, 416, 416);
    expect(u).toMatchObject({ padX: 0, padY: 104, resizedHeight: 208 });
    const back = unletterbox(box(0, 1, 52, 104 + 52, 104, 104 + 104), u);
    expect([back.x1, back.y1, back.x2, back.y2]).toEqual([100, 100, 200, 200]);
    expect(unletterbox(box(0, 1, -5, -5, 500, 500), u)).toMatchObject({ x1: 0, y1: 0, x2: 800, y2: 400 });
  });
});

describe('tile grid', () => {
  it('covers a 960×1280 shelf with 2×3 overlapping square tiles', () => {
    const tiles = tileGrid(960, 1280, 2, 0.2);
    expect(tiles).toHaveLength(6);
    const size = tiles[0].size;
    expect(size).toBe(533);
    expect(new Set(tiles.map((t) => t.x))).toEqual(new Set([0, 960 - size]));
    expect(Math.max(...tiles.map((t) => t.y + t.size))).toBe(1280);
    // every pixel is in some tile
    for (const [x, y] of [
      [0, 0],
      [959, 1279],
      [480, 640],
      [959, 0],
      [0, 1279],
    ]) {
      expect(tiles.some((t) => x >= t.x && x < t.x + t.size && y >= t.y && y < t.y + t.size)).toBe(true);
    }
  });
});

describe('merging detections across tiles', () => {
  const b = (source: number, score: number, x1: number, y1: number, x2: number, y2: number, classId = 0): RawBox & { source: number } => ({
    classId,
    score,
    x1,
    y1,
    x2,
    y2,
    source,
  });

  it('joins an object cut by a tile border with its whole twin, and keeps neighbours apart', () => {
    const merged = mergeTiled(
      [
        b(1, 0.9, 100, 100, 150, 200), // whole bottle seen by tile 1
        b(2, 0.6, 100, 150, 150, 200), // its lower half, cut by tile 2's border
        b(2, 0.8, 160, 100, 210, 200), // the neighbouring bottle
      ],
      0.45,
      100,
    );
    expect(merged).toHaveLength(2);
    expect(merged[0]).toMatchObject({ x1: 100, y1: 100, x2: 150, y2: 200 });
    expect(merged[1]).toMatchObject({ x1: 160 });
  });

  it('never lets a big whole-photo box swallow the small objects inside it', () => {
    // whole photo (source 0) sees one big box; tile 1 sees two bottles inside it
    const merged = mergeTiled([b(0, 0.9, 0, 0, 100, 100), b(1, 0.8, 0, 0, 40, 100), b(1, 0.7, 60, 0, 100, 100)], 0.45, 100);
    expect(merged.map((m) => [m.x1, m.x2])).toEqual([
      [0, 100],
      [0, 40],
      [60, 100],
    ]);
  });

  it('does not merge boxes of different classes, nor a small box inside a big one from the same tile', () => {
    expect(mergeTiled([b(1, 0.9, 0, 0, 100, 100), b(2, 0.8, 10, 10, 50, 50, 1)], 0.45, 100)).toHaveLength(2);
    expect(mergeTiled([b(1, 0.9, 0, 0, 100, 100), b(1, 0.8, 10, 10, 50, 50)], 0.45, 100)).toHaveLength(2);
  });
});

describe('IoU and IoS, exact values', () => {
  it('IoU: intersection over union, 0 for disjoint or empty boxes', () => {
    expect(iou(box(0, 1, 0, 0, 10, 10), box(0, 1, 5, 0, 15, 10))).toBe(50 / 150);
    // 6 × 15 = 90 shared; 200 + 200 − 90 = 310 in all
    expect(iou(box(0, 1, 0, 0, 10, 20), box(0, 1, 4, 5, 12, 30))).toBe(90 / 310);
    expect(iou(box(0, 1, 4, 5, 12, 30), box(0, 1, 0, 0, 10, 20))).toBe(90 / 310);
    expect(iou(box(0, 1, 0, 0, 10, 10), box(0, 1, 0, 0, 10, 10))).toBe(1);
    // apart on both axes, on one axis, touching: nothing shared
    expect(iou(box(0, 1, 0, 0, 10, 10), box(0, 1, 20, 20, 30, 30))).toBe(0);
    expect(iou(box(0, 1, 0, 0, 10, 10), box(0, 1, 20, 0, 30, 10))).toBe(0);
    expect(iou(box(0, 1, 0, 0, 10, 10), box(0, 1, 0, 20, 10, 30))).toBe(0);
    expect(iou(box(0, 1, 0, 0, 10, 10), box(0, 1, 10, 0, 20, 10))).toBe(0);
    // empty boxes: no union, 0 (not NaN)
    expect(iou(box(0, 1, 5, 5, 5, 5), box(0, 1, 5, 5, 5, 5))).toBe(0);
  });

  it('IoS: intersection over the smaller box, 0 for disjoint or empty boxes', () => {
    // 50 shared; the smaller is 100, the larger 200
    expect(ios(box(0, 1, 0, 0, 10, 10), box(0, 1, 5, 0, 25, 10))).toBe(0.5);
    expect(ios(box(0, 1, 5, 0, 25, 10), box(0, 1, 0, 0, 10, 10))).toBe(0.5);
    expect(ios(box(0, 1, 0, 0, 10, 20), box(0, 1, 4, 5, 12, 30))).toBe(90 / 200);
    expect(ios(box(0, 1, 10, 10, 20, 20), box(0, 1, 0, 0, 100, 100))).toBe(1);
    expect(ios(box(0, 1, 0, 0, 100, 100), box(0, 1, 10, 10, 20, 20))).toBe(1);
    expect(ios(box(0, 1, 0, 0, 10, 10), box(0, 1, 20, 20, 30, 30))).toBe(0);
    expect(ios(box(0, 1, 0, 0, 10, 10), box(0, 1, 20, 0, 30, 10))).toBe(0);
    expect(ios(box(0, 1, 0, 0, 10, 10), box(0, 1, 0, 20, 10, 30))).toBe(0);
    // a box of no area inside another: 0 (not NaN)
    expect(ios(box(0, 1, 5, 5, 5, 8), box(0, 1, 0, 0, 10, 10))).toBe(0);
  });
});

describe('NMS, exact cases', () => {
  it('takes boxes highest score first, whatever the input order, and keeps the best of an overlap', () => {
    const low = box(0, 0.5, 0, 0, 10, 10);
    const high = box(0, 0.9, 1, 1, 11, 11);
    const other = box(0, 0.7, 50, 50, 60, 60);
    expect(nms([low, other, high], 0.45, 10)).toEqual([high, other]);
    expect(nms([], 0.45, 10)).toEqual([]);
  });

  it('keeps a box whose IoU is exactly the threshold, drops one above it', () => {
    const a = box(0, 0.9, 0, 0, 10, 10);
    const half = box(0, 0.8, 0, 0, 10, 5); // IoU 50 / 100 = 0.5
    expect(iou(a, half)).toBe(0.5);
    expect(nms([a, half], 0.5, 10)).toEqual([a, half]);
    expect(nms([a, half], 0.49, 10)).toEqual([a]);
  });

  it('suppresses only within a class, and stops at maxDetections', () => {
    const boxes = [box(0, 0.9, 0, 0, 10, 10), box(1, 0.8, 0, 0, 10, 10), box(0, 0.7, 0, 0, 10, 10), box(1, 0.6, 20, 20, 30, 30)];
    expect(nms(boxes, 0.45, 10)).toEqual([boxes[0], boxes[1], boxes[3]]);
    expect(nms(boxes, 0.45, 3)).toEqual([boxes[0], boxes[1], boxes[3]]);
    expect(nms(boxes, 0.45, 1)).toEqual([boxes[0]]);
    expect(nms(boxes, 0.45, 0)).toEqual([]);
  });
});

describe('letterbox, exact cases', () => {
  it('centres an Ultralytics input (odd padding rounded down) and puts YOLOX top-left', () => {
    const base = { scale: 0.52, offsetX: 0, offsetY: 0 };
    // 401 × 0.52 = 208.52 → 209 wide; (416 − 209) / 2 = 103.5 → 103
    expect(letterboxFor('ultralytics', 401, 800, 416, 416)).toEqual({
      ...base,
      padX: 103,
      padY: 0,
      width: 401,
      height: 800,
      resizedWidth: 209,
      resizedHeight: 416,
    });
    expect(letterboxFor('ultralytics', 800, 401, 416, 416)).toEqual({
      ...base,
      padX: 0,
      padY: 103,
      width: 800,
      height: 401,
      resizedWidth: 416,
      resizedHeight: 209,
    });
    expect(letterboxFor('yolox', 800, 401, 416, 416)).toEqual({
      ...base,
      padX: 0,
      padY: 0,
      width: 800,
      height: 401,
      resizedWidth: 416,
      resizedHeight: 209,
    });
    expect(letterboxFor('ultralytics', 640, 480, 640, 640)).toMatchObject({
      scale: 1,
      padX: 0,
      padY: 80,
      resizedWidth: 640,
      resizedHeight: 480,
    });
    // a non-square input: the scale is the smaller of the two ratios
    expect(letterboxFor('ultralytics', 300, 300, 640, 480)).toMatchObject({ scale: 1.6, padX: 80, padY: 0, resizedWidth: 480 });
  });

  it('never resizes a side to 0 pixels', () => {
    expect(letterboxFor('yolox', 1, 10000, 416, 416)).toMatchObject({ scale: 0.0416, resizedWidth: 1, resizedHeight: 416, padX: 0 });
    expect(letterboxFor('ultralytics', 10000, 1, 416, 416)).toMatchObject({ resizedWidth: 416, resizedHeight: 1, padY: 207 });
  });

  it('maps a tile box back with its scale, pad and offset, clamped to the photo', () => {
    const lb = { scale: 0.5, padX: 10, padY: 20, offsetX: 100, offsetY: 200, width: 1000, height: 800 };
    // x = (v − 10) / 0.5 + 100, y = (v − 20) / 0.5 + 200
    expect(unletterbox(box(3, 0.7, 30, 60, 110, 220), lb)).toEqual(box(3, 0.7, 140, 280, 300, 600));
    expect(unletterbox(box(3, 0.7, 0, 0, 460, 400), lb)).toEqual(box(3, 0.7, 80, 160, 1000, 800));
    // above the top-left of the photo: 0
    expect(unletterbox(box(3, 0.7, -50, -200, 460, 300), lb)).toEqual(box(3, 0.7, 0, 0, 1000, 760));
  });
});

describe('tile grid, exact cases', () => {
  it('places n tiles across the short side and enough along the long side, evenly spread', () => {
    const grid = (t: { x: number; y: number; size: number }[]) => ({
      size: t[0].size,
      xs: [...new Set(t.map((a) => a.x))],
      ys: [...new Set(t.map((a) => a.y))],
      n: t.length,
    });
    // 900 / (3 − 2 × 0.2) = 346.15 → 346; 3 across 900, 5 along 1200
    expect(grid(tileGrid(900, 1200, 3, 0.2))).toEqual({ size: 346, xs: [0, 277, 554], ys: [0, 214, 427, 641, 854], n: 15 });
    // overlap 0.5: 600 / 1.5 = 400, steps of 200
    expect(grid(tileGrid(1200, 600, 2, 0.5))).toEqual({ size: 400, xs: [0, 200, 400, 600, 800], ys: [0, 200], n: 10 });
    // the default overlap is 0.2
    expect(tileGrid(900, 1200, 3)).toEqual(tileGrid(900, 1200, 3, 0.2));
    // rows first: the tiles of the first row, then the next
    expect(tileGrid(1200, 600, 2, 0.5).slice(0, 6)).toEqual([
      { x: 0, y: 0, size: 400 },
      { x: 200, y: 0, size: 400 },
      { x: 400, y: 0, size: 400 },
      { x: 600, y: 0, size: 400 },
      { x: 800, y: 0, size: 400 },
      { x: 0, y: 200, size: 400 },
    ]);
  });

  it('takes at least 2 tiles across, a whole number of them', () => {
    expect(tileGrid(900, 1200, 1)).toEqual(tileGrid(900, 1200, 2));
    expect(tileGrid(900, 1200, 2.7)).toEqual(tileGrid(900, 1200, 2));
    expect(tileGrid(900, 1200, 3)).toHaveLength(15);
  });

  it('the rounding slack: a side just over a whole number of steps gets no extra tile', () => {
    // 1000 / 1.8 = 555.6 → 556: a square 1000 needs (1000 − 556) / (556 × 0.8) = 0.998 steps → 2 tiles
    expect(tileGrid(1000, 1000, 2).map((t) => [t.x, t.y])).toEqual([
      [0, 0],
      [444, 0],
      [0, 444],
      [444, 444],
    ]);
    // 1005 needs 1.009 steps: within the slack, still 2 tiles (a little more overlap)
    expect(tileGrid(1000, 1005, 2).map((t) => t.y)).toEqual([0, 0, 449, 449]);
  });

  it('a photo no bigger than a tile is one tile', () => {
    expect(tileGrid(1, 1, 2)).toEqual([{ x: 0, y: 0, size: 1 }]);
  });
});

describe('tile merge, exact cases', () => {
  const t = (source: number, score: number, x1: number, y1: number, x2: number, y2: number, classId = 0) => ({
    ...box(classId, score, x1, y1, x2, y2),
    source,
  });

  it('a joined piece widens the kept box on every side it sticks out, and the output has no sources', () => {
    // IoS 1050 / 1600 = 0.66, IoU 1050 / 2800 = 0.375
    const merged = mergeTiled([t(2, 0.8, 0, 10, 45, 60), t(1, 0.9, 10, 0, 50, 40)], 0.45, 100);
    expect(merged).toEqual([box(0, 0.9, 0, 0, 50, 60)]);
  });

  it('a tile joins a kept box once: a second piece from the same tile stays apart', () => {
    const merged = mergeTiled(
      [
        t(1, 0.9, 0, 0, 100, 100),
        t(2, 0.8, 0, 0, 100, 60), // inside: joins, adds nothing
        t(2, 0.7, 0, 50, 100, 120), // IoS 0.71 but tile 2 already joined: kept apart
        t(3, 0.6, 0, 80, 100, 130), // tile 3 has not joined: joins (IoS 0.8 of the kept box)
      ],
      0.45,
      100,
    );
    expect(merged).toEqual([box(0, 0.9, 0, 0, 100, 100), box(0, 0.7, 0, 50, 100, 130)]);
  });

  it('a whole-photo box never joins a tile box, it only takes part in NMS', () => {
    const inside = mergeTiled([t(1, 0.9, 0, 0, 100, 100), t(0, 0.8, 10, 10, 50, 50)], 0.45, 100);
    expect(inside).toEqual([box(0, 0.9, 0, 0, 100, 100), box(0, 0.8, 10, 10, 50, 50)]);
    const twin = mergeTiled([t(1, 0.9, 0, 0, 100, 100), t(0, 0.8, 0, 10, 100, 110)], 0.45, 100);
    expect(twin).toEqual([box(0, 0.9, 0, 0, 100, 100)]);
  });

  it('a box dropped by plain NMS does not widen the kept one', () => {
    // same tile, IoU 0.82: dropped as is
    expect(mergeTiled([t(1, 0.9, 0, 0, 100, 100), t(1, 0.8, 0, 10, 100, 110)], 0.45, 100)).toEqual([box(0, 0.9, 0, 0, 100, 100)]);
    expect(mergeTiled([t(0, 0.9, 0, 0, 100, 100), t(0, 0.8, 0, 10, 100, 110)], 0.45, 100)).toEqual([box(0, 0.9, 0, 0, 100, 100)]);
  });

  it('thresholds are strict: IoU or IoS exactly at the threshold keeps the boxes apart', () => {
    // same tile, IoU 0.5
    const a = t(1, 0.9, 0, 0, 10, 10);
    const half = t(1, 0.8, 0, 0, 10, 5);
    expect(mergeTiled([a, half], 0.5, 100)).toEqual([box(0, 0.9, 0, 0, 10, 10), box(0, 0.8, 0, 0, 10, 5)]);
    expect(mergeTiled([a, half], 0.49, 100)).toEqual([box(0, 0.9, 0, 0, 10, 10)]);
    // other tiles, IoS 6000 / 10000 = 0.6, IoU 0.43
    const b = t(2, 0.8, 0, 40, 100, 140);
    expect(mergeTiled([t(1, 0.9, 0, 0, 100, 100), b], 0.45, 100)).toHaveLength(2);
    expect(mergeTiled([t(1, 0.9, 0, 0, 100, 100), b], 0.45, 100, 0.59)).toEqual([box(0, 0.9, 0, 0, 100, 140)]);
  });

  it('highest score first whatever the input order, class by class, capped at maxDetections', () => {
    const boxes = [t(1, 0.5, 0, 0, 10, 10, 1), t(1, 0.6, 0, 0, 10, 10), t(2, 0.9, 0, 0, 10, 10), t(1, 0.7, 50, 50, 60, 60)];
    expect(mergeTiled(boxes, 0.45, 100)).toEqual([box(0, 0.9, 0, 0, 10, 10), box(0, 0.7, 50, 50, 60, 60), box(1, 0.5, 0, 0, 10, 10)]);
    expect(mergeTiled(boxes, 0.45, 2)).toEqual([box(0, 0.9, 0, 0, 10, 10), box(0, 0.7, 50, 50, 60, 60)]);
    expect(mergeTiled([], 0.45, 2)).toEqual([]);
  });
});
