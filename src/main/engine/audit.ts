import os from 'node:os';
import path from 'node:path';
import { scanPathsAsync } from './ingest/scan';
import { DbWriteError } from './errors';
import {
  preparePhotoTensor,
  prepareTileTensors,
  probePhoto,
  readPhotoFile,
  setDecodeThreads,
  type PhotoFile,
  type PhotoInfo,
} from './ingest/photo';
import { InferenceWorker, type InferResult } from './inference/client';
import { mergeTiled, tileGrid, type Tile } from './geometry';
import { resolveModel, type ResolvedModel } from './models/manifest';
import { AuditStore, LEASE_MS, newId } from './db/store';
import { WriteQueue } from './db/write-queue';
import { BatchSummary, summarize } from '../../shared/summary';
import type { AuditEvent, AuditPhoto, AuditReport, Detection, ProviderChoice } from '../../shared/domain';
import type { Db } from './db';
import { RetailPass, type PriceTagsOption } from './retail/audit-pass';
import { ThumbCache, thumbsDirFor } from './thumbs';

/** `off`, `auto` (tiles when the photo's short side is at least twice the model input), or tiles across the short side (≥ 2). */
export type TilesOption = 'off' | 'auto' | number;

export interface AuditOptions {
  paths: string[];
  db: Db;
  /** Manifest name or .onnx path; default: the manifest's default model. */
  model?: string;
  provider?: ProviderChoice;
  confThreshold?: number;
  iouThreshold?: number;
  maxDetections?: number;
  /** Tiled inference for large photos (shelves): overlapping tiles plus the whole photo, merged across borders. */
  tiles?: TilesOption;
  /** Location name; created locally when new. */
  location?: string;
  /** Free metadata stored on each observation (aisle, visit, captured_by, ...). */
  metadata?: Record<string, string>;
  /** Labels expected in every photo: enables outOfStock and complianceScore. */
  expectedLabels?: string[];
  /** Price tags by OCR (retail/): `auto` = when tiled. Retail attributes (rows, facings) are always computed. */
  priceTags?: PriceTagsOption;
  /** Photos read and decoded ahead of the model (bounded: at most this many in flight). Default: cores + 1. */
  prefetch?: number;
  /** ONNX Runtime intra-op threads. Default: the number of cores. */
  intraOpThreads?: number;
  /** libvips threads per photo decode (sharp.concurrency, process-wide). Default 1: the photos in flight give the parallelism. */
  decodeThreads?: number;
  /** Keep every photo's detections in the report (for --json). Default true; false keeps memory flat on long runs. */
  collect?: boolean;
  /** Measure per-stage times (report.timings). */
  profile?: boolean;
  signal?: AbortSignal;
  onEvent?: (event: AuditEvent) => void;
  /** Where model fetch messages go. */
  modelLog?: (line: string) => void;
}

export const AUDIT_DEFAULTS = {
  confThreshold: 0.25,
  iouThreshold: 0.45,
  maxDetections: 300,
  provider: 'auto' as ProviderChoice,
  tiles: 'off' as TilesOption,
  tilesOverlap: 0.2,
};

/**
 * Thread and queue settings from the core count (measured with `npm run bench` on 2 cores):
 * ONNX intra-op threads = cores (idle threads do not spin, see inference/session.ts); cores + 1 photos in
 * flight between read and model; 1 libvips thread per decode.
 */
export function defaultThreads(cores = os.availableParallelism()) {
  return { intraOpThreads: Math.max(1, cores), prefetch: cores + 1, decodeThreads: 1 };
}

/** How often a photo claimed by another live run is asked for again. */
const CLAIM_POLL_MS = 200;

export const STAGES = ['readHash', 'decode', 'inference', 'postprocess', 'dbWrite'] as const;
export type Stage = (typeof STAGES)[number];
export interface StageStats {
  n: number;
  p50: number;
  p95: number;
  mean: number;
}
export interface AuditTimings {
  stages: Record<Stage, StageStats>;
  /** From the first photo started to the last write, model loading excluded. */
  processingMs: number;
}

