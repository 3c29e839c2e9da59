import { describe, expect, it } from 'vitest';
import { BatchSummary, summarize } from '../src/shared/summary';

const dets = (...names: string[]) => names.map((objectName) => ({ objectName }));

describe('summarize (one photo)', () => {
  it('counts boxes and distinct labels; no expected list gives null stock and score', () => {
    const none = { outOfStock: null, complianceScore: null };
    expect(summarize(dets('bottle', 'bottle', 'can'))).toEqual({ totalProducts: 3, uniqueSKUs: 2, ...none });
    expect(summarize(dets('bottle'), null)).toEqual({ totalProducts: 1, uniqueSKUs: 1, outOfStock: null, complianceScore: null });
    expect(summarize([])).toEqual({ totalProducts: 0, uniqueSKUs: 0, outOfStock: null, complianceScore: null });
  });

  it('lists the missing expected labels in the given order, each once, and scores the share found', () => {
    expect(summarize(dets('can', 'bottle', 'can'), ['water', 'can', 'juice', 'water'])).toEqual({
      totalProducts: 3,
      uniqueSKUs: 2,
      outOfStock: ['water', 'juice'],
      complianceScore: 0.3333,
    });
    expect(summarize(dets('a', 'b'), ['a', 'b', 'c'])).toMatchObject({ outOfStock: ['c'], complianceScore: 0.6667 });
    expect(summarize(dets('a', 'b', 'x'), ['a', 'b'])).toMatchObject({ outOfStock: [], complianceScore: 1 });
    expect(summarize([], ['a', 'b'])).toMatchObject({ outOfStock: ['a', 'b'], complianceScore: 0 });
  });

  it('rounds the score to 4 decimals and gives 1 for an empty expected list', () => {
    // 6 of 7 = 0.857142… → 0.8571; 1 of 6 = 0.1666… → 0.1667 (rounded, not cut)
    const seven = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    expect(summarize(dets(...seven.slice(0, 6)), seven).complianceScore).toBe(0.8571);
    expect(summarize(dets('a'), seven.slice(0, 6)).complianceScore).toBe(0.1667);
    expect(summarize(dets('a'), [])).toEqual({ totalProducts: 1, uniqueSKUs: 1, outOfStock: [], complianceScore: 1 });
  });
});

describe('BatchSummary (a batch, photo by photo)', () => {
  it('without an expected list: totals and distinct labels over all photos, null stock and score', () => {
    const b = new BatchSummary();
    b.add(['bottle', 'can'], 5, summarize(dets('bottle', 'can')));
    b.add(new Set(['can', 'juice']), 2, null);
    expect(b.result()).toEqual({ totalProducts: 7, uniqueSKUs: 3, outOfStock: null, complianceScore: null });
    expect(new BatchSummary(null).result()).toEqual({ totalProducts: 0, uniqueSKUs: 0, outOfStock: null, complianceScore: null });
  });

  it('out of stock = expected labels seen in no photo; score = mean of the per-photo scores, rounded', () => {
    const expected = ['a', 'b', 'c', 'a'];
    const b = new BatchSummary(expected);
    b.add(['a'], 1, summarize(dets('a'), expected)); // 1/3
    b.add(['b'], 4, summarize(dets('b'), expected)); // 1/3
    b.add(['a', 'b'], 2, summarize(dets('a', 'b'), expected)); // 2/3
    b.add([], 0, { totalProducts: 0, uniqueSKUs: 0, outOfStock: null, complianceScore: null }); // not scored: not in the mean
    b.add([], 0, null); // a failed photo: not in the mean
    // mean (0.3333 + 0.3333 + 0.6667) / 3 = 0.44443… → 0.4444
    expect(b.result()).toEqual({ totalProducts: 7, uniqueSKUs: 2, outOfStock: ['c'], complianceScore: 0.4444 });
  });

  it('a score of 0 is a score (counted in the mean), unlike a missing one', () => {
    const b = new BatchSummary(['a', 'b']);
    b.add([], 0, summarize([], ['a', 'b'])); // 0
    b.add(['a', 'b'], 2, summarize(dets('a', 'b'), ['a', 'b'])); // 1
    expect(b.result()).toEqual({ totalProducts: 2, uniqueSKUs: 2, outOfStock: [], complianceScore: 0.5 });
  });

  it('with no scored photo, the score comes from the labels seen over the batch (1 for an empty list)', () => {
    const b = new BatchSummary(['a', 'b', 'c']);
    b.add(['a'], 1, null);
    b.add(['c'], 1, null);
    expect(b.result()).toEqual({ totalProducts: 2, uniqueSKUs: 2, outOfStock: ['b'], complianceScore: 0.6667 });
    const none = new BatchSummary(['a', 'b', 'c']);
    expect(none.result()).toEqual({ totalProducts: 0, uniqueSKUs: 0, outOfStock: ['a', 'b', 'c'], complianceScore: 0 });
    const empty = new BatchSummary([]);
    empty.add(['x'], 3, null);
    expect(empty.result()).toEqual({ totalProducts: 3, uniqueSKUs: 1, outOfStock: [], complianceScore: 1 });
  });
});
