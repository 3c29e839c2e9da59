import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { mergeTiled, tileGrid, type RawBox } from '../src/main/engine/geometry';
import { prepareTileTensors, probePhoto } from '../src/main/engine/ingest/photo';
import { runAudit, tilesFor } from '../src/main/engine/audit';
import { openDb } from '../src/main/engine/db';
import { SHELVES, tmpDir } from './helpers';

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
    expect(tilesFor('auto', { width: 640, height: 480 }, 416)).toEqual([]);
    expect(tilesFor('auto', { width: 960, height: 1280 }, 416)).toHaveLength(6);
    expect(tilesFor('off', { width: 4000, height: 3000 }, 416)).toEqual([]);
  });

  it('puts each tile at its place: a red square lands where the letterbox says', async () => {
    const svg = [
      '<svg xmlns="http://www.w3.org/2000/svg" width="1000" height="800">',
      '<rect width="1000" height="800" fill="white"/><rect x="700" y="500" width="60" height="60" fill="red"/></svg>',
    ].join('');
    const buf = await sharp(Buffer.from(svg)).jpeg({ quality: 95 }).toBuffer();
    const info = await probePhoto(buf);
    const spec = { format: 'ultralytics' as const, width: 416, height: 416 };
    const tiles = tileGrid(1000, 800, 2, 0.2);
    const tensors = await prepareTileTensors(buf, info, spec, tiles);
    let hits = 0;
    for (const t of tensors) {
      const lb = t.letterbox;
      const u = Math.round((730 - lb.offsetX) * lb.scale);
      const v = Math.round((530 - lb.offsetY) * lb.scale);
      if (u < 0 || v < 0 || u >= 416 || v >= 416) continue;
      const i = v * 416 + u;
      expect(t.data[i]).toBeGreaterThan(0.8); // R
      expect(t.data[416 * 416 + i]).toBeLessThan(0.2); // G
      hits++;
    }
    expect(hits).toBeGreaterThan(0);
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

describe('tiled inference on real shelves', () => {
  it('finds many more bottles on ../shared/photos/shelves than whole-photo inference', async () => {
    const run = async (tiles: 'off' | 2) => {
      const db = openDb(path.join(tmpDir(), 'tiles.db'));
      try {
        return await runAudit({ paths: [SHELVES], db, provider: 'cpu', tiles });
      } finally {
        db.close();
      }
    };
    const bottles = (r: Awaited<ReturnType<typeof run>>, file: string) =>
      r.photos.find((p) => p.path.endsWith(file))!.detections.filter((d) => d.objectName === 'bottle');
    const whole = await run('off');
    const tiled = await run(2);
    expect(bottles(whole, 'shelf_1.jpg').length).toBeLessThanOrEqual(2);
    expect(bottles(tiled, 'shelf_1.jpg').length).toBeGreaterThanOrEqual(20);
    expect(bottles(tiled, 'shelf_3.jpg').length).toBeGreaterThan(bottles(whole, 'shelf_3.jpg').length);
    for (const p of tiled.photos) {
      for (const d of p.detections.filter((x) => x.objectName === 'bottle')) {
        // a bottle on a shelf photo is a small upright box inside the photo
        expect(d.boundingBox.x + d.boundingBox.width).toBeLessThanOrEqual(p.width!);
        expect(d.boundingBox.height).toBeLessThan(p.height! / 3);
      }
    }
  });
});
