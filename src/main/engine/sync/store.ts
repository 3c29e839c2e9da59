/**
 * What sync reads and writes in the local database, besides the outbox: the rows it sends, the remote
 * ids it learns, the upload in progress, the label version the server holds, the conflict log, and the
 * target (API + tenant) this database syncs to.
 */
import crypto from 'node:crypto';
import { immediate, type Db } from '../db';
import { ConfigError } from '../errors';
import type { Detection, CvSummary } from '../../../shared/domain';

export interface SyncTarget {
  /** The API's base URL, e.g. https://api.kliqpulse.com/v1 */
  baseUrl: string;
  tenantId: string;
}

export interface ObservationToSync {
  id: string;
  remote_id: string | null;
  location_id: string | null;
  source_path: string;
  mime_type: string | null;
  bytes: number | null;
  sha256: string | null;
  width: number | null;
  height: number | null;
  latitude: number | null;
  longitude: number | null;
  captured_at: string | null;
  metadata: string;
  visit_id: string | null;
  asset_id: string | null;
  image_url: string | null;
  upload_pending: string | null;
  labels_version: number;
  current_job_id: string | null;
  review_status: string;
}

export interface JobToSync {
  id: string;
  remote_id: string | null;
  observation_id: string;
  model: string;
  model_sha256: string | null;
  options: string;
  provider: string | null;
  status: string;
  summary: string | null;
  completed_at: string | null;
}

export interface PendingUpload {
  uploadUrl: string;
  imageUrl: string;
  expiresAt: string;
  /** How many upload URLs were asked for so far (part of the next one's idempotency key). */
  n: number;
}

export interface ConflictRow {
  id: number;
  observationId: string;
  fileName: string;
  localLabels: Detection[];
  remoteLabels: Detection[];
  remoteVersion: number;
  remoteBy: string | null;
  remoteAt: string | null;
  createdAt: string;
}

interface DetRow {
  object_name: string;
  confidence: number;
  x: number;
  y: number;
  width: number;
  height: number;
  attributes: string;
}

const detection = (r: DetRow): Detection => ({
  objectName: r.object_name,
  confidence: r.confidence,
  boundingBox: { x: r.x, y: r.y, width: r.width, height: r.height },
  attributes: JSON.parse(r.attributes) as Record<string, unknown>,
});

const TARGET_KEY = 'sync_target';

export class SyncStore {
  private readonly s;

