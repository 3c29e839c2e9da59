import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { immediate, type Db } from './index';
import { Outbox } from './outbox';
import { queueKeysSql } from './queries';
import type { CvSummary, Detection, ObservationStatus, ProviderName, Stats } from '../../../shared/domain';

const now = () => new Date().toISOString();
const iso = (ms: number) => new Date(ms).toISOString();

/** A run's lease: renewed every LEASE_MS / 3 while it runs; past it, the run counts as gone. */
export const LEASE_MS = 30_000;

interface RunRow {
  id: string;
  host: string;
  pid: number;
  expires_at: string;
}

/** A run is live while its lease holds and, on this host, its process still exists. */
function isLive(r: { host: string; pid: number; expires_at: string }): boolean {
  if (Date.parse(r.expires_at) <= Date.now()) return false;
  if (r.host !== os.hostname()) return true;
  try {
    process.kill(r.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by another user
  }
}
/** The file is not there (a file in a folder we may not read is not gone: we cannot tell). */
export function isGone(file: string): boolean {
  try {
    fs.statSync(file);
    return false;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR';
  }
}
const box = (b: { x: number; y: number; width: number; height: number }) => ({ x: b.x, y: b.y, w: b.width, h: b.height });
export const newId = (prefix: 'obs' | 'job' | 'loc' | 'run') => `${prefix}_${crypto.randomUUID().replace(/-/g, '')}`;

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
  /**
   * Set when this content was already an observation from another file that is still there: the new
   * path was recorded as one more source, and the observation kept its path, location and metadata.
   */
  sameAs?: { path: string; location: string | null };
  /** Observations whose file was at this path with other content: kept with their results, now marked 'changed'. */
  replaced?: string[];
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
  private readonly outbox: Outbox;

  constructor(readonly db: Db) {
    this.outbox = new Outbox(db);
    this.s = {
      locationByName: db.prepare<[string], { id: string }>('SELECT id FROM locations WHERE name = ?'),
      insertLocation: db.prepare('INSERT INTO locations (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)'),
      obsBySha: db.prepare<[string], ObservationRow & { source_path: string; location: string | null }>(
        `SELECT o.id, o.sha256, o.status, o.width, o.height, o.source_path, l.name AS location
         FROM observations o LEFT JOIN locations l ON l.id = o.location_id WHERE o.sha256 = ?`,
      ),
      obsByPathNoSha: db.prepare<[string], ObservationRow & { source_path: string; location: string | null }>(
        `SELECT o.id, o.sha256, o.status, o.width, o.height, o.source_path, NULL AS location
         FROM observation_sources s JOIN observations o ON o.id = s.observation_id
         WHERE s.path = ? AND o.sha256 IS NULL`,
      ),
      insertObs: db.prepare(
        `INSERT INTO observations (id, location_id, sha256, source_path, bytes, file_mtime_ms, metadata, status, created_at, updated_at)
         VALUES (@id, @locationId, @sha256, @sourcePath, @bytes, @mtimeMs, @metadata, 'pending', @now, @now)`,
      ),
      // a re-import keeps what the observation is: its location and metadata are only filled where empty,
      // and its path moves only when the file it had is gone (a move or rename)
      updateObsImport: db.prepare(
        `UPDATE observations SET source_path = CASE WHEN @moved THEN @sourcePath ELSE source_path END,
         location_id = coalesce(location_id, @locationId),
         bytes = CASE WHEN @moved THEN coalesce(@bytes, bytes) ELSE bytes END,
         file_mtime_ms = CASE WHEN @moved THEN coalesce(@mtimeMs, file_mtime_ms) ELSE file_mtime_ms END,
         source_state = CASE WHEN @moved THEN 'present' ELSE source_state END,
         source_state_at = CASE WHEN @moved THEN NULL ELSE source_state_at END,
         metadata = json_patch(@metadata, metadata), updated_at = @now WHERE id = @id`,
      ),
      // the file at a path now holds other content: the observations that had it keep their results, marked changed
      markChanged: db.prepare<{ path: string; keep: string; now: string }, { id: string }>(
        `UPDATE observations SET source_state = 'changed', source_state_at = @now
         WHERE source_path = @path AND id != @keep AND sha256 IS NOT NULL AND source_state != 'changed' RETURNING id`,
      ),
      sourceDeleted: db.prepare('UPDATE observation_sources SET deleted_at = ? WHERE path = ? AND deleted_at IS NULL'),
      obsDeleted: db.prepare<[string, string], { id: string }>(
        `UPDATE observations SET source_state = 'deleted', source_state_at = ?
         WHERE source_path = ? AND source_state = 'present' RETURNING id`,
      ),
      liveSourcesUnder: db.prepare<[string, string], { path: string }>(
        'SELECT path FROM observation_sources WHERE path >= ? AND path < ? AND deleted_at IS NULL',
      ),
      dropPlaceholder: db.prepare(
        `DELETE FROM observations WHERE sha256 IS NULL AND id != @keep
         AND id IN (SELECT observation_id FROM observation_sources WHERE path = @path)`,
      ),
      upsertSource: db.prepare(
        `INSERT INTO observation_sources (path, observation_id, seen_at) VALUES (?, ?, ?)
         ON CONFLICT(path) DO UPDATE SET observation_id = excluded.observation_id, seen_at = excluded.seen_at, deleted_at = NULL`,
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
        `INSERT INTO cv_jobs (id, observation_id, model, model_sha256, options, status, provider, created_at, started_at, run_id)
         VALUES (@id, @observationId, @model, @modelSha256, @options, 'processing', @provider, @now, @now, @run)`,
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
      // runs and claims (several processes on one database)
      insertRun: db.prepare('INSERT INTO runs (id, host, pid, started_at, heartbeat_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)'),
      renewRun: db.prepare('UPDATE runs SET heartbeat_at = ?, expires_at = ? WHERE id = ?'),
      deleteRun: db.prepare('DELETE FROM runs WHERE id = ?'),
      runs: db.prepare<[], RunRow>('SELECT id, host, pid, expires_at FROM runs'),
      claimOf: db.prepare<[string], { run_id: string; host: string | null; pid: number | null; expires_at: string | null }>(
        `SELECT c.run_id, r.host, r.pid, r.expires_at FROM photo_claims c LEFT JOIN runs r ON r.id = c.run_id WHERE c.observation_id = ?`,
      ),
      putClaim: db.prepare(
        `INSERT INTO photo_claims (observation_id, run_id, claimed_at) VALUES (?, ?, ?)
         ON CONFLICT(observation_id) DO UPDATE SET run_id = excluded.run_id, claimed_at = excluded.claimed_at`,
      ),
      releaseClaim: db.prepare('DELETE FROM photo_claims WHERE observation_id = ? AND run_id = ?'),
      dropClaimsOf: db.prepare('DELETE FROM photo_claims WHERE run_id = ?'),
      abandonJobsOf: db.prepare(
        `UPDATE cv_jobs SET status = 'failed', error = 'interrupted before completion (the run was stopped)', completed_at = ?
         WHERE run_id = ? AND status IN ('queued', 'processing')`,
      ),
      // jobs of no known run (made before runs were recorded, or whose run row is gone)
      abandonOwnerless: db.prepare(
        `UPDATE cv_jobs SET status = 'failed', error = 'interrupted before completion (the run was stopped)', completed_at = ?
         WHERE status IN ('queued', 'processing') AND (run_id IS NULL OR run_id NOT IN (SELECT id FROM runs))`,
      ),
      abandonObs: db.prepare(
        `UPDATE observations SET status = 'pending', updated_at = ?
         WHERE status = 'processing' AND id NOT IN (SELECT observation_id FROM photo_claims)`,
      ),
      countByStatus: db.prepare<[], { status: ObservationStatus; n: number }>(
        'SELECT status, count(*) AS n FROM observations GROUP BY status',
      ),
      countDetections: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM detections'),
    };
  }

  /** This run's id once begun: its jobs and claims carry it. */
  private run: string | null = null;

  /** Registers this run with a lease (renew it with heartbeat()); returns its id. */
  beginRun(): string {
    const id = newId('run');
    const t = Date.now();
    this.s.insertRun.run(id, os.hostname(), process.pid, iso(t), iso(t), iso(t + LEASE_MS));
    this.run = id;
    return id;
  }

  /** Whether the run with this id is alive (its row exists, its lease holds, its process runs). */
  isRunLive(runId: string): boolean {
    const r = this.s.runs.all().find((x) => x.id === runId);
    return r !== undefined && isLive(r);
  }

  /** Renews this run's lease. */
  heartbeat(): void {
    if (!this.run) return;
    const t = Date.now();
    this.s.renewRun.run(iso(t), iso(t + LEASE_MS), this.run);
  }

  /** Ends this run: its claims go (its results are written by then). */
  endRun(): void {
    if (!this.run) return;
    const run = this.run;
    immediate(this.db, () => {
      this.s.dropClaimsOf.run(run);
      this.s.deleteRun.run(run);
    });
    this.run = null;
  }

  /**
   * Work left behind by runs that are gone (killed, crashed, or whose lease expired) is taken over:
   * their open jobs fail as interrupted and their photos go back to pending, so this run redoes them.
   * Work of live runs (another process auditing now) is left alone. Call at the start of a run.
   */
  recoverInterrupted(): { jobs: number; observations: number } {
    return immediate(this.db, () => {
      const t = now();
      let jobs = 0;
      for (const r of this.s.runs.all()) {
        if (r.id === this.run || isLive(r)) continue;
        this.s.dropClaimsOf.run(r.id);
        jobs += this.s.abandonJobsOf.run(t, r.id).changes;
        this.s.deleteRun.run(r.id);
      }
      jobs += this.s.abandonOwnerless.run(t).changes;
      const observations = this.s.abandonObs.run(t).changes;
      return { jobs, observations };
    });
  }

  /**
   * Claims a photo for this run before it is inferred: refused while another live run holds it (it is
   * being inferred there right now); a claim of a run that is gone is taken over.
   */
  claim(observationId: string): { claimed: true } | { claimed: false; by: string } {
    const run = this.run;
    if (!run) throw new Error('claim() needs beginRun() first');
    return immediate(this.db, () => {
      const c = this.s.claimOf.get(observationId);
      if (c && c.run_id !== run && c.host !== null && isLive({ host: c.host, pid: c.pid!, expires_at: c.expires_at! })) {
        return { claimed: false as const, by: c.run_id };
      }
      this.s.putClaim.run(observationId, run, now());
      return { claimed: true as const };
    });
  }

  /** Gives a claimed photo up without a result (its result was already in the database). */
  release(observationId: string): void {
    if (this.run) this.s.releaseClaim.run(observationId, this.run);
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
        const samePath = existing.source_path === input.sourcePath;
        const moved = samePath || !fs.existsSync(existing.source_path);
        this.s.updateObsImport.run({
          id: existing.id,
          moved: moved ? 1 : 0,
          sourcePath: input.sourcePath,
          locationId: input.locationId,
          bytes: input.bytes,
          mtimeMs: input.mtimeMs ?? null,
          metadata,
          now: t,
        });
        row = { id: existing.id, sha256: existing.sha256, status: existing.status, width: existing.width, height: existing.height };
        if (!moved) row.sameAs = { path: existing.source_path, location: existing.location };
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
      if (input.sha256) {
        this.s.dropPlaceholder.run({ path: input.sourcePath, keep: row.id });
        const replaced = this.s.markChanged.all({ path: input.sourcePath, keep: row.id, now: t }).map((r) => r.id);
        if (replaced.length) row.replaced = replaced;
      }
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
        run: this.run,
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
      this.outbox.enqueueAudited(observationId, jobId);
      if (this.run) this.s.releaseClaim.run(observationId, this.run);
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
      if (this.run) this.s.releaseClaim.run(observationId, this.run);
    });
  }

  /**
   * The file at `file` was deleted: its source is marked deleted, and the observation whose file it was
   * is marked 'deleted' (its results are kept). Returns that observation's id, if any.
   */
  markSourceDeleted(file: string): string | null {
    return immediate(this.db, () => {
      const t = now();
      this.s.sourceDeleted.run(t, file);
      return this.s.obsDeleted.all(t, file)[0]?.id ?? null;
    });
  }

  /** Marks deleted the sources under `folder` whose files are gone (deleted while nothing watched); returns their paths. */
  vanishedUnder(folder: string): string[] {
    const gone = this.s.liveSourcesUnder
      .all(folder + path.sep, folder + String.fromCharCode(path.sep.charCodeAt(0) + 1))
      .map((r) => r.path)
      .filter(isGone);
    for (const p of gone) this.markSourceDeleted(p);
    return gone;
  }

  stats(): Stats {
    const byStatus = { pending: 0, processing: 0, completed: 0, failed: 0 };
    for (const r of this.s.countByStatus.all()) byStatus[r.status] = r.n;
    const observations = Object.values(byStatus).reduce((a, b) => a + b, 0);
    return { observations, byStatus, detections: this.s.countDetections.get()?.n ?? 0 };
  }
}
