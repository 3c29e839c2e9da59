/**
 * The three dataset formats, as text: YOLO (Ultralytics layout), COCO, Pascal VOC. Pure functions of
 * the selection; ./index.ts writes them and the images.
 */
import type { ExportBox, ExportPhoto, Selection } from './select';

/** A box inside the image (model boxes may touch or cross its edges by a fraction of a pixel); null when nothing is left. */
export function clipBox(b: { x: number; y: number; width: number; height: number }, w: number, h: number) {
  const x0 = Math.min(Math.max(b.x, 0), w);
  const y0 = Math.min(Math.max(b.y, 0), h);
  const x1 = Math.min(Math.max(b.x + b.width, 0), w);
  const y1 = Math.min(Math.max(b.y + b.height, 0), h);
  return x1 - x0 > 0 && y1 - y0 > 0 ? { x: x0, y: y0, width: x1 - x0, height: y1 - y0 } : null;
}

const r2 = (v: number) => Math.round(v * 100) / 100;
const f6 = (v: number) => v.toFixed(6);

/** A YOLO label file: one `cls cx cy w h` line per box, normalised to 0..1; empty for a photo with no box. */
export function yoloLabel(p: ExportPhoto, classId: (label: string) => number): string {
  const lines: string[] = [];
  for (const b of p.boxes) {
    const c = clipBox(b, p.width, p.height);
    if (!c) continue;
    const cx = (c.x + c.width / 2) / p.width;
    const cy = (c.y + c.height / 2) / p.height;
    lines.push(`${classId(b.label)} ${f6(cx)} ${f6(cy)} ${f6(c.width / p.width)} ${f6(c.height / p.height)}`);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** A YAML double-quoted string (JSON's escapes are valid YAML). */
const yamlString = (s: string) => JSON.stringify(s);

/** Ultralytics' data.yaml: root path, train/val image folders, class names by id. */
export function yoloDataYaml(root: string, classes: Selection['classes'], hasVal: boolean): string {
  return [
    '# KLIQ Audit export, Ultralytics YOLO layout: labels/<split>/<name>.txt beside images/<split>/<name>',
    `path: ${yamlString(root)}  # the dataset root; change it if you move the folder`,
    'train: images/train',
    hasVal ? 'val: images/val' : 'val: images/train  # --split 1: no validation photos, train is reused',
    `nc: ${classes.length}`,
    'names:',
    ...classes.map((c) => `  ${c.id}: ${yamlString(c.name)}`),
    '',
  ].join('\n');
}

export interface CocoFile {
  info: Record<string, unknown>;
  licenses: unknown[];
  images: {
    id: number;
    file_name: string;
    width: number;
    height: number;
    sha256: string;
    kliq_observation_id: string;
    kliq_model: string;
  }[];
  annotations: {
    id: number;
    image_id: number;
    category_id: number;
    bbox: [number, number, number, number];
    area: number;
    iscrowd: 0;
    segmentation: [];
    score: number;
    attributes: { condition?: string };
    kliq_origin: ExportBox['origin'];
    kliq_model: string | null;
  }[];
  categories: { id: number; name: string; supercategory: string; sku?: string }[];
}

/**
 * COCO detection JSON for one split. Ids are stable: image ids from dataset_images, annotation ids are
 * the detection ids, category id = class id + 1 (COCO keeps 0 for background).
 */
export function cocoFile(
  photos: ExportPhoto[],
  fileOf: (p: ExportPhoto) => string,
  classes: Selection['classes'],
  info: Record<string, unknown>,
): CocoFile {
  const ids = new Map(classes.map((c) => [c.name, c.id + 1]));
  return {
    info,
    licenses: [],
    images: photos.map((p) => ({
      id: p.imageId,
      file_name: fileOf(p),
      width: p.width,
      height: p.height,
      sha256: p.sha256,
      kliq_observation_id: p.observationId,
      kliq_model: p.model,
    })),
    annotations: photos.flatMap((p) =>
      p.boxes.flatMap((b) => {
        const c = clipBox(b, p.width, p.height);
        if (!c) return [];
        const bbox: [number, number, number, number] = [r2(c.x), r2(c.y), r2(c.width), r2(c.height)];
        return [
          {
            id: b.detectionId,
            image_id: p.imageId,
            category_id: ids.get(b.label)!,
            bbox,
            area: r2(bbox[2] * bbox[3]),
            iscrowd: 0 as const,
            segmentation: [] as [],
            score: b.confidence,
            attributes: b.condition ? { condition: b.condition } : {},
            kliq_origin: b.origin,
            kliq_model: b.origin === 'drawn' ? null : p.model,
          },
        ];
      }),
    ),
    categories: classes.map((c) => ({
      id: c.id + 1,
      name: c.name,
      supercategory: c.category ?? 'object',
      ...(c.sku ? { sku: c.sku } : {}),
    })),
  };
}

const xml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

/**
 * Pascal VOC XML for one photo. Coordinates are whole pixels, 1-based and inclusive as in the VOC
 * devkit: a box from x to x + w covers pixels round(x) + 1 … round(x + w).
 */
export function vocXml(p: ExportPhoto, fileName: string, depth: number): string {
  const objects = p.boxes.flatMap((b) => {
    const c = clipBox(b, p.width, p.height);
    if (!c) return [];
    const xmin = Math.round(c.x) + 1;
    const ymin = Math.round(c.y) + 1;
    const xmax = Math.max(xmin, Math.round(c.x + c.width));
    const ymax = Math.max(ymin, Math.round(c.y + c.height));
    return [
      [
        '  <object>',
        `    <name>${xml(b.label)}</name>`,
        '    <pose>Unspecified</pose>',
        '    <truncated>0</truncated>',
        '    <difficult>0</difficult>',
        ...(b.condition ? [`    <condition>${b.condition}</condition>`] : []),
        '    <bndbox>',
        `      <xmin>${xmin}</xmin>`,
        `      <ymin>${ymin}</ymin>`,
        `      <xmax>${xmax}</xmax>`,
        `      <ymax>${ymax}</ymax>`,
        '    </bndbox>',
        '  </object>',
      ].join('\n'),
    ];
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<annotation>',
    '  <folder>JPEGImages</folder>',
    `  <filename>${xml(fileName)}</filename>`,
    '  <source>',
    '    <database>KLIQ Audit</database>',
    `    <annotation>${xml(p.observationId)}</annotation>`,
    '  </source>',
    '  <size>',
    `    <width>${p.width}</width>`,
    `    <height>${p.height}</height>`,
    `    <depth>${depth}</depth>`,
    '  </size>',
    '  <segmented>0</segmented>',
    ...objects,
    '</annotation>',
    '',
  ].join('\n');
}
