import fs from 'node:fs/promises';
import crypto from 'node:crypto';
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import exifr from 'exifr';
import { letterboxFor, type Letterbox, type Tile } from '../geometry';
import { PhotoError } from '../errors';
import type { ModelFormat } from '../../../shared/domain';

// Every photo is decoded once: libvips' operation cache would only hold on to memory.
sharp.cache(false);

/** libvips threads per decode (process-wide). The engine sets it per run: parallelism comes from photos in flight. */
export function setDecodeThreads(n: number): void {
  sharp.concurrency(Math.max(1, Math.floor(n)));
}

/** The KLIQ Observations guide: "A photo URL (JPEG/PNG, max 20MB)". */
export const MAX_PHOTO_BYTES = 20 * 1024 * 1024;
/** Decoded size limit: refuses decompression bombs from the header, before any pixel is allocated. */
export const MAX_PHOTO_PIXELS = 100_000_000;

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;

export interface PhotoFile {
  path: string;
  bytes: number;
  /** Modification time of the file as read (with `bytes`, its identity: a file changed later is not served as this photo). */
  mtimeMs: number;
  sha256: string;
  /** Content, only when it is within the size limit. */
  buffer: Buffer | null;
  /** Set when the file is refused before decoding (empty, too large). */
  error: string | null;
}

/**
 * Reads a file once and hashes it. Size and mtime come from the opened file itself, so they belong to
 * the bytes read even if the path is swapped meanwhile. Oversized files are hashed streaming (one
 * observation per content) and refused.
 */
export async function readPhotoFile(file: string): Promise<PhotoFile> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(file, 'r');
  } catch (err) {
    throw new PhotoError(describeFsError(err as NodeJS.ErrnoException));
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new PhotoError('not a regular file');
    const base = { path: file, bytes: st.size, mtimeMs: Math.floor(st.mtimeMs) };
    if (st.size > MAX_PHOTO_BYTES) {
      const hash = crypto.createHash('sha256');
      for await (const chunk of fh.createReadStream({ autoClose: false })) hash.update(chunk as Buffer);
      return { ...base, sha256: hash.digest('hex'), buffer: null, error: `file is ${mb(st.size)}; the limit for a photo is 20 MB` };
    }
    const buffer = await fh.readFile();
    const sha256 = crypto.createHash('sha256').update(buffer).digest('hex');
    if (buffer.length === 0) return { ...base, bytes: 0, sha256, buffer: null, error: 'empty file (0 bytes): not a photo' };
    return { ...base, bytes: buffer.length, sha256, buffer, error: null };
  } catch (err) {
    if (err instanceof PhotoError) throw err;
    throw new PhotoError(describeFsError(err as NodeJS.ErrnoException));
  } finally {
    await fh.close().catch(() => undefined);
  }
}

function describeFsError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT':
      return 'file not found (moved, deleted, or a broken link)';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied: cannot read the file';
    case 'ELOOP':
      return 'symbolic link loop';
    case 'EISDIR':
      return 'is a folder, not a photo';
    default:
      return `cannot read the file: ${err.message}`;
  }
}

export interface PhotoInfo {
  mimeType: 'image/jpeg' | 'image/png';
  /** Size after EXIF orientation (what a viewer shows; boxes are in these pixels). */
  width: number;
  height: number;
  orientation: number;
  latitude: number | null;
  longitude: number | null;
  /** EXIF DateTimeOriginal as ISO 8601 (local time of the camera, with its offset when recorded). */
  capturedAt: string | null;
}

/** Reads the header (format, size, orientation) and EXIF GPS/time; refuses what must not be decoded. */
export async function probePhoto(buffer: Buffer): Promise<PhotoInfo> {
  let meta: Metadata;
  try {
    meta = await sharp(buffer, { limitInputPixels: false }).metadata();
  } catch {
    throw new PhotoError('not a JPEG or PNG image (the content is not a recognised image format)');
  }
  if (meta.format !== 'jpeg' && meta.format !== 'png') {
    throw new PhotoError(`not a JPEG or PNG image (the content is ${meta.format ?? 'an unknown format'})`);
  }
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  if (w <= 0 || h <= 0) throw new PhotoError('the image header has no size: corrupt file');
  if (w * h > MAX_PHOTO_PIXELS) {
    throw new PhotoError(
      `image is ${w}×${h} (${Math.round((w * h) / 1e6)} MP); the limit is ${MAX_PHOTO_PIXELS / 1e6} MP, refused without decoding`,
    );
  }
  const orientation = meta.orientation ?? 1;
  const swap = orientation >= 5 && orientation <= 8;
  const exif = await readExif(buffer);
  return {
    mimeType: meta.format === 'jpeg' ? 'image/jpeg' : 'image/png',
    width: swap ? h : w,
    height: swap ? w : h,
    orientation,
    ...exif,
  };
}

