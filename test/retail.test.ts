/** Retail analytics, pure (src/shared/retail.ts): rows, positions, facings, price tags per product, compliance, price parsing. */
import { describe, expect, it } from 'vitest';
import { compliance, parsePrice, retailAttributes, shelfPosition, shelfRows, skuResolver } from '../src/shared/retail';

const box = (x: number, y: number, width = 40, height = 100) => ({ x, y, width, height });
const det = (objectName: string, b: ReturnType<typeof box>) => ({ objectName, boundingBox: b });

describe('shelf rows', () => {
  it('clusters box bottoms into rows numbered from the top, whatever the order given', () => {
    // bottoms: 200, 205, 198 (row 1); 400, 410 (row 2); 600 (row 3)
    const boxes = [box(0, 300, 40, 100), box(50, 100, 40, 100), box(100, 310, 40, 100), box(0, 500), box(60, 105), box(120, 98)];
    const r = shelfRows(boxes, 1000);
    expect(r.count).toBe(3);
    expect(r.rows).toEqual([2, 1, 2, 3, 1, 1]);
  });

  it('cuts at a gap over 35 % of the median height, not under it', () => {
    expect(shelfRows([box(0, 0, 40, 100), box(50, 34, 40, 100)], 100).count).toBe(1); // gap 34 < 35
    expect(shelfRows([box(0, 0, 40, 100), box(50, 36, 40, 100)], 100).count).toBe(2); // gap 36 > 35
    expect(shelfRows([], 100)).toEqual({ rows: [], count: 0 });
  });

  it('positions rows: top, eye-level, middle, bottom by quarter; one row is eye-level', () => {
    expect([1, 2, 3, 4].map((r) => shelfPosition(r, 4))).toEqual(['top', 'eye-level', 'middle', 'bottom']);
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((r) => shelfPosition(r, 8))).toEqual([
      'top',
      'top',
      'eye-level',
      'eye-level',
      'middle',
      'middle',
      'bottom',
      'bottom',
    ]);
    expect(shelfPosition(1, 1)).toBe('eye-level');
    expect([1, 2].map((r) => shelfPosition(r, 2))).toEqual(['eye-level', 'bottom']);
  });
});

describe('facings', () => {
  it('counts adjacent boxes of one SKU in a row as one block, on every member', () => {
    const dets = [
      det('cola', box(0, 0)),
      det('cola', box(45, 0)),
      det('cola', box(90, 0)),
      det('pepsi', box(135, 0)),
      det('cola', box(180, 0)), // same SKU again after another: a new block
      det('cola', box(400, 0)), // far (gap 180 > half the mean width): a new block
      det('cola', box(45, 300)), // another row
    ];
    const a = retailAttributes(dets, { width: 1000, height: 1000 }, []);
    expect(a.map((x) => x.facings)).toEqual([3, 3, 3, 1, 1, 1, 1]);
    expect(new Set(a.slice(0, 3).map((x) => x.facingsBlock)).size).toBe(1);
    expect(new Set(a.map((x) => x.facingsBlock)).size).toBe(5);
    expect(a.map((x) => x.shelfRow)).toEqual([1, 1, 1, 1, 1, 1, 2]);
  });

  it('groups by catalog SKU: two labels mapped to one SKU are one block; SKU given when mapped', () => {
    const catalog = [{ sku: 'C330', name: 'Cola 330ml', modelLabel: 'bottle' }];
    const a = retailAttributes(
      [det('bottle', box(0, 0)), det('Cola 330ml', box(45, 0)), det('cup', box(90, 0))],
      { width: 500, height: 500 },
      catalog,
    );
    expect(a.map((x) => [x.sku, x.facings])).toEqual([
      ['C330', 2],
      ['C330', 2],
      [null, 1],
    ]);
  });

  it('a model label two SKUs claim stays unresolved; a name or SKU code resolves', () => {
    const r = skuResolver([
      { sku: 'A', name: 'Alpha', modelLabel: 'bottle' },
      { sku: 'B', name: 'Beta', modelLabel: 'bottle' },
    ]);
    expect(r('bottle')).toBeNull();
    expect(r('Alpha')?.sku).toBe('A');
    expect(r('B')?.name).toBe('Beta');
    expect(r('cup')).toBeNull();
  });
});

describe('price tags per product', () => {
  const tag = (x: number, y: number, price: string) => ({ x, y, width: 30, height: 12, price });
  it('takes the nearest tag under the product; members of a block share it; none is null', () => {
    const dets = [det('a', box(0, 0)), det('a', box(45, 0)), det('b', box(200, 0)), det('c', box(400, 0))];
    const tags = [tag(5, 104, '2.49'), tag(205, 130, '3.99'), tag(205, 300, '9.99'), tag(400, -50, '1.00')];
    const a = retailAttributes(dets, { width: 600, height: 400 }, [], tags);
    expect(a.map((x) => x.priceTag)).toEqual(['2.49', '2.49', '3.99', null]);
  });
});

describe('compliance', () => {
  const plan = [
    { sku: 'A', name: 'Alpha', expectedFacings: 2, expectedRow: 1 },
    { sku: 'B', name: 'Beta', expectedFacings: 1, expectedRow: null },
    { sku: 'C', name: 'Gamma', expectedFacings: 3, expectedRow: 2 },
    { sku: 'D', name: 'Delta', expectedFacings: 1, expectedRow: 3 },
  ];
  it('is the share of expected SKUs present, with their facings, in their row; parts say why', () => {
    const found = [
      { sku: 'A', shelfRow: 1 },
      { sku: 'A', shelfRow: 1 },
      { sku: 'B', shelfRow: 4 },
      { sku: 'C', shelfRow: 2 }, // 1 of 3 facings
      { sku: 'D', shelfRow: 2 }, // wrong row
      { sku: null, shelfRow: 1 },
    ];
    const c = compliance(plan, found);
    expect(c.score).toBe(0.5);
    expect(c.outOfStock).toEqual([]);
    expect(c.items.map((i) => [i.sku, i.present, i.facingsOk, i.rowOk, i.compliant, i.foundFacings, i.foundRows])).toEqual([
      ['A', true, true, true, true, 2, [1]],
      ['B', true, true, true, true, 1, [4]],
      ['C', true, false, true, false, 1, [2]],
      ['D', true, true, false, false, 1, [2]],
    ]);
  });
  it('lists expected SKUs not seen as out of stock, by name; 1 with no expected SKU', () => {
    const c = compliance(plan, [{ sku: 'A', shelfRow: 1 }]);
    expect(c.outOfStock).toEqual(['Beta', 'Gamma', 'Delta']);
    expect(c.score).toBe(0);
    expect(compliance([], []).score).toBe(1);
    expect(
      compliance(plan.slice(0, 3), [
        { sku: 'A', shelfRow: 1 },
        { sku: 'A', shelfRow: 1 },
      ]).score,
    ).toBe(0.3333);
  });
});

describe('parsePrice', () => {
  it.each([
    ['6.73', '6.73'],
    ['11.98', '11.98'],
    ['$2,49', '2.49'],
    ['£14.99', '14.99'],
    ['E10', '10.00'],
    ['£3', '3.00'],
    ['Sale 26.99', '26.99'],
    ['05.98', '5.98'],
  ])('%s → %s', (text, price) => expect(parsePrice(text)).toBe(price));
  it.each(['15', '3,000', '3.000', '12345.67', 'COSTA RICA', '', '71318', '1.2.34'])('%s is not a price', (text) =>
    expect(parsePrice(text)).toBeNull(),
  );
});
