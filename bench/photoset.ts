/**
 * Benchmark photo sets, made from ../shared/photos (never downloaded): each source resized (cover) and
 * encoded once as sRGB JPEG q90 per EXIF orientation 1, 6, 3, 8 (12 sources × 4 = 48 base files), then
 * copied N times with a distinct JPEG comment (COM segment) after SOI: distinct sha256 (distinct
 * observations), identical decode work.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';

export const SIZES = {
  '12mp': [4000, 3000],
  phone: [1920, 1440],
  small: [640, 480],
} as const;
export type SizeName = keyof typeof SIZES;

const ORIENTATIONS = [1, 6, 3, 8];

function sources(photosDir: string): string[] {
  return ['general', 'shelves'].flatMap((sub) =>
    fs
      .readdirSync(path.join(photosDir, sub))
      .filter((f) => /\.(jpe?g|png)$/i.test(f))
      .sort()
      .map((f) => path.join(photosDir, sub, f)),
  );
}

/** A JPEG comment segment (FF FE, big-endian length including its 2 bytes, text) inserted after SOI. */
export function withComment(jpeg: Buffer, text: string): Buffer {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Error('not a JPEG');
  const body = Buffer.from(text, 'ascii');
  const seg = Buffer.alloc(4 + body.length);
  seg.writeUInt16BE(0xfffe, 0);
  seg.writeUInt16BE(body.length + 2, 2);
  body.copy(seg, 4);
  return Buffer.concat([jpeg.subarray(0, 2), seg, jpeg.subarray(2)]);
}

/** The 48 base JPEGs: every source × every orientation, each encoded once. */
async function basePhotos(photosDir: string, size: SizeName): Promise<Buffer[]> {
  const [w, h] = SIZES[size];
  const threads = sharp.concurrency();
  sharp.concurrency(os.availableParallelism()); // the engine's 1 thread per decode would make this slow
  try {
    const bases: Buffer[] = [];
    for (const src of sources(photosDir)) {
      const meta = await sharp(src).metadata();
      const portrait = (meta.height ?? 0) > (meta.width ?? 0);
      const [tw, th] = portrait ? [h, w] : [w, h];
      for (const orientation of ORIENTATIONS) {
        bases.push(
          await sharp(src)
            .resize(tw, th, { fit: 'cover' })
            .removeAlpha()
            .toColourspace('srgb') // greyscale sources too: every file costs a 3-channel decode
            .withMetadata({ orientation })
            .jpeg({ quality: 90 })
            .toBuffer(),
        );
      }
    }
    return bases;
  } finally {
    sharp.concurrency(threads);
  }
}

/**
 * Makes (or reuses) os.tmpdir()/kliq-bench-<size>-<n> with n distinct photos; returns the folder. The set
 * is made beside it and renamed into place, so a folder with `.complete` is always whole.
 */
export async function makePhotoSet(photosDir: string, size: SizeName, n: number, log: (s: string) => void): Promise<string> {
  const dir = path.join(os.tmpdir(), `kliq-bench-${size}-${n}`);
  if (fs.existsSync(path.join(dir, '.complete'))) return dir;
  const t0 = performance.now();
  const bases = await basePhotos(photosDir, size);
  log(`made ${bases.length} base photos at ${size} in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
  const part = `${dir}.part-${process.pid}`;
  fs.rmSync(part, { recursive: true, force: true });
  fs.mkdirSync(part, { recursive: true });
  for (let i = 0; i < n; i++) {
    fs.writeFileSync(path.join(part, `p${String(i).padStart(5, '0')}.jpg`), withComment(bases[i % bases.length], `kliq-bench-${i}`));
  }
  fs.writeFileSync(path.join(part, '.complete'), '');
  if (fs.existsSync(path.join(dir, '.complete'))) {
    fs.rmSync(part, { recursive: true, force: true }); // another run made it meanwhile
  } else {
    fs.rmSync(dir, { recursive: true, force: true }); // an interrupted set
    fs.renameSync(part, dir);
  }
  log(`photo set: ${n} files in ${dir} (${((performance.now() - t0) / 1000).toFixed(1)}s)`);
  return dir;
}
