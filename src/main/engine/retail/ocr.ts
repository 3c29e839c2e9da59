/**
 * Price tags by OCR, off the main thread: the engine's handle on the OCR worker (./ocr-worker.ts).
 * The photo is oriented (EXIF) and scaled by `scale` here with sharp (libuv threads, not the main
 * thread), encoded as JPEG and handed to the worker, which returns the tags it read as prices, in
 * photo pixels.
 */
import fs from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { startWorker } from '../inference/client';
import type { PriceTagRead } from '../../../shared/retail';
import type { OcrRequest, OcrResponse } from './ocr-protocol';

/** Photos are read at 1.5× (measured on the shelf photos: recall 0.40 at 1.5×, 0.28 at 1×; README "Price tags"). */
export const OCR_SCALE = 1.5;

export function defaultOcrEntry(): URL {
  const js = new URL('./ocr-worker.js', import.meta.url);
  return fs.existsSync(fileURLToPath(js)) ? js : new URL('./ocr-worker.ts', import.meta.url);
}

export interface OcrResult {
  tags: PriceTagRead[];
  /** Texts read in all (prices and others). */
  texts: number;
  ms: number;
}

export class PriceTagReader {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (r: OcrResult) => void; reject: (e: Error) => void }>();
  private readonly readyPromise: Promise<void>;
  private nextId = 1;
  private fatal: Error | null = null;
  private exited = false;

  constructor(
    private readonly opts: { intraOpThreads?: number; scale?: number } = {},
    entry: URL | string = defaultOcrEntry(),
  ) {
    this.worker = startWorker(entry);
    this.readyPromise = new Promise<void>((resolve, reject) => {
      this.worker.on('message', (m: OcrResponse) => {
        if (m.type === 'ready') resolve();
        else if (m.type === 'error' && m.id === null) reject(new Error(m.message));
        else if (m.type === 'result' || m.type === 'error') {
          const p = this.pending.get(m.id!);
          this.pending.delete(m.id!);
          if (m.type === 'result') p?.resolve({ tags: m.tags, texts: m.texts, ms: m.ms });
          else p?.reject(new Error(m.message));
        }
      });
      const die = (err: Error) => {
        this.fatal ??= err;
        reject(err);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      };
      this.worker.on('error', die);
      this.worker.on('exit', (code) => {
        this.exited = true;
        if (code !== 0 || this.pending.size) die(new Error(`the OCR worker stopped (exit code ${code})`));
      });
    });
    this.readyPromise.catch(() => {});
    this.worker.postMessage({ type: 'init', intraOpThreads: opts.intraOpThreads ?? 1 } satisfies OcrRequest);
  }

  ready(): Promise<void> {
    return this.readyPromise;
  }

  /** The price tags on a photo (its file bytes). */
  async read(photo: Buffer): Promise<OcrResult> {
    const scale = this.opts.scale ?? OCR_SCALE;
    const meta = await sharp(photo).metadata();
    const oriented = (meta.orientation ?? 1) >= 5 ? { w: meta.height!, h: meta.width! } : { w: meta.width!, h: meta.height! };
    const encoded = await sharp(photo, { failOn: 'none' })
      .rotate()
      .resize({ width: Math.round(oriented.w * scale), height: Math.round(oriented.h * scale), fit: 'fill' })
      .jpeg({ quality: 92 })
      .toBuffer();
    if (this.fatal) throw this.fatal;
    await this.readyPromise;
    const image = encoded.buffer.slice(encoded.byteOffset, encoded.byteOffset + encoded.byteLength) as ArrayBuffer;
    const id = this.nextId++;
    return new Promise<OcrResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'read', id, image, scale } satisfies OcrRequest, [image]);
    });
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ type: 'close' } satisfies OcrRequest);
    const timer = setTimeout(() => void this.worker.terminate(), 5000);
    await exited;
    clearTimeout(timer);
  }
}