function stats(values: number[]): StageStats {
  if (!values.length) return { n: 0, p50: 0, p95: 0, mean: 0 };
  const s = [...values].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  const r = (v: number) => Math.round(v * 100) / 100;
  return { n: s.length, p50: r(q(0.5)), p95: r(q(0.95)), mean: r(s.reduce((a, b) => a + b, 0) / s.length) };
}

export function tilesFor(
  option: TilesOption,
  info: Pick<PhotoInfo, 'width' | 'height'>,
  inputSize: number,
  overlap = AUDIT_DEFAULTS.tilesOverlap,
): Tile[] {
  if (option === 'off') return [];
  const short = Math.min(info.width, info.height);
  if (option === 'auto') return short >= 2 * inputSize ? tileGrid(info.width, info.height, 2, overlap) : [];
  return tileGrid(info.width, info.height, option, overlap);
}

/** Runs a batch audit: scan → read+hash → decode+letterbox → model (worker) → SQLite, with resume. */
export async function runAudit(opts: AuditOptions): Promise<AuditReport & { timings?: AuditTimings }> {
  const started = performance.now();
  const emit = opts.onEvent ?? (() => {});
  const collect = opts.collect ?? true;
  const conf = opts.confThreshold ?? AUDIT_DEFAULTS.confThreshold;
  const iouThreshold = opts.iouThreshold ?? AUDIT_DEFAULTS.iouThreshold;
  const maxDetections = opts.maxDetections ?? AUDIT_DEFAULTS.maxDetections;
  const tilesOption = opts.tiles ?? AUDIT_DEFAULTS.tiles;
  const defaults = defaultThreads();
  const prefetch = Math.max(1, opts.prefetch ?? defaults.prefetch);
  setDecodeThreads(opts.decodeThreads ?? defaults.decodeThreads);

  const { files, skipped } = await scanPathsAsync(opts.paths);
  emit({ type: 'scan', files: files.length, skipped });

  const model: ResolvedModel = await resolveModel(opts.model, { log: opts.modelLog });
  const store = new AuditStore(opts.db);
  // this run's lease: work of runs that are gone is taken over, work of live ones (another process) is not
  store.beginRun();
  store.recoverInterrupted();
  const beat = setInterval(() => {
    try {
      store.heartbeat();
    } catch {
      // the next write reports a database that stopped working
    }
  }, LEASE_MS / 3);
  beat.unref();

  const times: Record<Stage, number[]> = { readHash: [], decode: [], inference: [], postprocess: [], dbWrite: [] };
  const time = (stage: Stage, ms: number) => {
    if (opts.profile) times[stage].push(ms);
  };
  const writes = new WriteQueue(opts.db, {
    maxBatch: 64,
    maxDelayMs: 100,
    // the cost of a batch, shared by the writes in it
    onFlush: (ms, n) => {
      for (let i = 0; i < n; i++) time('dbWrite', ms / n);
    },
  });

  // the Queue grid's thumbnails, made from the bytes each lane has in hand (the lanes bound how many at once)
  const thumbs = new ThumbCache(thumbsDirFor(opts.db.name));
  const retail = new RetailPass(opts.db, { location: opts.location, priceTags: opts.priceTags ?? 'auto', tiled: tilesOption !== 'off' });
  const worker = new InferenceWorker({
    modelPath: model.path,
    format: model.format,
    labels: model.labels,
    provider: opts.provider ?? AUDIT_DEFAULTS.provider,
    intraOpThreads: Math.max(1, opts.intraOpThreads ?? defaults.intraOpThreads),
  });
  let closed = false;
  try {
    const [ready, ocrNote] = await Promise.all([worker.ready(), retail.ready()]);
    if (ocrNote) opts.modelLog?.(ocrNote);
    emit({
      type: 'model',
      model: model.name,
      provider: ready.provider,
      fallback: ready.fallback,
      inputSize: [ready.inputWidth, ready.inputHeight],
    });
    const spec = { format: model.format, width: ready.inputWidth, height: ready.inputHeight };
    const jobOptions = {
      conf,
      iou: iouThreshold,
      maxDetections,
      inputSize: [ready.inputWidth, ready.inputHeight],
      tiles: tilesOption,
      expected: opts.expectedLabels ?? null,
      ...(retail.ocr ? { priceTags: true } : {}),
    };
    const jobOptionsJson = JSON.stringify(jobOptions);
    const job = { model: model.name, modelSha256: model.sha256, provider: ready.provider, options: jobOptions };
    const locationId = opts.location ? store.locationId(opts.location) : null;
    const metadata: Record<string, unknown> = { ...(opts.metadata ?? {}) };

    // tensors handed back by the worker are reused: no 2 MB allocation per photo
    const pool: Float32Array[] = [];
    const alloc = () => pool.pop() ?? new Float32Array(3 * spec.width * spec.height);

    const photos: AuditPhoto[] = [];
    const counts = { total: files.length, completed: 0, failed: 0, cached: 0, cancelled: 0 };
    // content seen in this run → its result, so a duplicate is neither inferred nor counted twice
    const seen = new Map<string, Promise<AuditPhoto>>();
    const batch = new BatchSummary(opts.expectedLabels);
    let done = 0;
    let processingStart = 0;

    const toDetections = (results: InferResult[]): Detection[] => {
      const boxes = results.flatMap((r, source) =>
        r.detections.map((d) => ({
          classId: d.classId,
          score: d.confidence,
          x1: d.x,
          y1: d.y,
          x2: d.x + d.width,
          y2: d.y + d.height,
          source,
          name: d.objectName,
        })),
      );
      const names = new Map(boxes.map((b) => [b.classId, b.name]));
      const merged = results.length > 1 ? mergeTiled(boxes, iouThreshold, maxDetections) : boxes;
      return merged.map((b) => ({
        objectName: names.get(b.classId) ?? `class_${b.classId}`,
        confidence: b.score,
        boundingBox: { x: b.x1, y: b.y1, width: b.x2 - b.x1, height: b.y2 - b.y1 },
        attributes: {},
      }));
    };

    const infer = async (obs: { id: string }, photo: PhotoFile & { buffer: Buffer }): Promise<AuditPhoto> => {
      const base = {
        path: photo.path,
        observationId: obs.id,
        cached: false,
        width: null,
        height: null,
        detections: [] as Detection[],
        summary: null,
      };
      const jobId = newId('job');
      let started = false;
      let thumbMade: Promise<void> | undefined;
      try {
        const t0 = performance.now();
        const info = await probePhoto(photo.buffer);
        thumbMade = thumbs.ensure(photo.sha256, photo.buffer); // alongside the decode and the model; never throws
        const tiles = tilesFor(tilesOption, info, Math.min(spec.width, spec.height));
        const tensors = [
          await preparePhotoTensor(photo.buffer, info, spec, alloc),
          ...(await prepareTileTensors(photo.buffer, info, spec, tiles, alloc)),
        ];
        time('decode', performance.now() - t0);
        writes.push(() => store.startJob(jobId, obs.id, job, info));
        started = true;
        const tagsRead = retail.readTags(photo.buffer);
        tagsRead.catch(() => {}); // awaited below, after the detector
        const results = await Promise.all(
          tensors.map((t) => worker.infer({ tensor: t.data, letterbox: t.letterbox, confThreshold: conf, iouThreshold, maxDetections })),
        );
        for (const r of results) pool.push(r.tensor);
        time(
          'inference',
          results.reduce((a, r) => a + r.inferMs, 0),
        );
        time(
          'postprocess',
          results.reduce((a, r) => a + r.postMs, 0),
        );
        const tags = await tagsRead;
        const found = toDetections(results);
        const { detections, summary } = retail.apply(found, info, tags, summarize(found, opts.expectedLabels));
        // if the database refuses this result (a constraint), only this photo fails
        writes.push(
          () => {
            store.completeJob(jobId, obs.id, detections, summary);
            retail.saveTags(jobId, tags);
          },
          (err) => store.failJob(jobId, obs.id, `could not save the result: ${err.message}`, job),
        );
        return { ...base, status: 'completed', width: info.width, height: info.height, detections, summary };
      } catch (err) {
        const error = (err as Error).message;
        // the database refused a batch: the run stops (every later write would fail too); a photo's own problem fails only it
        if (err instanceof DbWriteError) throw err;
        writes.push(() => store.failJob(started ? jobId : null, obs.id, error, job));
        return { ...base, status: 'failed', error };
      } finally {
        await thumbMade;
      }
    };

    /** Notes for the photo events, by file (e.g. same content as a photo imported from elsewhere). */
    const notes = new Map<string, string>();

    /** Claims a photo for this run, waiting while another live run holds it; false when cancelled meanwhile. */
    const claimPhoto = async (observationId: string): Promise<boolean> => {
      for (;;) {
        if (store.claim(observationId).claimed) return true;
        if (opts.signal?.aborted) return false;
        await new Promise((r) => setTimeout(r, CLAIM_POLL_MS));
      }
    };

    const processOne = async (file: string): Promise<{ photo: AuditPhoto; duplicate: boolean }> => {
      const base = { path: file, cached: false, width: null, height: null, detections: [] as Detection[], summary: null };
      let photo: PhotoFile;
      const t0 = performance.now();
      try {
        photo = await readPhotoFile(file);
      } catch (err) {
        const error = (err as Error).message;
        const obs = store.importObservation({ sha256: null, sourcePath: file, bytes: null, locationId, metadata });
        writes.push(() => store.failJob(null, obs.id, error, job));
        return { photo: { ...base, observationId: obs.id, status: 'failed', error }, duplicate: false };
      }
      time('readHash', performance.now() - t0);
      const obs = store.importObservation({
        sha256: photo.sha256,
        sourcePath: file,
        bytes: photo.bytes,
        mtimeMs: photo.mtimeMs,
        locationId,
        metadata,
      });
      if (obs.sameAs) {
        const where = obs.sameAs.location ? ` (location ${obs.sameAs.location})` : '';
        notes.set(
          file,
          `the same photo as ${obs.sameAs.path}${where}: recorded as another source of it; its location and data are unchanged`,
        );
      }
      if (obs.replaced)
        notes.set(file, 'new content at this path: a new observation; the one it replaces keeps its results (marked changed)');
      const first = seen.get(photo.sha256);
      if (first) return { photo: { ...(await first), path: file, cached: true }, duplicate: true };
      const result = (async (): Promise<AuditPhoto> => {
        // another process may be inferring this photo right now: wait for it (or for its lease to end)
        if (!(await claimPhoto(obs.id)))
          return { ...base, observationId: obs.id, status: 'pending', error: 'not processed: the run was cancelled' };
        const cached = store.completedResult(obs.id, model.name, model.sha256, jobOptionsJson);
        if (cached) {
          store.release(obs.id);
          retail.pool(cached.detections);
          // a photo audited before thumbnails were made gets its own now, from the bytes just read
          if (photo.buffer) await thumbs.ensure(photo.sha256, photo.buffer);
          return {
            ...base,
            observationId: obs.id,
            status: 'completed',
            cached: true,
            width: obs.width,
            height: obs.height,
            detections: cached.detections,
            summary: cached.summary,
          };
        }
        if (photo.error || !photo.buffer) {
          const error = photo.error ?? 'unreadable file';
          writes.push(() => store.failJob(null, obs.id, error, job));
          return { ...base, observationId: obs.id, status: 'failed', error };
        }
        return infer(obs, photo as PhotoFile & { buffer: Buffer });
      })();
      // later duplicates only need the outcome; keep no pixels or detections here when not collecting
      const light = collect ? result : result.then((p) => ({ ...p, detections: [] }));
      light.catch(() => {}); // a rejection is handled where `result` is awaited, below
      seen.set(photo.sha256, light);
      return { photo: await result, duplicate: false };
    };

    let next = 0;
    const lane = async () => {
      while (next < files.length) {
        const i = next++;
        const file = files[i];
        if (opts.signal?.aborted) {
          counts.cancelled++;
          if (collect)
            photos.push({
              path: file,
              observationId: null,
              status: 'pending',
              error: 'not processed: the run was cancelled',
              cached: false,
              width: null,
              height: null,
              detections: [],
              summary: null,
            });
          continue;
        }
        processingStart ||= performance.now();
        const { photo: p, duplicate } = await processOne(file);
        if (p.status === 'completed' && !duplicate)
          batch.add(
            p.detections.map((d) => d.objectName),
            p.detections.length,
            p.summary,
          );
        // without collect (long headless runs) only failures are kept, so memory stays flat
        if (collect || p.status === 'failed') photos.push(collect ? p : { ...p, detections: [] });
        done++;
        if (p.status === 'failed') counts.failed++;
        else if (p.status === 'pending') counts.cancelled++;
        else if (p.cached) counts.cached++;
        else counts.completed++;
        emit({
          type: 'photo',
          path: path.relative(process.cwd(), file) || file,
          status: p.status,
          cached: p.cached,
          error: p.error,
          detections: p.detections.length,
          note: notes.get(file),
        });
        notes.delete(file);
        const elapsed = (performance.now() - processingStart) / 1000;
        const rate = elapsed > 0 ? done / elapsed : 0;
        emit({
          type: 'progress',
          done,
          total: files.length,
          failed: counts.failed,
          photosPerSecond: rate,
          etaSeconds: rate > 0 ? (files.length - done) / rate : null,
        });
      }
    };
    const onAbort = () => emit({ type: 'cancelling', reason: 'finishing the photos in flight; the rest stay pending for the next run' });
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    // a host that exits at once (a second Ctrl+C) still gets the completed photos written
    const onExit = () => {
      try {
        writes.flush();
      } catch {
        // nothing more can be done while exiting; unwritten photos are redone by the next run
      }
    };
    process.on('exit', onExit);
    try {
      await Promise.all(Array.from({ length: Math.min(prefetch, Math.max(1, files.length)) }, lane));
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      process.off('exit', onExit);
      writes.flush();
    }
    const processingMs = processingStart ? performance.now() - processingStart : 0;

    const order = new Map(files.map((f, i) => [f, i]));
    photos.sort((a, b) => (order.get(a.path) ?? 0) - (order.get(b.path) ?? 0));
    const report: AuditReport & { timings?: AuditTimings } = {
      photos,
      summary: retail.batch(batch.result()),
      model: model.name,
      provider: ready.provider,
      providerFallback: ready.fallback,
      counts,
      cancelled: !!opts.signal?.aborted,
      elapsedMs: Math.round(performance.now() - started),
    };
    if (opts.profile) {
      report.timings = {
        stages: Object.fromEntries(STAGES.map((s) => [s, stats(times[s])])) as Record<Stage, StageStats>,
        processingMs: Math.round(processingMs),
      };
    }
    await Promise.all([worker.close(), retail.close()]);
    closed = true;
    emit({ type: 'done', report });
    return report;
  } finally {
    clearInterval(beat);
    if (!closed) await Promise.all([worker.close().catch(() => {}), retail.close().catch(() => {})]);
    try {
      store.endRun(); // after the last write: its claims go with it
    } catch {
      // a database that refused the writes refuses this too; the next run takes the lease over
    }
  }
}
