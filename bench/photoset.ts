/**
 * Benchmark photo sets, made from ../shared/photos (never downloaded): each source re-encoded as JPEG at
 * the chosen size with EXIF orientations 1, 6, 3, 8, then copied N times with a distinct JPEG comment
 * (COM segment) after SOI: distinct sha256 (distinct observations), identical decode work.
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
    fs.readdirSync(path.join(photosDir, sub)).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort().map((f) => path.join(photosDir, sub, f)),
  );
}

/** A JPEG comment segment inserted after SOI. */
function withComment(jpeg: Buffer, text: string): Buffer {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Error('not a JPEG');
  const body = Buffer.from(text, 'ascii');
  const seg = Buffer.alloc(4 + body.length);
  seg.writeUInt16BE(0xfffe, 0);
  seg.writeUInt16BE(body.length + 2, 2);
  body.copy(seg, 4);
  return Buffer.concat([jpeg.subarray(0, 2), seg, jpeg.subarray(2)]);
}

/** Makes (or reuses) os.tmpdir()/kliq-bench-<size>-<n> with n distinct photos; returns the folder. */
export async function makePhotoSet(photosDir: string, size: SizeName, n: number, log: (s: string) => void): Promise<string> {
  const dir = path.join(os.tmpdir(), `kliq-bench-${size}-${n}`);
  const done = path.join(dir, '.complete');
  if (fs.existsSync(done)) return dir;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const [w, h] = SIZES[size];
  const bases: Buffer[] = [];
  const t0 = performance.now();
  for (const src of sources(photosDir)) {
    const meta = await sharp(src).metadata();
    const portrait = (meta.height ?? 0) > (meta.width ?? 0);
    const [tw, th] = portrait ? [h, w] : [w, h];
    const pixels = await sharp(src).resize(tw, th, { fit: 'cover' }).removeAlpha().jpeg({ quality: 90 }).toBuffer();
    for (const orientation of ORIENTATIONS) bases.push(await sharp(pixels).withMetadata({ orientation }).jpeg({ quality: 90 }).toBuffer());
  }
  log(`made ${bases.length} base photos at ${size} in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
  for (let i = 0; i < n; i++) {
    fs.writeFileSync(path.join(dir, `p${String(i).padStart(5, '0')}.jpg`), withComment(bases[i % bases.length], `kliq-bench-${i}`));
  }
  fs.writeFileSync(done, '');
  return dir;
}
