import fs from 'node:fs/promises';
import crypto from 'node:crypto';
import { createReadStream } from 'node:fs';
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import exifr from 'exifr';
import { letterboxFor, type Letterbox, type ModelFormat } from '../inference/decode';

/** The KLIQ Observations guide: "A photo URL (JPEG/PNG, max 20MB)". */
export const MAX_PHOTO_BYTES = 20 * 1024 * 1024;
/** Decoded size limit: refuses decompression bombs from the header, before any pixel is allocated. */
export const MAX_PHOTO_PIXELS = 100_000_000;

/** A per-photo problem: the photo fails with this message, the batch goes on. */
export class PhotoError extends Error {
  override name = 'PhotoError';
}

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;

export interface PhotoFile {
  path: string;
  bytes: number;
  sha256: string;
  /** Content, only when it is within the size limit. */
  buffer: Buffer | null;
  /** Set when the file is refused before decoding (empty, too large). */
  error: string | null;
}

async function hashStream(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Reads a file once and hashes it. Oversized files are hashed streaming (one observation per content) and refused. */
export async function readPhotoFile(file: string): Promise<PhotoFile> {
  let size: number;
  try {
    const st = await fs.stat(file);
    if (!st.isFile()) throw new PhotoError('not a regular file');
    size = st.size;
  } catch (err) {
    if (err instanceof PhotoError) throw err;
    throw new PhotoError(describeFsError(err as NodeJS.ErrnoException));
  }
  try {
    if (size > MAX_PHOTO_BYTES) {
      return { path: file, bytes: size, sha256: await hashStream(file), buffer: null, error: `file is ${mb(size)}; the limit for a photo is 20 MB` };
    }
    const buffer = await fs.readFile(file);
    const sha256 = crypto.createHash('sha256').update(buffer).digest('hex');
    if (buffer.length === 0) return { path: file, bytes: 0, sha256, buffer: null, error: 'empty file (0 bytes): not a photo' };
    return { path: file, bytes: buffer.length, sha256, buffer, error: null };
  } catch (err) {
    throw new PhotoError(describeFsError(err as NodeJS.ErrnoException));
  }
}

function describeFsError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT': return 'file not found (moved, deleted, or a broken link)';
    case 'EACCES':
    case 'EPERM': return 'permission denied: cannot read the file';
    case 'ELOOP': return 'symbolic link loop';
    case 'EISDIR': return 'is a folder, not a photo';
    default: return `cannot read the file: ${err.message}`;
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
    throw new PhotoError(`image is ${w}×${h} (${Math.round((w * h) / 1e6)} MP); the limit is ${MAX_PHOTO_PIXELS / 1e6} MP, refused without decoding`);
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
      tiff: true, exif: true, gps: true, ifd1: false, xmp: false, icc: false, iptc: false, jfif: false, ihdr: false,
      reviveValues: false, translateValues: false,
    })) as Record<string, unknown> | undefined;
    if (!tags) return none;
    const lat = typeof tags.latitude === 'number' && Number.isFinite(tags.latitude) ? tags.latitude : null;
    const lon = typeof tags.longitude === 'number' && Number.isFinite(tags.longitude) ? tags.longitude : null;
    const raw = (tags.DateTimeOriginal ?? tags.CreateDate ?? null) as string | null;
    const m = typeof raw === 'string' ? /^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(raw) : null;
    const offset = typeof tags.OffsetTimeOriginal === 'string' && /^[+-]\d{2}:\d{2}$/.test(tags.OffsetTimeOriginal) ? tags.OffsetTimeOriginal : '';
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

/**
 * Decodes (EXIF orientation applied, JPEG shrink-on-load by libvips), resizes into the letterbox and
 * writes the NCHW float tensor the model expects: YOLOX BGR 0..255 top-left, Ultralytics RGB 0..1 centred,
 * padding 114.
 */
export async function preparePhotoTensor(buffer: Buffer, info: PhotoInfo, spec: InputSpec): Promise<PreparedTensor> {
  const lb = letterboxFor(spec.format, info.width, info.height, spec.width, spec.height);
  let raw: { data: Buffer; info: OutputInfo };
  try {
    raw = await sharp(buffer, { limitInputPixels: MAX_PHOTO_PIXELS, failOn: 'truncated' })
      .rotate()
      .resize(lb.resizedWidth, lb.resizedHeight, { fit: 'fill', kernel: 'linear' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new PhotoError(`the image data is corrupt or truncated (${(err as Error).message.split('\n')[0]})`);
  }
  const { width: rw, height: rh, channels } = raw.info;
  if (channels !== 3 || rw !== lb.resizedWidth || rh !== lb.resizedHeight) {
    throw new PhotoError(`unexpected decoded layout ${rw}×${rh}×${channels}`);
  }
  const iw = spec.width;
  const ih = spec.height;
  const plane = iw * ih;
  const data = new Float32Array(3 * plane);
  const bgr = spec.format === 'yolox';
  const k = bgr ? 1 : 1 / 255;
  data.fill(114 * k);
  const src = raw.data;
  // channel c of the tensor takes source channel order[c]
  const c0 = bgr ? 2 : 0;
  const c2 = bgr ? 0 : 2;
  for (let y = 0; y < rh; y++) {
    let s = y * rw * 3;
    let d = (y + lb.padY) * iw + lb.padX;
    for (let x = 0; x < rw; x++, s += 3, d++) {
      data[d] = src[s + c0] * k;
      data[plane + d] = src[s + 1] * k;
      data[2 * plane + d] = src[s + c2] * k;
    }
  }
  return { data, letterbox: { scale: lb.scale, padX: lb.padX, padY: lb.padY, width: info.width, height: info.height } };
}
