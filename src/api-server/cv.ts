/**
 * CV jobs: queued → processing → completed | failed, one at a time, on the engine's ONNX pipeline.
 * The server reaches the engine through one narrow entry (runAudit + openDb) on a server-private engine
 * database; the photo's detections and summary are the seed's result format already.
 */
import { runAudit } from '../main/engine/audit';
import { openDb } from '../main/engine/db';
import type { ProviderChoice } from '../shared/domain';
import type { CvJob, Observation } from '../kliq/wire';
import { nowIso, type Store } from './store';
import type { WebhookDispatcher } from './webhooks';

/**
 * The seed's model names → local manifest models. Only a COCO detector exists locally, so the three named
 * models all run it (COCO labels, not SKUs or building components); `custom` has no local model (400).
 */
export const MODEL_MAP: Record<string, string | null> = {
  'shelf-detection-v2': 'yolox-nano-coco',
  'building-inspection-v1': 'yolox-nano-coco',
  'damage-assessment-v1': 'yolox-nano-coco',
  custom: null,
};

export interface CvRunnerOptions {
  store: Store;
  webhooks: WebhookDispatcher;
  /** engine database file (':memory:' for a throwaway one) */
  engineDbFile: string;
  provider: ProviderChoice;
  /** file of an upload on this server for an imageUrl, or null when the image is not one */
  imageFile: (tenantId: string, imageUrl: string) => string | null;
  /** Accept jobs but leave them queued (tests of restarts; maintenance). */
  paused?: boolean;
}

export class CvRunner {
  private readonly engineDb;
  private running: Promise<void> | null = null;
  private readonly abort = new AbortController();
  private closed = false;

  constructor(private readonly o: CvRunnerOptions) {
    this.engineDb = openDb(o.engineDbFile);
  }

  /** Re-queues jobs a previous run left in processing, then runs what is queued. */
  resume(): void {
    for (const job of this.o.store.allWhere<CvJob & { tenantId: string }>('cvJob', 'status', 'processing')) {
      this.o.store.put('cvJob', { ...job, status: 'queued' });
    }
    this.kick();
  }

  kick(): void {
    if (this.closed || this.running || this.o.paused) return;
    this.running = this.drain().finally(() => {
      this.running = null;
      // a job queued while the loop was finishing
      if (!this.closed && this.o.store.allWhere('cvJob', 'status', 'queued').length) this.kick();
    });
  }

  private async drain(): Promise<void> {
    for (;;) {
      if (this.closed) return;
      const [job] = this.o.store.allWhere<CvJob & { tenantId: string; observationId: string }>('cvJob', 'status', 'queued');
      if (!job) return;
      await this.run(job);
    }
  }

  private setObservation(tenantId: string, id: string, status: Observation['status']): void {
    const obs = this.o.store.get<Observation>(tenantId, 'observation', id);
    if (obs) this.o.store.put('observation', { ...obs, status, updatedAt: nowIso() });
  }

  private async run(job: CvJob & { tenantId: string; observationId: string }): Promise<void> {
    const { store, webhooks } = this.o;
    store.put('cvJob', { ...job, status: 'processing' });
    this.setObservation(job.tenantId, job.observationId, 'processing');
    let result: CvJob['result'] = null;
    let error: string | null = null;
    try {
      const obs = store.get<Observation>(job.tenantId, 'observation', job.observationId);
      if (!obs) throw new Error('the observation was deleted');
      const file = this.o.imageFile(job.tenantId, obs.imageUrl);
      if (!file) throw new Error('the image is not an upload on this server (the local server fetches no remote images)');
      const opts = job.options ?? {};
      const report = await runAudit({
        paths: [file],
        db: this.engineDb,
        model: MODEL_MAP[job.model] ?? 'yolox-nano-coco',
        provider: this.o.provider,
        confThreshold: typeof opts.confidence === 'number' ? opts.confidence : undefined,
        expectedLabels: Array.isArray(opts.expectedLabels) ? opts.expectedLabels.map(String) : undefined,
        tiles: opts.tiles === 'auto' || typeof opts.tiles === 'number' ? (opts.tiles as 'auto' | number) : undefined,
        signal: this.abort.signal,
      });
      const photo = report.photos[0];
      if (!photo) throw new Error('the image could not be read');
      if (photo.status !== 'completed' || !photo.summary) throw new Error(photo.error ?? 'the analysis failed');
      result = { detections: photo.detections, summary: photo.summary };
    } catch (err) {
      error = (err as Error).message;
    }
    if (this.closed && this.abort.signal.aborted) return; // stays processing: re-queued at the next start
    const done: CvJob = { ...job, status: error ? 'failed' : 'completed', result, error, completedAt: nowIso() };
    store.put('cvJob', { ...done, tenantId: job.tenantId });
    this.setObservation(job.tenantId, job.observationId, error ? 'failed' : 'completed');
    webhooks.emit(job.tenantId, error ? 'cv_job.failed' : 'cv_job.completed', done);
    const obs = store.get<Observation>(job.tenantId, 'observation', job.observationId);
    if (obs) webhooks.emit(job.tenantId, error ? 'observation.failed' : 'observation.completed', obs);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort(new Error('server closing'));
    await this.running;
    this.engineDb.close();
  }
}
