/**
 * Thumbnails for the Queue's grid and Review's filmstrip: made once with sharp (256 px on the long side,
 * JPEG quality 70, EXIF orientation applied) and kept on disk beside the database, in
 * `<database file>-thumbs/` (next to its -wal and -shm: the desktop app's is in the user-data folder),
 * one file per photo content, named by its sha256: a re-audit, a rename or a second source of the same
 * photo reuses it. The files end in `.thumb`, not `.jpg`, so an audit or a watched folder that contains
 * the database never takes them for photos.
 *
 * Made at audit, from the bytes already read (./audit.ts), and lazily on first request for photos
 * audited before (EngineHost.openThumb, through the same checked door as the photo itself). Lazy
 * requests are bounded: at most THUMB_CONCURRENCY are read and resized at once in this process, the
 * others wait in order, and one whose requester has gone (a grid row scrolled past) is dropped unmade.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import sharp from 'sharp';
import { MAX_PHOTO_PIXELS } from './ingest/photo';

export const THUMB_SIZE = 256;
export const THUMB_QUALITY = 70;

/**
 * A kept smaller copy of a photo: the thumbnail (grid, filmstrip), or a view Review shows at fit zoom.
 *
 * - The view, 2000 px on the long side: half a 12 MP photo's, which libvips decodes from the JPEG at half
 *   scale (2048 would need the full decode, twice the time). The browser decodes and holds a view in a
 *   quarter of the photo's time and memory; zoomed in past it, Review shows the photo itself.
 * - The small view, 1280 px, made from the view: what Review decodes at fit when the photo's area is no
 *   more than 1280 device pixels across (a full-HD laptop at 100–125 %), in 40 % of the view's time. Pressing
 *   straight on through 12 MP photos (bench:review's paint probe, 1440 × 900, two cores, no GPU), keypress
 *   → painted p95 went from 79–82 ms decoding views to 46–47 ms decoding small views, side by side.
 *
 * One cache per kind, files `<sha256>.<kind>`. Views are made after an import (EngineHost.warmViews) and on
 * request, not at audit.
 */
export interface Rendition {
  kind: 'thumb' | 'view' | 'small';
  size: number;
  quality: number;
}
export type RenditionKind = Rendition['kind'];
export const THUMB: Rendition = { kind: 'thumb', size: THUMB_SIZE, quality: THUMB_QUALITY };
export const VIEW: Rendition = { kind: 'view', size: 2000, quality: 80 };
export const SMALL_VIEW: Rendition = { kind: 'small', size: 1280, quality: 80 };
/** Lazy thumbnails made at once per process (each reads a photo of up to 20 MB and decodes it). */
export const THUMB_CONCURRENCY = 2;

const SHA256 = /^[0-9a-f]{64}$/;

/** Where the thumbnails of a database file live; null for an in-memory database (nothing is kept). */
export function thumbsDirFor(dbFile: string): string | null {
  if (!dbFile || dbFile === ':memory:') return null;
  return `${path.resolve(dbFile)}-thumbs`;
}

/** Resizes a photo's bytes into its thumbnail (JPEG). Throws when sharp cannot decode them. */
export async function makeThumbnail(photo: Buffer, r: Rendition = THUMB): Promise<Buffer> {
  return sharp(photo, { limitInputPixels: MAX_PHOTO_PIXELS, failOn: 'none' })
    .rotate()
    .resize(r.size, r.size, { fit: 'inside', withoutEnlargement: true })
    .flatten({ background: '#ffffff' }) // PNGs with alpha: JPEG has none
    .jpeg({ quality: r.quality })
    .toBuffer();
}

/** A small FIFO semaphore; a waiter whose signal aborts leaves the line. */
class Limiter {
  private active = 0;
  private readonly waiting: { start: () => void; signal?: AbortSignal }[] = [];
  constructor(private readonly max: number) {}

  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) throw new ThumbAborted();
    if (this.active >= this.max) {
      await new Promise<void>((resolve, reject) => {
        const entry = {
          signal,
          start: () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
        };
        const onAbort = () => {
          const i = this.waiting.indexOf(entry);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(new ThumbAborted());
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        this.waiting.push(entry);
      });
    } else this.active++;
    try {
      if (signal?.aborted) throw new ThumbAborted();
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next)
        next.start(); // the slot passes on
      else this.active--;
    }
  }
}

export class ThumbAborted extends Error {
  constructor() {
    super('the thumbnail is no longer wanted');
  }
}

/** One limiter per process: every host and cache in it shares the same few slots. */
const lazyLimit = new Limiter(THUMB_CONCURRENCY);

export class ThumbCache {
  /** Thumbnails this cache made with sharp (tests: a cached request makes none). */
  made = 0;
  private readonly inFlight = new Map<string, Promise<Buffer>>();

  /** `dir` null: thumbnails are made on request and not kept. */
  constructor(
    readonly dir: string | null,
    readonly rendition: Rendition = THUMB,
  ) {}

  fileFor(sha256: string): string | null {
    if (!this.dir || !SHA256.test(sha256)) return null;
    return path.join(this.dir, sha256.slice(0, 2), `${sha256}.${this.rendition.kind}`);
  }

  /** The kept thumbnail of a content, or null. */
  async read(sha256: string): Promise<Buffer | null> {
    const file = this.fileFor(sha256);
    if (!file) return null;
    try {
      return await fs.readFile(file);
    } catch {
      return null;
    }
  }

  /**
   * The thumbnail of `sha256`, made from the photo's bytes (given, or fetched by `source`) when it is not
   * kept yet, then kept. Two requests for one content make it once. Writing is best effort (a read-only
   * folder): the bytes are returned all the same.
   */
  async get(sha256: string, source: () => Promise<Buffer>): Promise<Buffer> {
    const kept = await this.read(sha256);
    if (kept) return kept;
    let job = this.inFlight.get(sha256);
    if (!job) {
      job = (async () => {
        const bytes = await makeThumbnail(await source(), this.rendition);
        this.made++;
        await this.keep(sha256, bytes);
        return bytes;
      })().finally(() => this.inFlight.delete(sha256));
      this.inFlight.set(sha256, job);
    }
    return job;
  }

  /** Lazily, for a request: like get(), within the process-wide limit; rejects with ThumbAborted when `signal` aborts first. */
  async getBounded(sha256: string, source: () => Promise<Buffer>, signal?: AbortSignal): Promise<Buffer> {
    const kept = await this.read(sha256);
    if (kept) return kept;
    return lazyLimit.run(() => this.get(sha256, source), signal);
  }

  /** At audit: makes the thumbnail from the bytes just read, unless it is kept already. Never throws. */
  async ensure(sha256: string, photo: Buffer): Promise<void> {
    const file = this.fileFor(sha256);
    if (!file) return;
    try {
      await fs.access(file);
      return;
    } catch {
      // not kept yet
    }
    await this.get(sha256, async () => photo).catch(() => undefined);
  }

  /** Written to a temporary name then renamed: a reader never sees half a thumbnail. */
  private async keep(sha256: string, bytes: Buffer): Promise<void> {
    const file = this.fileFor(sha256);
    if (!file) return;
    const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
    try {
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(tmp, bytes);
      await fs.rename(tmp, file);
    } catch {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
    }
  }
}
