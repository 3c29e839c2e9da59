import crypto from 'node:crypto';
import { immediate, type Db } from './index';
import { queueKeysSql } from './queries';
import type { CvSummary, Detection, ObservationStatus, ProviderName, Stats } from '../../../shared/domain';

const now = () => new Date().toISOString();
const box = (b: { x: number; y: number; width: number; height: number }) => ({ x: b.x, y: b.y, w: b.width, h: b.height });
export const newId = (prefix: 'obs' | 'job' | 'loc') => `${prefix}_${crypto.randomUUID().replace(/-/g, '')}`;

export interface ObservationInput {
  sha256: string | null;
  sourcePath: string;
  bytes: number | null;
  /** The file's mtime when read: with bytes, what /photo checks before serving the file as this photo. */
  mtimeMs?: number | null;
  locationId: string | null;
  metadata: Record<string, unknown>;
}

export interface PhotoFacts {
  mimeType: string;
  width: number;
  height: number;
  latitude: number | null;
  longitude: number | null;
  capturedAt: string | null;
}

export interface ObservationRow {
  id: string;
  sha256: string | null;
  status: ObservationStatus;
  width: number | null;
  height: number | null;
}

export interface CompletedJob {
  jobId: string;
  detections: Detection[];
  summary: CvSummary;
}

/**
 * Every transaction here is IMMEDIATE: it takes the write lock before its first read, so another
 * connection's commit (the app, serve, a second audit) between a read and a write can never make it
 * fail with SQLITE_BUSY_SNAPSHOT; waiting for the lock is bounded by busy_timeout (db/index.ts).
 *
 * All SQL of the audit engine, prepared once per connection. Multi-row changes run in one transaction:
 * a photo's detections, its job and its observation status land together or not at all.
 */
export class AuditStore {
  private readonly s;

