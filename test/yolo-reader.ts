/**
 * A reference reader of YOLO detection datasets, written from the Ultralytics dataset documentation
 * (docs.ultralytics.com/datasets/detect/), not from our writer:
 * - a dataset YAML gives `path` (the root), `train` and `val` (folders of images, relative to `path`),
 *   and `names` (class index → name, as a mapping `0: person` or a list), optionally `nc`;
 * - the label file of an image is found by replacing the last `/images/` of its path with `/labels/`
 *   and its extension with `.txt`;
 * - one row per object, `class x_center y_center width height`, the class a 0-based index into names,
 *   the coordinates normalised by the image width and height (0..1); an image without objects has an
 *   empty label file (or none).
 * It reads the subset of YAML those files use and throws on anything that breaks these rules.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';

const IMAGE_EXTS = new Set(['.bmp', '.jpeg', '.jpg', '.png', '.tif', '.tiff', '.webp', '.mpo', '.dng', '.pfm', '.heic']);

export interface YoloObject {
  cls: number;
  name: string;
  /** In pixels of the image as oriented. */
  box: { x: number; y: number; width: number; height: number };
}
export interface YoloImage {
  image: string;
  labelFile: string | null;
  width: number;
  height: number;
  objects: YoloObject[];
}
export interface YoloDataset {
  root: string;
  names: string[];
  splits: Record<'train' | 'val', YoloImage[]>;
}

function scalar(raw: string): string {
  let v = raw.trim();
  if (v.startsWith('"')) {
    const end = v.lastIndexOf('"');
    return JSON.parse(v.slice(0, end + 1)) as string;
  }
  if (v.startsWith("'")) return v.slice(1, v.indexOf("'", 1)).replace(/''/g, "'");
  const hash = v.search(/\s#/);
  if (hash >= 0) v = v.slice(0, hash).trim();
  return v;
}

/** The YAML subset of dataset files: top-level `key: scalar`, and `names:` as an indented mapping or list, or a flow list. */
export function parseDatasetYaml(text: string): { keys: Record<string, string>; names: string[] } {
  const keys: Record<string, string> = {};
  const named = new Map<number, string>();
  const listed: string[] = [];
  let inNames = false;
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim() || line.trim().startsWith('#')) continue;
    const indented = /^\s/.test(line);
    if (indented && inNames) {
      const item = line.trim();
      const m = /^(\d+)\s*:\s*(.+)$/.exec(item);
      if (m) named.set(Number(m[1]), scalar(m[2]));
      else if (item.startsWith('- ')) listed.push(scalar(item.slice(2)));
      else throw new Error(`data.yaml: cannot read names entry "${item}"`);
      continue;
    }
    inNames = false;
    const m = /^([A-Za-z_][\w-]*)\s*:\s*(.*)$/.exec(line);
    if (!m) throw new Error(`data.yaml: cannot read line "${line}"`);
    if (m[1] === 'names') {
      const v = scalar(m[2]);
      if (v.startsWith('['))
        listed.push(
          ...v
            .slice(1, -1)
            .split(',')
            .map((s) => scalar(s)),
        );
      else inNames = true;
    } else keys[m[1]] = scalar(m[2]);
  }
  let names = listed;
  if (named.size) {
    names = [];
    for (let i = 0; i < named.size; i++) {
      if (!named.has(i)) throw new Error(`data.yaml: names are not indexed 0..${named.size - 1} (no ${i})`);
      names.push(named.get(i)!);
    }
  }
  return { keys, names };
}

/** The label file Ultralytics reads for an image: last /images/ → /labels/, extension → .txt. */
export function labelPathOf(image: string): string {
  const sep = `${path.sep}images${path.sep}`;
  const i = image.lastIndexOf(sep);
  if (i < 0) throw new Error(`${image}: not under an images/ folder`);
  const p = image.slice(0, i) + `${path.sep}labels${path.sep}` + image.slice(i + sep.length);
  return p.slice(0, p.length - path.extname(p).length) + '.txt';
}

function walk(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]))
    .sort();
}

export async function readYoloDataset(yamlFile: string): Promise<YoloDataset> {
  const { keys, names } = parseDatasetYaml(fs.readFileSync(yamlFile, 'utf8'));
  if (!names.length) throw new Error('data.yaml: no names');
  if (keys.nc !== undefined && Number(keys.nc) !== names.length) throw new Error(`data.yaml: nc ${keys.nc} but ${names.length} names`);
  const root = keys.path ? path.resolve(path.dirname(yamlFile), keys.path) : path.dirname(yamlFile);
  const splits = { train: [] as YoloImage[], val: [] as YoloImage[] };
  for (const split of ['train', 'val'] as const) {
    if (!keys[split]) throw new Error(`data.yaml: no ${split}`);
    const dir = path.resolve(root, keys[split]);
    if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`data.yaml: ${split} folder ${dir} does not exist`);
    for (const image of walk(dir).filter((f) => IMAGE_EXTS.has(path.extname(f).toLowerCase()))) {
      const meta = await sharp(image).metadata();
      const swap = (meta.orientation ?? 1) >= 5;
      const width = swap ? meta.height! : meta.width!;
      const height = swap ? meta.width! : meta.height!;
      const labelFile = labelPathOf(image);
      const objects: YoloObject[] = [];
      const exists = fs.existsSync(labelFile);
      if (exists) {
        const lines = fs
          .readFileSync(labelFile, 'utf8')
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean);
        for (const [n, line] of lines.entries()) {
          const f = line.split(/\s+/);
          if (f.length !== 5) throw new Error(`${labelFile}:${n + 1}: ${f.length} columns, a detection row has 5`);
          const [cls, cx, cy, w, h] = f.map(Number);
          if (!Number.isInteger(cls) || cls < 0 || cls >= names.length)
            throw new Error(`${labelFile}:${n + 1}: class ${f[0]} not in 0..${names.length - 1}`);
          for (const v of [cx, cy, w, h])
            if (!(v >= 0 && v <= 1)) throw new Error(`${labelFile}:${n + 1}: ${line}: coordinates must be normalised (0..1)`);
          if (w === 0 || h === 0) throw new Error(`${labelFile}:${n + 1}: a box without area`);
          objects.push({
            cls,
            name: names[cls],
            box: { x: (cx - w / 2) * width, y: (cy - h / 2) * height, width: w * width, height: h * height },
          });
        }
      }
      splits[split].push({ image, labelFile: exists ? labelFile : null, width, height, objects });
    }
  }
  return { root, names, splits };
}
