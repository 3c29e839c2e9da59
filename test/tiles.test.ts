import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { letterboxFor, tileGrid, unletterbox, type Letterbox, type RawBox } from '../src/main/engine/geometry';
import { prepareTileTensors, probePhoto } from '../src/main/engine/ingest/photo';
import { runAudit, tilesFor } from '../src/main/engine/audit';
import { openDb } from '../src/main/engine/db';
import { GENERAL, HAND_LABELS, SHELVES, iouBox, tmpDir } from './helpers';

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

describe('mapping boxes back from a tile to the photo', () => {
  const raw = (x1: number, y1: number, x2: number, y2: number): RawBox => ({ classId: 0, score: 1, x1, y1, x2, y2 });
  const corners = (b: RawBox) => [b.x1, b.y1, b.x2, b.y2];

  it('a box in tile-input pixels lands at exact photo pixels: input / scale + tile offset', () => {
    // a tile whose corner is at (600, 400) of a 2000×1600 photo, shrunk by half into the input
    const lb: Letterbox = { scale: 0.5, padX: 0, padY: 0, offsetX: 600, offsetY: 400, width: 2000, height: 1600 };
    expect(corners(unletterbox(raw(10, 20, 110, 220), lb))).toEqual([620, 440, 820, 840]);
    // clamped to the photo, not to the tile
    expect(corners(unletterbox(raw(-10, -10, 3000, 3000), lb))).toEqual([580, 380, 2000, 1600]);
    // the whole photo (offset 0), centred with padding (Ultralytics)
    const whole = letterboxFor('ultralytics', 800, 400, 416, 416);
    expect(corners(unletterbox(raw(52, 104 + 52, 104, 104 + 104), whole))).toEqual([100, 100, 200, 200]);
  });

  it('a red square found in each tile tensor maps back to where it is in the photo', async () => {
    // 1000×800 photo, tiles 2: 3×2 tiles of 444 px (x 0, 278, 556; y 0, 356), scaled to 416
    const square = { x1: 700, y1: 500, x2: 760, y2: 560 };
    const svg = [
      '<svg xmlns="http://www.w3.org/2000/svg" width="1000" height="800">',
      `<rect width="1000" height="800" fill="white"/><rect x="${square.x1}" y="${square.y1}" width="60" height="60" fill="red"/></svg>`,
    ].join('');
    const buf = await sharp(Buffer.from(svg)).png().toBuffer();
    const info = await probePhoto(buf);
    const tiles = tileGrid(1000, 800, 2, 0.2);
    const tensors = await prepareTileTensors(buf, info, { format: 'ultralytics', width: 416, height: 416 }, tiles);
    const plane = 416 * 416;
    let seen = 0;
    for (const t of tensors) {
      // the red pixels' bounding box, in input pixels of this tile
      let [u1, v1, u2, v2] = [Infinity, Infinity, -Infinity, -Infinity];
      for (let v = 0; v < 416; v++)
        for (let u = 0; u < 416; u++) {
          const i = v * 416 + u;
          if (t.data[i] > 0.5 && t.data[plane + i] < 0.5)
            [u1, v1, u2, v2] = [Math.min(u1, u), Math.min(v1, v), Math.max(u2, u + 1), Math.max(v2, v + 1)];
        }
      if (u1 === Infinity) continue;
      // a square cut by the tile's edge is only checked on its sides inside the tile
      const back = unletterbox(raw(u1, v1, u2, v2), t.letterbox);
      if (u1 > 0) expect(back.x1).toBeCloseTo(square.x1, -0.5); // within ±1.6 px (a resized edge)
      if (v1 > 0) expect(back.y1).toBeCloseTo(square.y1, -0.5);
      if (u2 < 416) expect(back.x2).toBeCloseTo(square.x2, -0.5);
      if (v2 < 416) expect(back.y2).toBeCloseTo(square.y2, -0.5);
      seen++;
    }
    // the tiles at (278, 356), which cuts it at its right edge (722), and (556, 356)
    expect(seen).toBe(2);
  });
});

describe('tiled inference on a photo where the right answer is known', () => {
  it('finds real objects pasted at known places, in different tiles and across tile borders (IoU ≥ 0.5)', async () => {
    // dogs and people cut from the general photos at their hand-labelled boxes, pasted on a 2400×1800 canvas.
    // --tiles 2: tiles of 1000 px at x 0, 700, 1400 and y 0, 800. Seen whole, the dogs are too small to find.
    const cut = async (file: string, b: { x: number; y: number; width: number; height: number }) =>
      sharp(path.join(GENERAL, file)).extract({ left: b.x, top: b.y, width: b.width, height: b.height }).toBuffer();
    const dog = HAND_LABELS['dog.jpg'][0].box;
    const person = HAND_LABELS['person.jpg'][0].box;
    const pixels = { dog: await cut('dog.jpg', dog), person: await cut('person.jpg', person) };
    const size = { dog: { width: dog.width, height: dog.height }, person: { width: person.width, height: person.height } };
    const placed = (
      [
        ['dog', 100, 100], // top-left tile only
        ['dog', 2100, 1350], // bottom-right tile only
        ['dog', 900, 300], // across the border x = 1000 of the first column of tiles
        ['dog', 1150, 850], // across the border y = 1000 of the first row
        ['person', 1600, 200],
        ['person', 400, 1300],
      ] as const
    ).map(([label, x, y]) => ({ label, box: { x, y, ...size[label] } }));
    const dir = tmpDir();
    const file = path.join(dir, 'pasted.jpg');
    await sharp({ create: { width: 2400, height: 1800, channels: 3, background: '#808080' } })
      .composite(placed.map((p) => ({ input: pixels[p.label], left: p.box.x, top: p.box.y })))
      .jpeg({ quality: 92 })
      .toFile(file);
    const db = openDb(path.join(dir, 'pasted.db'));
    const report = await runAudit({ paths: [file], db, provider: 'cpu', tiles: 2 }).finally(() => db.close());
    const dets = report.photos[0].detections;
    for (const p of placed) {
      const best = Math.max(0, ...dets.filter((d) => d.objectName === p.label).map((d) => iouBox(d.boundingBox, p.box)));
      expect(best, `${p.label} at ${p.box.x},${p.box.y}`).toBeGreaterThanOrEqual(0.5);
    }
    // and nothing is found where nothing was pasted: every box lies on a pasted object
    // (20 px of slack: boxes from the whole photo are coarse)
    const inside = (b: { x: number; y: number; width: number; height: number }, o: typeof b) =>
      b.x >= o.x - 20 && b.y >= o.y - 20 && b.x + b.width <= o.x + o.width + 20 && b.y + b.height <= o.y + o.height + 20;
    for (const d of dets)
      expect(
        placed.some((p) => inside(d.boundingBox, p.box)),
        `${d.objectName} ${JSON.stringify(d.boundingBox)}`,
      ).toBe(true);
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