  constructor(readonly db: Db) {
    this.s = {
      locationByName: db.prepare<[string], { id: string }>('SELECT id FROM locations WHERE name = ?'),
      insertLocation: db.prepare('INSERT INTO locations (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)'),
      obsBySha: db.prepare<[string], ObservationRow>('SELECT id, sha256, status, width, height FROM observations WHERE sha256 = ?'),
      obsByPathNoSha: db.prepare<[string], ObservationRow>(
        `SELECT o.id, o.sha256, o.status, o.width, o.height FROM observation_sources s JOIN observations o ON o.id = s.observation_id
         WHERE s.path = ? AND o.sha256 IS NULL`,
      ),
      insertObs: db.prepare(
        `INSERT INTO observations (id, location_id, sha256, source_path, bytes, file_mtime_ms, metadata, status, created_at, updated_at)
         VALUES (@id, @locationId, @sha256, @sourcePath, @bytes, @mtimeMs, @metadata, 'pending', @now, @now)`,
      ),
      updateObsImport: db.prepare(
        `UPDATE observations SET source_path = @sourcePath, location_id = coalesce(@locationId, location_id),
         bytes = coalesce(@bytes, bytes), file_mtime_ms = coalesce(@mtimeMs, file_mtime_ms),
         metadata = json_patch(metadata, @metadata), updated_at = @now WHERE id = @id`,
      ),
      dropPlaceholder: db.prepare(
        `DELETE FROM observations WHERE sha256 IS NULL AND id != @keep
         AND id IN (SELECT observation_id FROM observation_sources WHERE path = @path)`,
      ),
      upsertSource: db.prepare(
        `INSERT INTO observation_sources (path, observation_id, seen_at) VALUES (?, ?, ?)
         ON CONFLICT(path) DO UPDATE SET observation_id = excluded.observation_id, seen_at = excluded.seen_at`,
      ),
      setObsFacts: db.prepare(
        `UPDATE observations SET mime_type = @mimeType, width = @width, height = @height,
         latitude = coalesce(@latitude, latitude), longitude = coalesce(@longitude, longitude),
         captured_at = coalesce(@capturedAt, captured_at), updated_at = @now WHERE id = @id`,
      ),
      setObsStatus: db.prepare('UPDATE observations SET status = ?, error = ?, updated_at = ? WHERE id = ?'),
      // A new run becomes the photo's current result only while nobody has reviewed or corrected it:
      // an auditor's work is never replaced by model output (the new job is kept all the same).
      setCurrentJob: db.prepare(
        `UPDATE observations SET current_job_id = @jobId, model = (SELECT model FROM cv_jobs WHERE id = @jobId),
         ${queueKeysSql('@jobId')}
         WHERE id = @observationId AND review_status = 'unreviewed'
           AND NOT EXISTS (SELECT 1 FROM corrections c WHERE c.observation_id = @observationId)`,
      ),
      completedJob: db.prepare<[string, string, string | null, string], { id: string; summary: string }>(
        `SELECT id, summary FROM cv_jobs WHERE observation_id = ? AND model = ? AND model_sha256 IS ?
           AND options = ? AND status = 'completed'
         ORDER BY completed_at DESC LIMIT 1`,
      ),
      detectionsOfJob: db.prepare<
        [string],
        { object_name: string; confidence: number; x: number; y: number; width: number; height: number; attributes: string }
      >('SELECT object_name, confidence, x, y, width, height, attributes FROM detections WHERE cv_job_id = ? ORDER BY confidence DESC, id'),
      insertJob: db.prepare(
        `INSERT INTO cv_jobs (id, observation_id, model, model_sha256, options, status, provider, created_at, started_at)
         VALUES (@id, @observationId, @model, @modelSha256, @options, 'processing', @provider, @now, @now)`,
      ),
      insertFailedJob: db.prepare(
        `INSERT INTO cv_jobs (id, observation_id, model, model_sha256, options, status, provider, error, created_at, completed_at)
         VALUES (@id, @observationId, @model, @modelSha256, @options, 'failed', @provider, @error, @now, @now)`,
      ),
      finishJob: db.prepare('UPDATE cv_jobs SET status = ?, error = ?, summary = ?, completed_at = ? WHERE id = ?'),
      insertDetection: db.prepare(
        `INSERT INTO detections (cv_job_id, observation_id, object_name, confidence, x, y, width, height, attributes,
           model_object_name, model_x, model_y, model_width, model_height)
         VALUES (@job, @obs, @name, @conf, @x, @y, @w, @h, @attributes, @name, @x, @y, @w, @h)`,
      ),
      abandonJobs: db.prepare(
        `UPDATE cv_jobs SET status = 'failed', error = 'interrupted before completion (the run was stopped)', completed_at = ?
         WHERE status IN ('queued', 'processing')`,
      ),
      abandonObs: db.prepare(`UPDATE observations SET status = 'pending', updated_at = ? WHERE status = 'processing'`),
      countByStatus: db.prepare<[], { status: ObservationStatus; n: number }>(
        'SELECT status, count(*) AS n FROM observations GROUP BY status',
      ),
      countDetections: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM detections'),
    };
  }

  /**
   * Work left 'processing' by a run that was killed goes back to pending, so the next run redoes it.
   * Call once at the start of a run, before any new job is created.
   */
  recoverInterrupted(): { jobs: number; observations: number } {
    return immediate(this.db, () => {
      const t = now();
      const jobs = this.s.abandonJobs.run(t).changes;
      const observations = this.s.abandonObs.run(t).changes;
      return { jobs, observations };
    });
  }

  locationId(name: string): string {
    return immediate(this.db, () => {
      const row = this.s.locationByName.get(name);
      if (row) return row.id;
      const id = newId('loc');
      const t = now();
      this.s.insertLocation.run(id, name, t, t);
      return id;
    });
  }

