/**
 * Box geometry shared by ingest (letterbox, tiles), inference (NMS, undoing the letterbox), the tile
 * merge, review and retail analytics: pure functions on boxes in pixels. Bottom layer: imports
 * nothing of the engine.
 */
import type { ModelFormat } from '../../shared/domain';

/**
 * How a photo (or a tile of it) was placed in the model input:
 * input = (photo - offset) * scale + pad. The offset is the tile's corner in photo pixels (0 for the whole photo).
 */
export interface Letterbox {
  scale: number;
  padX: number;
  padY: number;
  offsetX: number;
  offsetY: number;
  /** Oriented photo size in pixels (after EXIF orientation). */
  width: number;
  height: number;
}

/** A candidate box in model-input pixels, corners. */
export interface RawBox {
  classId: number;
  score: number;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export function iou(a: RawBox, b: RawBox): number {
  const ix = Math.max(0, Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1));
  const iy = Math.max(0, Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1));
  const inter = ix * iy;
  const union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return union > 0 ? inter / union : 0;
}

/** Greedy class-wise NMS; returns at most maxDetections boxes, highest score first. */
export function nms(boxes: RawBox[], iouThreshold: number, maxDetections: number): RawBox[] {
  const sorted = [...boxes].sort((a, b) => b.score - a.score);
  const kept: RawBox[] = [];
  const byClass = new Map<number, RawBox[]>();
  for (const box of sorted) {
    if (kept.length >= maxDetections) break;
    const same = byClass.get(box.classId) ?? [];
    if (same.some((k) => iou(k, box) > iouThreshold)) continue;
    same.push(box);
    byClass.set(box.classId, same);
    kept.push(box);
  }
  return kept;
}

/** Model-input pixels → oriented photo pixels, clamped to the photo. */
export function unletterbox(box: RawBox, lb: Letterbox): RawBox {
  const clampX = (v: number) => Math.min(lb.width, Math.max(0, (v - lb.padX) / lb.scale + lb.offsetX));
  const clampY = (v: number) => Math.min(lb.height, Math.max(0, (v - lb.padY) / lb.scale + lb.offsetY));
  return { ...box, x1: clampX(box.x1), y1: clampY(box.y1), x2: clampX(box.x2), y2: clampY(box.y2) };
}

/** Where a photo of size w×h goes in an input of size iw×ih. YOLOX: top-left; Ultralytics: centred. */
export function letterboxFor(
  format: ModelFormat,
  width: number,
  height: number,
  iw: number,
  ih: number,
): Letterbox & { resizedWidth: number; resizedHeight: number } {
  const scale = Math.min(iw / width, ih / height);
  const resizedWidth = Math.max(1, Math.min(iw, Math.round(width * scale)));
  const resizedHeight = Math.max(1, Math.min(ih, Math.round(height * scale)));
  const padX = format === 'yolox' ? 0 : Math.floor((iw - resizedWidth) / 2);
  const padY = format === 'yolox' ? 0 : Math.floor((ih - resizedHeight) / 2);
  return { scale, padX, padY, offsetX: 0, offsetY: 0, width, height, resizedWidth, resizedHeight };
}

/** A square tile of the photo, in photo pixels. */
export interface Tile {
  x: number;
  y: number;
  size: number;
}

/**
 * Overlapping square tiles covering a width×height photo, `perShortSide` of them across its short side
 * (≥ 2), as many as needed along the long side; neighbours overlap by `overlap` (0..0.5) of a tile.
 */
export function tileGrid(width: number, height: number, perShortSide: number, overlap = 0.2): Tile[] {
  const short = Math.min(width, height);
  const n = Math.max(2, Math.floor(perShortSide));
  const size = Math.round(short / (n - (n - 1) * overlap));
  // the 0.02 slack keeps the rounding of `size` from adding a tile
  const count = (len: number) => Math.max(1, Math.ceil((len - size) / (size * (1 - overlap)) - 0.02) + 1);
  const positions = (len: number) => {
    const k = count(len);
    return k === 1 ? [0] : Array.from({ length: k }, (_, i) => Math.round((i * (len - size)) / (k - 1)));
  };
  const tiles: Tile[] = [];
  for (const y of positions(height)) for (const x of positions(width)) tiles.push({ x, y, size });
  return tiles;
}

/** Intersection over the smaller box: a box cut by a tile border lies mostly inside its whole twin. */
export function ios(a: RawBox, b: RawBox): number {
  const ix = Math.max(0, Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1));
  const iy = Math.max(0, Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1));
  const smaller = Math.min((a.x2 - a.x1) * (a.y2 - a.y1), (b.x2 - b.x1) * (b.y2 - b.y1));
  return smaller > 0 ? (ix * iy) / smaller : 0;
}

/**
 * Merges detections from the whole photo (source 0) and its tiles (sources 1..n), in photo pixels.
 * Class-wise, highest score first: a box overlapping a kept one by IoU > iouThreshold is dropped (plain
 * NMS); a tile box lying mostly inside (or around) a kept box from other tiles (IoS > iosThreshold) is
 * merged into it (union of the two), which joins objects cut by a tile border.
 */
export function mergeTiled(
  boxes: (RawBox & { source: number })[],
  iouThreshold: number,
  maxDetections: number,
  iosThreshold = 0.6,
): RawBox[] {
  const sorted = [...boxes].sort((a, b) => b.score - a.score);
  const kept: (RawBox & { sources: Set<number> })[] = [];
  // IoS joins pieces of one object seen by different tiles (source ≥ 1); the whole photo (source 0)
  // only takes part in plain NMS, or a big box there would swallow the small objects inside it
  const joins = (k: RawBox & { sources: Set<number> }, box: RawBox & { source: number }) =>
    box.source !== 0 && !k.sources.has(0) && !k.sources.has(box.source) && ios(k, box) > iosThreshold;
  for (const box of sorted) {
    const twin = kept.find((k) => k.classId === box.classId && (iou(k, box) > iouThreshold || joins(k, box)));
    if (twin) {
      if (joins(twin, box)) {
        twin.x1 = Math.min(twin.x1, box.x1);
        twin.y1 = Math.min(twin.y1, box.y1);
        twin.x2 = Math.max(twin.x2, box.x2);
        twin.y2 = Math.max(twin.y2, box.y2);
        twin.sources.add(box.source);
      }
      continue;
    }
    kept.push({ ...box, sources: new Set([box.source]) });
  }
  return kept.slice(0, maxDetections).map((k) => ({ classId: k.classId, score: k.score, x1: k.x1, y1: k.y1, x2: k.x2, y2: k.y2 }));
}
