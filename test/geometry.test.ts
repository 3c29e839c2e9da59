import { describe, expect, it } from 'vitest';
import { iou, letterboxFor, mergeTiled, nms, tileGrid, unletterbox, type RawBox } from '../src/main/engine/geometry';

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
