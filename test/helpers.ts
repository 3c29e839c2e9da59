import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BoundingBox, Detection } from '../src/shared/domain';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SHARED = path.resolve(ROOT, '..', 'shared');
export const PHOTOS = path.join(SHARED, 'photos');
export const GENERAL = path.join(PHOTOS, 'general');
export const SHELVES = path.join(PHOTOS, 'shelves');
export const SHARED_MODELS = path.join(SHARED, 'models');

if (!fs.existsSync(PHOTOS)) {
  throw new Error(`tests need ../shared beside the project (looked for ${PHOTOS})`);
}

export { removeTmpDirs, tmpDir } from './tmp';

export function iouBox(a: BoundingBox, b: BoundingBox): number {
  const ix = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  const inter = ix * iy;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/** The best IoU of a hand-labelled box among detections of that label. */
export function bestMatch(dets: readonly Detection[], label: string, box: BoundingBox): number {
  return Math.max(0, ...dets.filter((d) => d.objectName === label).map((d) => iouBox(d.boundingBox, box)));
}

export const labelsOf = (dets: readonly Detection[]) => new Set(dets.map((d) => d.objectName));

/**
 * Boxes labelled by hand (by eye, on a 50-px grid drawn over the photo) — independent of the model.
 */
export const HAND_LABELS: Record<string, { label: string; box: BoundingBox }[]> = {
  'dog.jpg': [
    { label: 'dog', box: { x: 133, y: 222, width: 172, height: 318 } },
    { label: 'bicycle', box: { x: 125, y: 135, width: 440, height: 283 } },
  ],
  'person.jpg': [
    { label: 'person', box: { x: 190, y: 98, width: 85, height: 275 } },
    { label: 'horse', box: { x: 405, y: 140, width: 195, height: 205 } },
    { label: 'dog', box: { x: 63, y: 263, width: 142, height: 80 } },
  ],
};

/** Classes the photos clearly contain (PHOTOS.md), that the default detector must find. */
export const EXPECTED_LABELS: Record<string, string[]> = {
  'dog.jpg': ['dog', 'bicycle'],
  'person.jpg': ['person', 'dog', 'horse'],
  'giraffe.jpg': ['giraffe'],
  'coffee.png': ['cup'],
  'chelsea.png': ['cat'],
};