  /** One observation per content hash (or per path when the file could not be hashed). */
  importObservation(input: ObservationInput): ObservationRow {
    return immediate(this.db, () => {
      const t = now();
      const existing = input.sha256 ? this.s.obsBySha.get(input.sha256) : this.s.obsByPathNoSha.get(input.sourcePath);
      const metadata = JSON.stringify(input.metadata);
      let row: ObservationRow;
      if (existing) {
        this.s.updateObsImport.run({
          id: existing.id,
          sourcePath: input.sourcePath,
          locationId: input.locationId,
          bytes: input.bytes,
          mtimeMs: input.mtimeMs ?? null,
          metadata,
          now: t,
        });
        row = existing;
      } else {
        const id = newId('obs');
        this.s.insertObs.run({
          id,
          locationId: input.locationId,
          sha256: input.sha256,
          sourcePath: input.sourcePath,
          bytes: input.bytes,
          mtimeMs: input.mtimeMs ?? null,
          metadata,
          now: t,
        });
        row = { id, sha256: input.sha256, status: 'pending', width: null, height: null };
      }
      // the failed placeholder of a file that could not be read before is replaced by the real one
      if (input.sha256) this.s.dropPlaceholder.run({ path: input.sourcePath, keep: row.id });
      this.s.upsertSource.run(input.sourcePath, row.id, t);
      return row;
    });
  }

  /** The latest completed result of the same model (name and file sha256) and options (JSON), if any: resume without new inference. */
  completedResult(observationId: string, model: string, modelSha256: string | null, options: string): CompletedJob | null {
    const job = this.s.completedJob.get(observationId, model, modelSha256, options);
    if (!job) return null;
    const detections = this.s.detectionsOfJob.all(job.id).map((d) => ({
      objectName: d.object_name,
      confidence: d.confidence,
      boundingBox: { x: d.x, y: d.y, width: d.width, height: d.height },
      attributes: JSON.parse(d.attributes) as Record<string, unknown>,
    }));
    return { jobId: job.id, detections, summary: JSON.parse(job.summary) as CvSummary };
  }

  /** Marks the observation processing and opens CV job `id` for it. */
  startJob(
    id: string,
    observationId: string,
    job: { model: string; modelSha256: string | null; provider: ProviderName; options: object },
    facts: PhotoFacts,
  ): string {
    return immediate(this.db, () => {
      const t = now();
      this.s.setObsFacts.run({ id: observationId, ...facts, now: t });
      this.s.insertJob.run({
        id,
        observationId,
        model: job.model,
        modelSha256: job.modelSha256,
        options: JSON.stringify(job.options),
        provider: job.provider,
        now: t,
      });
      this.s.setObsStatus.run('processing', null, t, observationId);
      return id;
    });
  }

  /** Detections, job and observation status in one transaction. */
  completeJob(jobId: string, observationId: string, detections: readonly Detection[], summary: CvSummary): void {
    immediate(this.db, () => {
      const t = now();
      for (const d of detections) {
        const b = d.boundingBox;
        const attributes = JSON.stringify(d.attributes);
        this.s.insertDetection.run({ job: jobId, obs: observationId, name: d.objectName, conf: d.confidence, ...box(b), attributes });
      }
      this.s.finishJob.run('completed', null, JSON.stringify(summary), t, jobId);
      this.s.setObsStatus.run('completed', null, t, observationId);
      this.s.setCurrentJob.run({ jobId, observationId });
    });
  }

  /** Fails an open job, or records a failed job when the photo never reached the model. */
  failJob(
    jobId: string | null,
    observationId: string,
    error: string,
    job: { model: string; modelSha256: string | null; provider: ProviderName | null; options: object },
  ): void {
    immediate(this.db, () => {
      const t = now();
      if (jobId) this.s.finishJob.run('failed', error, null, t, jobId);
      else
        this.s.insertFailedJob.run({
          id: newId('job'),
          observationId,
          model: job.model,
          modelSha256: job.modelSha256,
          options: JSON.stringify(job.options),
          provider: job.provider,
          error,
          now: t,
        });
      this.s.setObsStatus.run('failed', error, t, observationId);
    });
  }

  stats(): Stats {
    const byStatus = { pending: 0, processing: 0, completed: 0, failed: 0 };
    for (const r of this.s.countByStatus.all()) byStatus[r.status] = r.n;
    const observations = Object.values(byStatus).reduce((a, b) => a + b, 0);
    return { observations, byStatus, detections: this.s.countDetections.get()?.n ?? 0 };
  }
}
