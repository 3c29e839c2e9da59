import os from 'node:os';
import path from 'node:path';
import { scanPaths } from './ingest/scan';
import { PhotoError, preparePhotoTensor, probePhoto, readPhotoFile, type PhotoFile } from './ingest/photo';
import { InferenceWorker } from './inference/client';
import { resolveModel, type ResolvedModel } from './models/manifest';
import { AuditStore } from './db/store';
import { BatchSummary, summarize } from '../../shared/summary';
import type { AuditEvent, AuditPhoto, AuditReport, Detection, ProviderChoice } from '../../shared/domain';
import type { Db } from './db';

export interface AuditOptions {
  paths: string[];
  db: Db;
  /** Manifest name or .onnx path; default: the manifest's default model. */
  model?: string;
  provider?: ProviderChoice;
  confThreshold?: number;
  iouThreshold?: number;
  maxDetections?: number;
  /** Location name; created locally when new. */
  location?: string;
  /** Free metadata stored on each observation (aisle, visit, captured_by, ...). */
  metadata?: Record<string, string>;
  /** Labels expected in every photo: enables outOfStock and complianceScore. */
  expectedLabels?: string[];
  /** Photos decoded ahead of the model (bounded queue). Default: cores + 1. */
  prefetch?: number;
  /** ONNX Runtime intra-op threads. Default: the number of cores. */
  intraOpThreads?: number;
  /** Keep every photo's detections in the report (for --json). Default true. */
  collect?: boolean;
  signal?: AbortSignal;
  onEvent?: (event: AuditEvent) => void;
  /** Model files folder and mirrors (tests); defaults from the manifest module. */
  modelLog?: (line: string) => void;
}

export const AUDIT_DEFAULTS = {
  confThreshold: 0.25,
  iouThreshold: 0.45,
  maxDetections: 300,
  provider: 'auto' as ProviderChoice,
};

