/** Box arithmetic in photo pixels (the oriented photo's naturalWidth × naturalHeight space). */
import type { BoundingBox } from '../../../shared/domain';

export type Corner = 'nw' | 'ne' | 'sw' | 'se';
export type Edge = 'n' | 's' | 'w' | 'e';
/** A resize handle: a corner moves two edges, an edge's midpoint one. */
export type Handle = Corner | Edge;
export const HANDLES: readonly Handle[] = ['nw', 'ne', 'sw', 'se', 'n', 's', 'w', 'e'];
export const MIN_BOX = 2;

export interface Size {
  width: number;
  height: number;
}

const round = (v: number) => Math.round(v * 10) / 10;

export function roundBox(b: BoundingBox): BoundingBox {
  return { x: round(b.x), y: round(b.y), width: round(b.width), height: round(b.height) };
}

/** Moves a box by (dx, dy), kept inside the photo. */
export function moveBox(b: BoundingBox, dx: number, dy: number, size: Size): BoundingBox {
  const x = Math.min(Math.max(0, b.x + dx), Math.max(0, size.width - b.width));
  const y = Math.min(Math.max(0, b.y + dy), Math.max(0, size.height - b.height));
  return { ...b, x, y };
}

/** The box spanned by two points, clipped to the photo. */
export function boxFromPoints(ax: number, ay: number, bx: number, by: number, size: Size): BoundingBox {
  const x0 = clamp(Math.min(ax, bx), 0, size.width);
  const y0 = clamp(Math.min(ay, by), 0, size.height);
  const x1 = clamp(Math.max(ax, bx), 0, size.width);
  const y1 = clamp(Math.max(ay, by), 0, size.height);
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/**
 * Drags a handle to (px, py): the edges it holds follow the point (inside the photo), the others stay
 * exactly where they were (an edge handle changes one edge only).
 */
export function resizeBox(b: BoundingBox, handle: Handle, px: number, py: number, size: Size): BoundingBox {
  let [x0, y0, x1, y1] = [b.x, b.y, b.x + b.width, b.y + b.height];
  const x = clamp(px, 0, size.width);
  const y = clamp(py, 0, size.height);
  if (handle.includes('w')) x0 = x;
  if (handle.includes('e')) x1 = x;
  if (handle.includes('n')) y0 = y;
  if (handle.includes('s')) y1 = y;
  // dragged past the opposite edge: the box flips
  const left = Math.min(x0, x1);
  const top = Math.min(y0, y1);
  return { x: left, y: top, width: Math.max(MIN_BOX, Math.max(x0, x1) - left), height: Math.max(MIN_BOX, Math.max(y0, y1) - top) };
}

/** Where a handle sits on the box: a corner, or the middle of an edge. */
export function handlePoint(b: BoundingBox, h: Handle): [number, number] {
  const x = h.includes('w') ? b.x : h.includes('e') ? b.x + b.width : b.x + b.width / 2;
  const y = h.includes('n') ? b.y : h.includes('s') ? b.y + b.height : b.y + b.height / 2;
  return [x, y];
}

export function sameBox(a: BoundingBox, b: BoundingBox): boolean {
  return (
    Math.abs(a.x - b.x) < 0.05 && Math.abs(a.y - b.y) < 0.05 && Math.abs(a.width - b.width) < 0.05 && Math.abs(a.height - b.height) < 0.05
  );
}

export function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/**
 * Twenty colours far apart in hue and lightness (Kelly's and Tableau's), readable on photos with a dark
 * label text or outline. A hue from a hash put bottle, book, refrigerator and cat in one pink.
 */
export const LABEL_PALETTE = [
  '#e6194b',
  '#3cb44b',
  '#ffe119',
  '#4363d8',
  '#f58231',
  '#911eb4',
  '#46f0f0',
  '#f032e6',
  '#bcf60c',
  '#fabebe',
  '#008080',
  '#e6beff',
  '#9a6324',
  '#fffac8',
  '#800000',
  '#aaffc3',
  '#808000',
  '#ffd8b1',
  '#000075',
  '#a9a9a9',
] as const;

/** A stable colour per label from LABEL_PALETTE (the same label, the same colour, on every photo and screen). */
export function labelColor(label: string): string {
  let h = 2166136261;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 16777619) >>> 0;
  return LABEL_PALETTE[h % LABEL_PALETTE.length];
}
