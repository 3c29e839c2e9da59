import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { z } from 'zod';
import { projectRoot, userDataDir } from '../paths';
import { readOnnxMetadata, parseUltralyticsNames } from './onnx-metadata';
import { ConfigError } from '../errors';
import type { ModelFormat } from '../../../shared/domain';

export const ManifestEntrySchema = z.object({
  name: z.string().min(1),
  file: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().positive(),
  url: z.string().url().nullable(),
  license: z.string(),
  format: z.enum(['yolox', 'ultralytics']),
  inputSize: z.tuple([z.number().int().positive(), z.number().int().positive()]),
  description: z.string().optional(),
  labels: z.array(z.string()).min(1),
});
export type ManifestEntry = z.infer<typeof ManifestEntrySchema>;

export const ManifestSchema = z.object({
  default: z.string(),
  models: z.array(ManifestEntrySchema).min(1),
});
export type Manifest = z.infer<typeof ManifestSchema>;

/** Where the manifest lives (read-only in an installed app). */
export function manifestDir(): string {
  return path.join(projectRoot(), 'models');
}

/**
 * Where model files go: $KLIQ_MODELS_DIR, else models/ beside the manifest when it is writable (a
 * checkout), else the app's user-data folder (an installed app, whose own folder is read-only).
 */
export function modelsDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KLIQ_MODELS_DIR) return path.resolve(env.KLIQ_MODELS_DIR);
  const dir = manifestDir();
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return dir;
  } catch {
    return path.join(userDataDir(env), 'models');
  }
}

export function loadManifest(dir = manifestDir()): Manifest {
  const file = path.join(dir, 'manifest.json');
  return ManifestSchema.parse(JSON.parse(fs.readFileSync(file, 'utf8')));
}

/** Mirror folders tried before the source URL: $KLIQ_MODELS_MIRROR, then ../shared/models beside the project. */
export function mirrorDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs: string[] = [];
  if (env.KLIQ_MODELS_MIRROR) dirs.push(path.resolve(env.KLIQ_MODELS_MIRROR));
  const shared = path.resolve(projectRoot(), '..', 'shared', 'models');
  if (fs.existsSync(shared)) dirs.push(shared);
  return dirs;
}

export async function sha256File(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export interface FetchOptions {
  dir?: string;
  mirrors?: string[];
  /** Download timeout per model. */
  timeoutMs?: number;
  log?: (line: string) => void;
}

/** Makes sure `entry.file` is in the models folder with the right sha256; copies from a mirror or downloads. */
export async function ensureModelFile(entry: ManifestEntry, opts: FetchOptions = {}): Promise<string> {
  const dir = opts.dir ?? modelsDir();
  fs.mkdirSync(dir, { recursive: true });
  const target = path.join(dir, entry.file);
  const log = opts.log ?? (() => {});
  if (fs.existsSync(target)) {
    const sum = await sha256File(target);
    if (sum === entry.sha256) return target;
    throw new ConfigError(
      `${target} has sha256 ${sum}, but the manifest expects ${entry.sha256}. ` +
        `Delete the file and run \`npm run models\` to fetch it again.`,
    );
  }
  const tried: string[] = [];
  const tmp = `${target}.part-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  try {
    for (const mirror of opts.mirrors ?? mirrorDirs()) {
      const candidate = path.join(mirror, entry.file);
      if (!fs.existsSync(candidate)) {
        tried.push(`${candidate}: not found`);
        continue;
      }
      fs.copyFileSync(candidate, tmp);
      const sum = await sha256File(tmp);
      if (sum !== entry.sha256) {
        tried.push(`${candidate}: sha256 ${sum} does not match`);
        fs.rmSync(tmp, { force: true });
        continue;
      }
      fs.renameSync(tmp, target);
      log(`model ${entry.name}: copied from ${mirror}`);
      return target;
    }
    if (entry.url) {
      try {
        log(`model ${entry.name}: downloading ${entry.url}`);
        const res = await fetch(entry.url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 120_000), redirect: 'follow' });
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        fs.writeFileSync(tmp, Buffer.from(await res.arrayBuffer()));
        const sum = await sha256File(tmp);
        if (sum !== entry.sha256) {
          tried.push(`${entry.url}: sha256 ${sum} does not match the manifest`);
        } else {
          fs.renameSync(tmp, target);
          return target;
        }
      } catch (err) {
        tried.push(`${entry.url}: ${(err as Error).cause ? String((err as Error).cause) : (err as Error).message}`);
      }
    } else {
      tried.push('no source URL in the manifest (mirror only)');
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  throw new ConfigError(
    `cannot get model ${entry.name} (${entry.file}):\n  - ${tried.join('\n  - ')}\n` +
      `Fix: put ${entry.file} (sha256 ${entry.sha256}) in ${dir}, ` +
      'or point KLIQ_MODELS_MIRROR at a folder that has it, then run `npm run models`.',
  );
}

/** What the engine needs to run a model: file, format, input size and labels (from the model where it has them). */
export interface ResolvedModel {
  name: string;
  path: string;
  sha256: string | null;
  format: ModelFormat;
  inputSize: [number, number];
  labels: string[];
}

/**
 * `nameOrFile` is a manifest name or a path to an .onnx file. A file path not in the manifest must be an
 * Ultralytics export (its labels and size come from its metadata) unless `format` says otherwise.
 */
export async function resolveModel(
  nameOrFile: string | undefined,
  opts: FetchOptions & { format?: ModelFormat } = {},
): Promise<ResolvedModel> {
  const manifest = loadManifest();
  const wanted = nameOrFile ?? manifest.default;
  const entry = manifest.models.find((m) => m.name === wanted);
  if (entry) {
    const file = await ensureModelFile(entry, opts);
    return withModelMetadata({
      name: entry.name,
      path: file,
      sha256: entry.sha256,
      format: entry.format,
      inputSize: entry.inputSize,
      labels: entry.labels,
    });
  }
  const file = path.resolve(wanted);
  if (!fs.existsSync(file)) {
    throw new ConfigError(
      `unknown model "${wanted}": not a manifest name (${manifest.models.map((m) => m.name).join(', ')}) and no such file.`,
    );
  }
  const byFile = manifest.models.find((m) => m.file === path.basename(file));
  const format = opts.format ?? byFile?.format ?? 'ultralytics';
  return withModelMetadata({
    name: path.basename(file, '.onnx'),
    path: file,
    // identifies the weights, so a retrained file with the same name is not taken for the old one
    sha256: await sha256File(file),
    format,
    inputSize: byFile?.inputSize ?? [0, 0],
    labels: byFile?.labels ?? [],
  });
}

/** Ultralytics exports carry `names` and `imgsz`: those win over the manifest. */
function withModelMetadata(model: ResolvedModel): ResolvedModel {
  let props: Record<string, string>;
  try {
    props = readOnnxMetadata(fs.readFileSync(model.path));
  } catch (err) {
    throw new ConfigError(`${model.path} is not a readable ONNX model: ${(err as Error).message}`);
  }
  const labels = props.names ? parseUltralyticsNames(props.names) : model.labels;
  let inputSize = model.inputSize;
  if (props.imgsz) {
    const nums = props.imgsz.match(/\d+/g)?.map(Number) ?? [];
    if (nums.length === 2)
      inputSize = [nums[1], nums[0]]; // imgsz is [h, w]
    else if (nums.length === 1) inputSize = [nums[0], nums[0]];
  }
  if (labels.length === 0) throw new ConfigError(`${model.path} has no class names: add it to models/manifest.json with its labels.`);
  return { ...model, labels, inputSize };
}
