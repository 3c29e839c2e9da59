import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { tileGrid } from '../src/main/engine/geometry';
import { prepareTileTensors, probePhoto } from '../src/main/engine/ingest/photo';
import { runAudit, tilesFor } from '../src/main/engine/audit';
import { openDb } from '../src/main/engine/db';
import { SHELVES, tmpDir } from './helpers';

describe('tile grid', () => {
  it('tiles a photo only when asked, or when it is large enough for auto', () => {
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