async function readExif(buffer: Buffer): Promise<Pick<PhotoInfo, 'latitude' | 'longitude' | 'capturedAt'>> {
  const none = { latitude: null, longitude: null, capturedAt: null };
  try {
    const tags = (await exifr.parse(buffer, {
      tiff: true,
      exif: true,
      gps: true,
      ifd1: false,
      xmp: false,
      icc: false,
      iptc: false,
      jfif: false,
      ihdr: false,
      reviveValues: false,
      translateValues: false,
    })) as Record<string, unknown> | undefined;
    if (!tags) return none;
    const lat = typeof tags.latitude === 'number' && Number.isFinite(tags.latitude) ? tags.latitude : null;
    const lon = typeof tags.longitude === 'number' && Number.isFinite(tags.longitude) ? tags.longitude : null;
    const raw = (tags.DateTimeOriginal ?? tags.CreateDate ?? null) as string | null;
    const m = typeof raw === 'string' ? /^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(raw) : null;
    const offset =
      typeof tags.OffsetTimeOriginal === 'string' && /^[+-]\d{2}:\d{2}$/.test(tags.OffsetTimeOriginal) ? tags.OffsetTimeOriginal : '';
    const capturedAt = m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${offset}` : null;
    return { latitude: lat, longitude: lon, capturedAt };
  } catch {
    return none; // EXIF is optional: a photo without readable EXIF is still a photo
  }
}

export interface PreparedTensor {
  data: Float32Array;
  letterbox: Letterbox;
}

export interface InputSpec {
  format: ModelFormat;
  width: number;
  height: number;
}

/** Gives a tensor buffer of 3 × width × height floats (the engine reuses the ones the worker hands back). */
export type TensorAlloc = () => Float32Array;

const newTensor =
  (spec: InputSpec): TensorAlloc =>
  () =>
    new Float32Array(3 * spec.width * spec.height);

/** Decodes with EXIF orientation applied into raw 8-bit RGB of exactly width×height (libvips shrinks JPEGs on load). */
async function decodeRgb(buffer: Buffer, width: number, height: number): Promise<{ data: Buffer; width: number; height: number }> {
  let raw: { data: Buffer; info: OutputInfo };
  try {
    raw = await sharp(buffer, { limitInputPixels: MAX_PHOTO_PIXELS, failOn: 'truncated' })
      .rotate()
      .resize(width, height, { fit: 'fill', kernel: 'linear' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new PhotoError(`the image data is corrupt or truncated (${(err as Error).message.split('\n')[0]})`);
  }
  const { width: w, height: h, channels } = raw.info;
  if (channels !== 3 || w !== width || h !== height) throw new PhotoError(`unexpected decoded layout ${w}×${h}×${channels}`);
  return { data: raw.data, width: w, height: h };
}

/**
 * Writes a w×h region of raw RGB (at sx, sy) into an NCHW float tensor at (padX, padY), padding the rest
 * with 114: YOLOX wants BGR 0..255, Ultralytics RGB 0..1.
 */
function fillTensor(
  data: Float32Array,
  src: { data: Buffer; width: number },
  region: { sx: number; sy: number; w: number; h: number; padX: number; padY: number },
  spec: InputSpec,
): void {
  const iw = spec.width;
  const plane = iw * spec.height;
  const bgr = spec.format === 'yolox';
  const k = bgr ? 1 : 1 / 255;
  data.fill(114 * k);
  const c0 = bgr ? 2 : 0; // tensor channel 0 takes source channel c0
  const c2 = bgr ? 0 : 2;
  const px = src.data;
  for (let y = 0; y < region.h; y++) {
    let s = ((region.sy + y) * src.width + region.sx) * 3;
    let d = (y + region.padY) * iw + region.padX;
    for (let x = 0; x < region.w; x++, s += 3, d++) {
      data[d] = px[s + c0] * k;
      data[plane + d] = px[s + 1] * k;
      data[2 * plane + d] = px[s + c2] * k;
    }
  }
}

/** The whole photo, letterboxed into the model input (YOLOX: top-left; Ultralytics: centred). */
export async function preparePhotoTensor(
  buffer: Buffer,
  info: PhotoInfo,
  spec: InputSpec,
  alloc: TensorAlloc = newTensor(spec),
): Promise<PreparedTensor> {
  const lb = letterboxFor(spec.format, info.width, info.height, spec.width, spec.height);
  const rgb = await decodeRgb(buffer, lb.resizedWidth, lb.resizedHeight);
  const data = alloc();
  fillTensor(data, rgb, { sx: 0, sy: 0, w: rgb.width, h: rgb.height, padX: lb.padX, padY: lb.padY }, spec);
  return {
    data,
    letterbox: { scale: lb.scale, padX: lb.padX, padY: lb.padY, offsetX: 0, offsetY: 0, width: info.width, height: info.height },
  };
}

/**
 * Tiles of the photo for tiled inference: one decode at the scale where a tile fills the model input,
 * then each square tile copied into its own tensor.
 */
export async function prepareTileTensors(
  buffer: Buffer,
  info: PhotoInfo,
  spec: InputSpec,
  tiles: readonly Tile[],
  alloc: TensorAlloc = newTensor(spec),
): Promise<PreparedTensor[]> {
  if (tiles.length === 0) return [];
  const size = tiles[0].size;
  const scale = Math.min(spec.width, spec.height) / size;
  const rgb = await decodeRgb(buffer, Math.max(1, Math.round(info.width * scale)), Math.max(1, Math.round(info.height * scale)));
  return tiles.map((t) => {
    const sx = Math.min(Math.round(t.x * scale), rgb.width - 1);
    const sy = Math.min(Math.round(t.y * scale), rgb.height - 1);
    const w = Math.min(spec.width, rgb.width - sx);
    const h = Math.min(spec.height, rgb.height - sy);
    const data = alloc();
    fillTensor(data, rgb, { sx, sy, w, h, padX: 0, padY: 0 }, spec);
    return {
      data,
      letterbox: { scale, padX: 0, padY: 0, offsetX: sx / scale, offsetY: sy / scale, width: info.width, height: info.height },
    };
  });
}
