// Label colours of the review UI (issue 13: bottle, book, refrigerator and cat were four near-identical pinks)
// and the counts' plurals ("1 photo", not "1 photos"). Pure renderer functions, run under Node.
import { describe, expect, it } from 'vitest';
import { LABEL_PALETTE, labelColor } from '../src/renderer/src/review/geometry';
import { countOf, formatCount } from '../src/renderer/src/queue';
import { loadManifest } from '../src/main/engine/models/manifest';

describe('label colours', () => {
  it('are stable, from the palette, and tell bottle, book, refrigerator and cat apart', () => {
    const four = ['bottle', 'book', 'refrigerator', 'cat'].map(labelColor);
    expect(new Set(four).size).toBe(4);
    expect(labelColor('bottle')).toBe(labelColor('bottle'));
    for (const c of four) expect(LABEL_PALETTE).toContain(c);
  });
  it("spread the default model's labels over the whole palette", () => {
    const m = loadManifest();
    const labels = m.models.find((x) => x.name === m.default)!.labels;
    expect(new Set(labels.map(labelColor)).size).toBe(LABEL_PALETTE.length);
  });
});

describe('counts', () => {
  it('say "1 photo" and "2 photos"', () => {
    expect(countOf(1, 'photo')).toBe('1 photo');
    expect(countOf(0, 'photo')).toBe('0 photos');
    expect(countOf(2, 'box', 'boxes')).toBe('2 boxes');
  });
  it('are grouped in the locale, as toLocaleString does (one formatter, made once)', () => {
    for (const n of [0, 7, 1204, 100_000, 1_234_567]) expect(formatCount(n)).toBe(n.toLocaleString());
    expect(countOf(1204, 'photo')).toBe(`${(1204).toLocaleString()} photos`);
  });
});