  constructor(readonly db: Db) {
    this.s = {
      observation: db.prepare<[string], ObservationToSync>(
        `SELECT id, remote_id, location_id, source_path, mime_type, bytes, sha256, width, height, latitude, longitude, captured_at,
           metadata, visit_id, asset_id, image_url, upload_pending, labels_version, current_job_id, review_status
         FROM observations WHERE id = ?`,
      ),
      job: db.prepare<[string], JobToSync>(
        `SELECT id, remote_id, observation_id, model, model_sha256, options, provider, status, summary, completed_at
         FROM cv_jobs WHERE id = ?`,
      ),
      // what the model said: the model's boxes with their model values, deleted or not (the auditor's changes go in labels)
      modelOutput: db.prepare<[string], DetRow>(
        `SELECT coalesce(model_object_name, object_name) AS object_name, confidence, coalesce(model_x, x) AS x, coalesce(model_y, y) AS y,
           coalesce(model_width, width) AS width, coalesce(model_height, height) AS height, attributes
         FROM detections WHERE cv_job_id = ? AND source = 'model' ORDER BY id`,
      ),
      // the corrected label set: the current job's boxes as they are now
      currentLabels: db.prepare<[string], DetRow>(
        `SELECT d.object_name, d.confidence, d.x, d.y, d.width, d.height, d.attributes
         FROM detections d JOIN observations o ON o.current_job_id = d.cv_job_id
         WHERE o.id = ? AND d.deleted = 0 ORDER BY d.id`,
      ),
      lastEditor: db.prepare<[string], { who: string }>('SELECT who FROM corrections WHERE observation_id = ? ORDER BY id DESC LIMIT 1'),
      lastLabelsItem: db.prepare<[string], { id: number }>(
        `SELECT max(id) AS id FROM outbox WHERE kind = 'labels' AND ref = ? AND sent_at IS NULL AND failed_at IS NULL`,
      ),
      location: db.prepare<
        [string],
        { id: string; remote_id: string | null; name: string; address: string | null; latitude: number | null; longitude: number | null }
      >('SELECT id, remote_id, name, address, latitude, longitude FROM locations WHERE id = ?'),
      setLocationRemote: db.prepare('UPDATE locations SET remote_id = ? WHERE id = ?'),
      mapped: db.prepare<[string, string], { remote_id: string }>('SELECT remote_id FROM sync_ids WHERE kind = ? AND local_key = ?'),
      map: db.prepare(
        'INSERT INTO sync_ids (kind, local_key, remote_id) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET remote_id = excluded.remote_id',
      ),
      setPending: db.prepare('UPDATE observations SET upload_pending = ? WHERE id = ?'),
      setImageUrl: db.prepare('UPDATE observations SET image_url = ?, upload_pending = NULL WHERE id = ?'),
      setObsRemote: db.prepare('UPDATE observations SET remote_id = ? WHERE id = ? AND remote_id IS NULL'),
      setJobRemote: db.prepare('UPDATE cv_jobs SET remote_id = ? WHERE id = ? AND remote_id IS NULL'),
      setLabelsVersion: db.prepare('UPDATE observations SET labels_version = ? WHERE id = ?'),
      freeze: db.prepare('UPDATE outbox SET payload = ? WHERE id = ?'),
      insertConflict: db.prepare(
        `INSERT INTO sync_conflicts (observation_id, local_labels, remote_labels, remote_version, remote_by, remote_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      openConflicts: db.prepare(
        `SELECT c.id, c.observation_id, o.source_path, c.local_labels, c.remote_labels, c.remote_version, c.remote_by, c.remote_at,
           c.created_at
         FROM sync_conflicts c JOIN observations o ON o.id = c.observation_id WHERE c.resolved_at IS NULL ORDER BY c.id`,
      ),
      conflict: db.prepare<[number], { id: number; observation_id: string; remote_version: number; resolved_at: string | null }>(
        'SELECT id, observation_id, remote_version, resolved_at FROM sync_conflicts WHERE id = ?',
      ),
      openConflictOf: db.prepare<[string], { id: number }>(
        'SELECT id FROM sync_conflicts WHERE observation_id = ? AND resolved_at IS NULL ORDER BY id LIMIT 1',
      ),
      failLabels: db.prepare(
        `UPDATE outbox SET failed_at = ?, last_error = ?, claimed_by = NULL
         WHERE kind = 'labels' AND ref = ? AND sent_at IS NULL AND failed_at IS NULL`,
      ),
      resolve: db.prepare('UPDATE sync_conflicts SET resolved_at = ?, resolution = ? WHERE id = ? AND resolved_at IS NULL'),
      setting: db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE key = ?'),
      putSetting: db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      failedLabelsOf: db.prepare<[string], { id: number }>(
        `SELECT id FROM outbox WHERE kind = 'labels' AND ref = ? AND failed_at IS NOT NULL AND sent_at IS NULL ORDER BY id`,
      ),
      ackFailedLabels: db.prepare(
        `UPDATE outbox SET sent_at = ?, failed_at = NULL, last_error = NULL
         WHERE kind = 'labels' AND ref = ? AND failed_at IS NOT NULL AND sent_at IS NULL`,
      ),
      lastSync: db.prepare<[], { at: string | null }>('SELECT max(sent_at) AS at FROM outbox'),
      reopen: db.prepare('UPDATE outbox SET failed_at = NULL, next_attempt_at = NULL, last_error = NULL WHERE id = ?'),
    };
  }

  /**
   * Binds this database to one API and tenant: remote ids are only meaningful there. The first sync records
   * the target; a sync to another one is refused (a ConfigError saying what to do) unless `rebind`.
   */
  bindTarget(target: SyncTarget, opts: { rebind?: boolean } = {}): void {
    const want = JSON.stringify({ baseUrl: target.baseUrl.replace(/\/+$/, ''), tenantId: target.tenantId });
    immediate(this.db, () => {
      const have = this.s.setting.get(TARGET_KEY)?.value;
      if (have && have !== want && !opts.rebind) {
        const h = JSON.parse(have) as SyncTarget;
        throw new ConfigError(
          `this database syncs to tenant ${h.tenantId} at ${h.baseUrl}; its photos' remote ids belong there. ` +
            `Sync it there, or audit into another --db for tenant ${target.tenantId}.`,
        );
      }
      if (!have) this.s.putSetting.run(TARGET_KEY, want);
    });
  }

  target(): SyncTarget | null {
    const v = this.s.setting.get(TARGET_KEY)?.value;
    return v ? (JSON.parse(v) as SyncTarget) : null;
  }

  observation(id: string): ObservationToSync | undefined {
    return this.s.observation.get(id);
  }
  job(id: string): JobToSync | undefined {
    return this.s.job.get(id);
  }
  modelOutput(jobId: string): { detections: Detection[]; summary: CvSummary | null } {
    const job = this.s.job.get(jobId);
    return {
      detections: this.s.modelOutput.all(jobId).map(detection),
      summary: job?.summary ? (JSON.parse(job.summary) as CvSummary) : null,
    };
  }

  /** The label set to send and the newest labels item it covers, read together (one snapshot). */
  labelsSnapshot(observationId: string): { labels: Detection[]; upTo: number | null; by: string | null; baseVersion: number } {
    return this.db.transaction(() => ({
      labels: this.s.currentLabels.all(observationId).map(detection),
      upTo: this.s.lastLabelsItem.get(observationId)?.id ?? null,
      by: this.s.lastEditor.get(observationId)?.who ?? null,
      baseVersion: this.s.observation.get(observationId)?.labels_version ?? 0,
    }))();
  }

  location(id: string) {
    return this.s.location.get(id);
  }
  /** BuildingScan rows (migration 009) and their remote ids. */
  building(id: string) {
    return this.db
      .prepare<[string], { id: string; remote_id: string | null; name: string; address: string | null }>(
        'SELECT id, remote_id, name, address FROM buildings WHERE id = ?',
      )
      .get(id);
  }
  asset(id: string) {
    return this.db
      .prepare<
        [string],
        { id: string; remote_id: string | null; building_id: string; name: string; kind: string | null; condition: string | null }
      >('SELECT id, remote_id, building_id, name, kind, condition FROM assets WHERE id = ?')
      .get(id);
  }
  visitRow(name: string) {
    return this.db
      .prepare<[string], { id: string; remote_id: string | null; building_id: string | null }>(
        'SELECT id, remote_id, building_id FROM visits WHERE name = ?',
      )
      .get(name);
  }
  setRemote(table: 'buildings' | 'assets' | 'visits', id: string, remoteId: string): void {
    this.db.prepare(`UPDATE ${table} SET remote_id = ? WHERE id = ? AND remote_id IS NULL`).run(remoteId, id);
  }

  setLocationRemote(id: string, remoteId: string): void {
    this.s.setLocationRemote.run(remoteId, id);
  }
  mapped(kind: string, localKey: string): string | null {
    return this.s.mapped.get(kind, localKey)?.remote_id ?? null;
  }
  map(kind: string, localKey: string, remoteId: string): void {
    this.s.map.run(kind, localKey, remoteId);
  }

  pendingUpload(o: ObservationToSync): PendingUpload | null {
    return o.upload_pending ? (JSON.parse(o.upload_pending) as PendingUpload) : null;
  }
  setPendingUpload(observationId: string, p: PendingUpload): void {
    this.s.setPending.run(JSON.stringify(p), observationId);
  }
  setImageUrl(observationId: string, url: string): void {
    this.s.setImageUrl.run(url, observationId);
  }
  setObservationRemote(observationId: string, remoteId: string): void {
    this.s.setObsRemote.run(remoteId, observationId);
  }
  setJobRemote(jobId: string, remoteId: string): void {
    this.s.setJobRemote.run(remoteId, jobId);
  }
  setLabelsVersion(observationId: string, version: number): void {
    this.s.setLabelsVersion.run(version, observationId);
  }

  /** Keeps the body of an item's first request with the item, so every retry sends the same key with the same body. */
  freeze(itemId: number, body: unknown): void {
    this.s.freeze.run(JSON.stringify(body), itemId);
  }

  addConflict(
    observationId: string,
    local: Detection[],
    remote: { labels: Detection[]; version: number; updatedBy: string | null; updatedAt: string | null },
  ): number {
    const open = this.openConflictOf(observationId);
    if (open !== null) return open;
    return Number(
      this.s.insertConflict.run(
        observationId,
        JSON.stringify(local),
        JSON.stringify(remote.labels),
        remote.version,
        remote.updatedBy,
        remote.updatedAt,
        new Date().toISOString(),
      ).lastInsertRowid,
    );
  }

  /** The open conflict of an observation, if any: its labels wait for the auditor's choice. */
  openConflictOf(observationId: string): number | null {
    return this.s.openConflictOf.get(observationId)?.id ?? null;
  }

  /** Stops every pending labels item of the observation with the reason (they wait on a conflict). */
  failLabels(observationId: string, reason: string): number {
    return this.s.failLabels.run(new Date().toISOString(), reason, observationId).changes;
  }

  conflicts(): ConflictRow[] {
    return (
      this.s.openConflicts.all() as {
        id: number;
        observation_id: string;
        source_path: string;
        local_labels: string;
        remote_labels: string;
        remote_version: number;
        remote_by: string | null;
        remote_at: string | null;
        created_at: string;
      }[]
    ).map((r) => ({
      id: r.id,
      observationId: r.observation_id,
      fileName: r.source_path.split(/[\\/]/).pop() ?? r.source_path,
      localLabels: JSON.parse(r.local_labels) as Detection[],
      remoteLabels: JSON.parse(r.remote_labels) as Detection[],
      remoteVersion: r.remote_version,
      remoteBy: r.remote_by,
      remoteAt: r.remote_at,
      createdAt: r.created_at,
    }));
  }

  /**
   * The auditor decides a conflict. 'send-mine': the local set is sent over the server's (the next PUT is
   * based on the version the server held). 'keep-server': the server's set stays; the local items are
   * closed without sending. Returns the observation id, or null when the conflict is unknown or already resolved.
   */
  resolveConflict(id: number, resolution: 'send-mine' | 'keep-server'): string | null {
    return immediate(this.db, () => {
      const c = this.s.conflict.get(id);
      if (!c || c.resolved_at) return null;
      const t = new Date().toISOString();
      this.s.resolve.run(t, resolution === 'send-mine' ? 'sent-mine' : 'kept-server', id);
      if (resolution === 'send-mine') {
        this.s.setLabelsVersion.run(c.remote_version, c.observation_id);
        for (const { id: item } of this.s.failedLabelsOf.all(c.observation_id)) {
          this.s.reopen.run(item);
        }
      } else {
        this.s.ackFailedLabels.run(t, c.observation_id);
      }
      return c.observation_id;
    });
  }

  /** A random token of this database (made once): part of idempotency keys that must not meet another database's. */
  dbToken(): string {
    return immediate(this.db, () => {
      const have = this.s.setting.get('sync_db_token')?.value;
      if (have) return have;
      const token = crypto.randomUUID();
      this.s.putSetting.run('sync_db_token', token);
      return token;
    });
  }

  lastSyncAt(): string | null {
    return this.s.lastSync.get()?.at ?? null;
  }
}