/** Runs a batch audit: scan → read+hash → decode+letterbox → model (worker) → SQLite, with resume. */
export async function runAudit(opts: AuditOptions): Promise<AuditReport> {
  const started = performance.now();
  const emit = opts.onEvent ?? (() => {});
  const collect = opts.collect ?? true;
  const conf = opts.confThreshold ?? AUDIT_DEFAULTS.confThreshold;
  const iouThreshold = opts.iouThreshold ?? AUDIT_DEFAULTS.iouThreshold;
  const maxDetections = opts.maxDetections ?? AUDIT_DEFAULTS.maxDetections;
  const cores = os.availableParallelism();
  const prefetch = Math.max(1, opts.prefetch ?? cores + 1);

  const { files } = scanPaths(opts.paths);
  emit({ type: 'scan', files: files.length });

  const model: ResolvedModel = await resolveModel(opts.model, { log: opts.modelLog });
  const store = new AuditStore(opts.db);
  store.recoverInterrupted();

  const worker = new InferenceWorker({
    modelPath: model.path,
    format: model.format,
    labels: model.labels,
    provider: opts.provider ?? AUDIT_DEFAULTS.provider,
    intraOpThreads: Math.max(1, opts.intraOpThreads ?? cores),
  });
  let closed = false;
  try {
    const ready = await worker.ready();
    emit({ type: 'model', model: model.name, provider: ready.provider, fallback: ready.fallback, inputSize: [ready.inputWidth, ready.inputHeight] });
    const spec = { format: model.format, width: ready.inputWidth, height: ready.inputHeight };
    const jobOptions = { conf, iou: iouThreshold, maxDetections, inputSize: [ready.inputWidth, ready.inputHeight], expected: opts.expectedLabels ?? null };
    const job = { model: model.name, modelSha256: model.sha256, provider: ready.provider, options: jobOptions };
    const locationId = opts.location ? store.locationId(opts.location) : null;
    const metadata: Record<string, unknown> = { ...(opts.metadata ?? {}) };

    const photos: (AuditPhoto | undefined)[] = new Array(files.length);
    const counts = { total: files.length, completed: 0, failed: 0, cached: 0, cancelled: 0 };
    const firstBySha = new Map<string, Promise<AuditPhoto>>();
    // a duplicate of a photo already counted in this run does not count twice in the batch summary
    const duplicates = new WeakSet<AuditPhoto>();
    const isDuplicate = (p: AuditPhoto) => duplicates.has(p);
    const batch = new BatchSummary(opts.expectedLabels);
    let done = 0;
    let inferred = 0;
    let inferStart = 0;

    const toDetections = (r: Awaited<ReturnType<InferenceWorker['infer']>>): Detection[] =>
      r.detections.map((d) => ({
        objectName: d.objectName,
        confidence: d.confidence,
        boundingBox: { x: d.x, y: d.y, width: d.width, height: d.height },
        attributes: {},
      }));

    const processOne = async (file: string): Promise<AuditPhoto> => {
      const base = { path: file, cached: false, width: null, height: null, detections: [] as Detection[], summary: null };
      let photo: PhotoFile;
      try {
        photo = await readPhotoFile(file);
      } catch (err) {
        const error = (err as Error).message;
        const obs = store.importObservation({ sha256: null, sourcePath: file, bytes: null, locationId, metadata });
        store.failJob(null, obs.id, error, job);
        return { ...base, observationId: obs.id, status: 'failed', error };
      }
      const obs = store.importObservation({ sha256: photo.sha256, sourcePath: file, bytes: photo.bytes, locationId, metadata });
      const first = firstBySha.get(photo.sha256);
      if (first) {
        // the same content twice in one run: one observation, one inference
        const r = await first;
        const dup: AuditPhoto = { ...r, path: file, cached: true };
        duplicates.add(dup);
        return dup;
      }
      let resolveFirst!: (p: AuditPhoto) => void;
      firstBySha.set(photo.sha256, new Promise((r) => (resolveFirst = r)));
      const result = await (async (): Promise<AuditPhoto> => {
        const cached = store.completedResult(obs.id, model.name, JSON.stringify(jobOptions));
        if (cached) {
          return { ...base, observationId: obs.id, status: 'completed', cached: true, width: obs.width, height: obs.height, detections: cached.detections, summary: cached.summary };
        }
        if (photo.error || !photo.buffer) {
          const error = photo.error ?? 'unreadable file';
          store.failJob(null, obs.id, error, job);
          return { ...base, observationId: obs.id, status: 'failed', error };
        }
        let jobId: string | null = null;
        try {
          const info = await probePhoto(photo.buffer);
          jobId = store.startJob(obs.id, job, info);
          const tensor = await preparePhotoTensor(photo.buffer, info, spec);
          photo.buffer = null;
          if (!inferStart) inferStart = performance.now();
          const r = await worker.infer({ tensor: tensor.data, letterbox: tensor.letterbox, confThreshold: conf, iouThreshold, maxDetections });
          inferred++;
          const detections = toDetections(r);
          const summary = summarize(detections, opts.expectedLabels);
          store.completeJob(jobId, obs.id, detections, summary);
          return { ...base, observationId: obs.id, status: 'completed', width: info.width, height: info.height, detections, summary };
        } catch (err) {
          const error = err instanceof PhotoError ? err.message : `${(err as Error).message}`;
          store.failJob(jobId, obs.id, error, job);
          return { ...base, observationId: obs.id, status: 'failed', error };
        }
      })();
      resolveFirst(result);
      return result;
    };

    let next = 0;
    const lane = async () => {
      while (next < files.length) {
        const i = next++;
        const file = files[i];
        if (opts.signal?.aborted) {
          counts.cancelled++;
          photos[i] = { path: file, observationId: null, status: 'pending', error: 'not processed: the run was cancelled', cached: false, width: null, height: null, detections: [], summary: null };
          continue;
        }
        const p = await processOne(file);
        if (p.status === 'completed' && !isDuplicate(p)) batch.add(p.detections.map((d) => d.objectName), p.detections.length, p.summary);
        photos[i] = collect || p.status === 'failed' ? p : { ...p, detections: [] };
        done++;
        if (p.status === 'failed') counts.failed++;
        else if (p.cached) counts.cached++;
        else counts.completed++;
        emit({ type: 'photo', path: path.relative(process.cwd(), file) || file, status: p.status, cached: p.cached, error: p.error, detections: p.detections.length });
        const elapsed = inferStart ? (performance.now() - inferStart) / 1000 : 0;
        const rate = elapsed > 0 ? inferred / elapsed : 0;
        const remaining = files.length - done;
        emit({ type: 'progress', done, total: files.length, failed: counts.failed, photosPerSecond: rate, etaSeconds: rate > 0 ? remaining / rate : null });
      }
    };
    const onAbort = () => emit({ type: 'cancelling', reason: 'finishing the photos in flight; the rest stay pending for the next run' });
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    await Promise.all(Array.from({ length: Math.min(prefetch, Math.max(1, files.length)) }, lane));
    opts.signal?.removeEventListener('abort', onAbort);

    const list = photos.filter((p): p is AuditPhoto => !!p);
    const report: AuditReport = {
      // without collect (long headless runs) only failures are listed, so memory stays flat
      photos: collect ? list : list.filter((p) => p.status === 'failed'),
      summary: batch.result(),
      model: model.name,
      provider: ready.provider,
      providerFallback: ready.fallback,
      counts,
      cancelled: !!opts.signal?.aborted,
      elapsedMs: Math.round(performance.now() - started),
    };
    await worker.close();
    closed = true;
    emit({ type: 'done', report });
    return report;
  } finally {
    if (!closed) await worker.close().catch(() => {});
  }
}
