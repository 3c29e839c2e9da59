/**
 * The review side of the engine: queue queries, photo detail, catalog, and the edits an auditor
 * makes. Every edit writes, in one transaction, the change, a correction row (before, after, who,
 * when) and an outbox row for sync. Implements the methods of src/shared/rpc.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { immediate, type Db } from './db';
import { ConflictError, InvalidRequestError, NotFoundError } from './errors';
import { Outbox } from './db/outbox';
import { queueKeysSql, queueWhere } from './db/queries';
import { QueueCache, type QueueEdit } from './db/queue-cache';
import { summarize } from '../../shared/summary';
import { RetailStore } from './retail/store';
import type {
  Params,
  ParsedParams,
  PhotoSelection,
  QueueFilter,
  QueueItem,
  QueueSort,
  Result,
  ReviewDetection,
  SkippedPhoto,
} from '../../shared/rpc';
import type { ObservationStatus } from '../../shared/domain';
import { conditionOf } from '../../shared/condition';

const now = () => new Date().toISOString();

interface QueueRow {
  id: string;
  source_path: string;
  status: ObservationStatus;
  review_status: QueueItem['review'];
  flag_reason: string | null;
  location: string | null;
  visit_id: string | null;
  model: string | null;
  detection_count: number;
  top_confidence: number | null;
  width: number | null;
  height: number | null;
  error: string | null;
  sync_state: QueueItem['sync'];
  source_state: QueueItem['sourceState'];
}
export interface DetRow {
  id: number;
  observation_id: string;
  cv_job_id: string;
  object_name: string;
  confidence: number;
  x: number;
  y: number;
  width: number;
  height: number;
  source: 'model' | 'user';
  deleted: number;
  corrected: number;
  version: number;
  attributes: string;
  verified: number;
}

/** Sync state of a photo (its upload, observation, results and labels in the outbox): the queue's synced marker. */
const SYNC_STATE = `CASE
    WHEN EXISTS (SELECT 1 FROM outbox x WHERE x.ref IN (o.id, o.current_job_id) AND x.sent_at IS NULL AND x.failed_at IS NOT NULL)
      THEN 'failed'
    WHEN EXISTS (SELECT 1 FROM outbox x WHERE x.ref IN (o.id, o.current_job_id) AND x.sent_at IS NULL) THEN 'pending'
    WHEN o.remote_id IS NOT NULL THEN 'synced' ELSE NULL END`;

const QUEUE_COLUMNS = `o.id, o.source_path, o.status, o.review_status, o.flag_reason, l.name AS location, o.visit_id, o.model,
  o.detection_count, o.top_confidence, o.width, o.height, o.error, o.source_state, ${SYNC_STATE} AS sync_state`;

function toItem(r: QueueRow): QueueItem {
  return {
    observationId: r.id,
    fileName: path.basename(r.source_path),
    sourcePath: r.source_path,
    status: r.status,
    review: r.review_status,
    flagReason: r.flag_reason,
    location: r.location,
    visit: r.visit_id,
    model: r.model,
    detectionCount: r.detection_count,
    topConfidence: r.top_confidence,
    width: r.width,
    height: r.height,
    error: r.error,
    sync: r.sync_state,
    sourceState: r.source_state,
  };
}

export function toDetection(d: DetRow): ReviewDetection {
  return {
    id: d.id,
    objectName: d.object_name,
    confidence: d.confidence,
    boundingBox: { x: d.x, y: d.y, width: d.width, height: d.height },
    source: d.source,
    corrected: d.corrected === 1,
    version: d.version,
    condition: conditionOf(d.attributes),
    verified: d.verified === 1,
  };
}

export interface ReviewServiceOptions {
  /** Who makes the edits (corrections.who). */
  user: string;
  /** Labels of the models in use (the catalog picker offers them with the imported SKUs). */
  modelLabels?: string[];
  onChanged?: (observationIds: string[]) => void;
  /** A bulk review's progress: photos done of total. */
  onBulkProgress?: (bulkId: string, done: number, total: number) => void;
}

/** Photos per transaction of a bulk review: each batch commits, then other requests are served. */
export const BULK_BATCH = 500;
/** Skipped photos named in a bulk result (the rest are counted). */
const SKIPPED_NAMED = 100;

/** An applied edit, to record as a correction row and an outbox row. */
interface AppliedEdit {
  observationId: string;
  detectionId: number | null;
  action: string;
  before: unknown;
  after: unknown;
}

export class ReviewService {
  private readonly s;
  private readonly cache = new Map<string, ReturnType<Db['prepare']>>();
  private readonly memo = new Map<string, { stamp: string; value: unknown }>();
  /** Queue orders and facet counts (db/queue-cache.ts). */
  readonly queues: QueueCache;
  private readonly outbox: Outbox;
  readonly retail: RetailStore;

  constructor(
    private readonly db: Db,
    private readonly opts: ReviewServiceOptions,
  ) {
    this.outbox = new Outbox(db);
    this.retail = new RetailStore(db);
    this.queues = new QueueCache(db);
    this.s = {
      version: db.prepare<[], { c: number }>('SELECT total_changes() AS c'),
      item: db.prepare<[string], QueueRow>(
        `SELECT ${QUEUE_COLUMNS} FROM observations o LEFT JOIN locations l ON l.id = o.location_id WHERE o.id = ?`,
      ),
      detections: db.prepare<[string], DetRow>(
        `SELECT d.* FROM detections d JOIN observations o ON o.id = ? AND d.cv_job_id = o.current_job_id
         WHERE d.deleted = 0 ORDER BY d.confidence DESC, d.id`,
      ),
      detection: db.prepare<[number], DetRow>('SELECT * FROM detections WHERE id = ?'),
      // corrected: exactly when the box differs from what the model gave (a drawn box always)
      updateDetection: db.prepare(
        `UPDATE detections SET object_name = @objectName, x = @x, y = @y, width = @width, height = @height,
         corrected = (source = 'user' OR @objectName IS NOT model_object_name OR @x IS NOT model_x OR @y IS NOT model_y
           OR @width IS NOT model_width OR @height IS NOT model_height),
         version = version + 1, updated_at = @now WHERE id = @id`,
      ),
      setDeleted: db.prepare('UPDATE detections SET deleted = ?, version = version + 1, updated_at = ? WHERE id = ?'),
      setVerified: db.prepare('UPDATE detections SET verified = ?, version = version + 1, updated_at = ? WHERE id = ?'),
      insertDetection: db.prepare(
        `INSERT INTO detections (cv_job_id, observation_id, object_name, confidence, x, y, width, height, source, corrected, updated_at)
         VALUES (@jobId, @observationId, @objectName, 1, @x, @y, @width, @height, 'user', 1, @now)`,
      ),
      currentJob: db.prepare<[string], { current_job_id: string | null; status: ObservationStatus }>(
        'SELECT current_job_id, status FROM observations WHERE id = ?',
      ),
      byClientEdit: db.prepare<[string], { observation_id: string; detection_id: number | null }>(
        'SELECT observation_id, detection_id FROM corrections WHERE client_edit_id = ?',
      ),
      refreshCounts: db.prepare(
        `UPDATE observations SET ${queueKeysSql('observations.current_job_id')}, updated_at = @now
         WHERE id = @id`,
      ),
      setReview: db.prepare(
        `UPDATE observations SET review_status = @review, flag_reason = @reason, reviewed_at = @at, reviewed_by = @who,
         updated_at = @now WHERE id = @id`,
      ),
      correction: db.prepare(
        `INSERT INTO corrections (observation_id, detection_id, action, before, after, who, created_at, client_edit_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      catalogRows: db.prepare<[], { sku: string | null; name: string }>('SELECT sku, name FROM catalog ORDER BY name'),
      setting: db.prepare<[string], string>('SELECT value FROM settings WHERE key = ?').pluck(),
      putSetting: db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      dropSetting: db.prepare('DELETE FROM settings WHERE key = ?'),
      insertCatalog: db.prepare(
        'INSERT INTO catalog (id, sku, name, created_at) VALUES (?, ?, ?, ?) ON CONFLICT(sku) DO UPDATE SET name = excluded.name',
      ),
    };
  }

  private prepared<T>(sql: string) {
    let st = this.cache.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.cache.set(sql, st);
    }
    return st as ReturnType<Db['prepare']> & { all(p: object): T[]; get(p: object): T | undefined; pluck(): { all(p: object): unknown[] } };
  }

  /**
   * Results that depend only on the data, cached until anything in the database changes
   * (total_changes() for this connection, data_version for the others): scrolling a 100 000-photo
   * queue computes its order, total and facets once, not on every page.
   */
  private cached<T>(key: string, compute: () => T, store = this.memo, max = 200): T {
    const v = this.s.version.get()!;
    const stamp = `${v.c}:${this.db.pragma('data_version', { simple: true }) as number}`;
    const hit = store.get(key);
    if (hit && hit.stamp === stamp) return hit.value as T;
    const value = compute();
    if (store.size >= max) store.delete(store.keys().next().value!);
    store.set(key, { stamp, value });
    return value;
  }

  queue(p: { filter: QueueFilter; sort: QueueSort; offset: number; limit: number }): Result<'queue'> {
    const { ids: page, total } = this.queues.page(p.filter, p.sort, p.offset, p.limit);
    const rows = new Map(
      this.prepared<QueueRow>(
        `SELECT ${QUEUE_COLUMNS} FROM observations o LEFT JOIN locations l ON l.id = o.location_id
         WHERE o.id IN (SELECT value FROM json_each(@ids))`,
      )
        .all({ ids: JSON.stringify(page) })
        .map((r) => [r.id, r]),
    );
    return { total, items: page.flatMap((id) => (rows.has(id) ? [toItem(rows.get(id)!)] : [])) };
  }

  queueCounts(p: { filter: QueueFilter }): Result<'queueCounts'> {
    // kept while the queue version stands still (sync writing its outbox does not recount), patched by edits
    return this.queues.keptCounts(p.filter);
  }

  photo(p: { observationId: string }): Result<'photo'> {
    const row = this.s.item.get(p.observationId);
    if (!row) throw new NotFoundError(`no photo ${p.observationId}`);
    const detections = this.s.detections.all(p.observationId).map(toDetection);
    const result = { item: toItem(row), detections, ...this.summaryOf(detections) };
    // retail: against the location's planogram (expected SKUs), when it has one
    const c = this.retail.photoCompliance(p.observationId);
    if (c) result.summary = { ...result.summary, outOfStock: c.outOfStock, complianceScore: c.score };
    return result;
  }

  private summaryOf(detections: { objectName: string }[]) {
    const counts = new Map<string, number>();
    for (const d of detections) counts.set(d.objectName, (counts.get(d.objectName) ?? 0) + 1);
    const labelCounts = [...counts].map(([name, n]) => ({ name, n })).sort((a, b) => b.n - a.n || a.name.localeCompare(b.name));
    const summary = summarize(detections);
    return { summary, labelCounts };
  }

  batchSummary(p: { filter: QueueFilter }): Result<'batchSummary'> {
    return this.cached(`summary:${JSON.stringify(p.filter)}`, () => this.computeBatchSummary(p.filter));
  }

  private computeBatchSummary(filter: QueueFilter): Result<'batchSummary'> {
    // boxes per label from the facet tables when the filter allows, else from the photos' label_counts
    const { photos, labelCounts } = this.queues.boxesPerLabel(filter) ?? this.boxesPerLabelSql(filter);
    const total = labelCounts.reduce((a, r) => a + r.n, 0);
    // retail: per location with a planogram (its photos pooled); the batch score is the mean of the locations'
    const locs = this.computeCompliance(filter).locations;
    const mean = locs.length ? Math.round((locs.reduce((a, l) => a + l.score, 0) / locs.length) * 10000) / 10000 : null;
    return {
      photos,
      summary: {
        totalProducts: total,
        uniqueSKUs: labelCounts.length,
        outOfStock: locs.length ? [...new Set(locs.flatMap((l) => l.outOfStock))] : null,
        complianceScore: mean,
      },
      labelCounts,
    };
  }

  private boxesPerLabelSql(filter: QueueFilter) {
    const w = queueWhere(filter);
    const photos = this.prepared<{ n: number }>(`SELECT count(*) AS n FROM observations o ${w.sql}`).get(w.params)!.n;
    const labelCounts = this.prepared<{ name: string; n: number }>(
      `SELECT j.key AS name, sum(j.value) AS n FROM observations o, json_each(o.label_counts) j ${w.sql}
       GROUP BY j.key ORDER BY 2 DESC, 1`,
    ).all(w.params);
    return { photos, labelCounts };
  }

  compliance(p: { filter: QueueFilter }): Result<'compliance'> {
    return this.cached(`compliance:${JSON.stringify(p.filter)}`, () => this.computeCompliance(p.filter));
  }

  private computeCompliance(filter: QueueFilter): Result<'compliance'> {
    const w = queueWhere(filter);
    const photos = this.prepared<{ current_job_id: string | null; location_id: string | null; location: string | null }>(
      `SELECT o.current_job_id, o.location_id, l.name AS location
       FROM observations o LEFT JOIN locations l ON l.id = o.location_id ${w.sql}`,
    ).all(w.params);
    return { locations: this.retail.locationsCompliance(photos) };
  }

  catalog(p: { query: string; limit: number }): Result<'catalog'> {
    const uses = this.queues.labelUses();
    const entries = new Map<string, Result<'catalog'>[number]>();
    for (const label of this.opts.modelLabels ?? []) entries.set(label, { label, source: 'model', sku: null, uses: uses.get(label) ?? 0 });
    // the whole catalog, searched in SQLite (name, SKU, brand, category, model label), not only the labels in use
    for (const r of this.retail.catalog.list(p.query, 1000))
      entries.set(r.name, { label: r.name, source: 'catalog', sku: r.sku, brand: r.brand, uses: uses.get(r.name) ?? 0 });
    for (const r of this.s.catalogRows.all())
      if (!r.sku) entries.set(r.name, { label: r.name, source: 'catalog', sku: null, uses: uses.get(r.name) ?? 0 });
    const skus = new Set([...entries.values()].filter((e) => e.sku !== null).map((e) => e.label));
    for (const [name, n] of uses) if (!entries.has(name)) entries.set(name, { label: name, source: 'model', sku: null, uses: n });
    const q = p.query.trim().toLowerCase();
    return [...entries.values()]
      .filter((e) => !q || skus.has(e.label) || e.label.toLowerCase().includes(q) || (e.sku ?? '').toLowerCase().includes(q))
      .sort((a, b) => b.uses - a.uses || a.label.localeCompare(b.label))
      .slice(0, p.limit);
  }

  /**
   * The labels behind Review's number keys: the location's own set, else the default one. The default is
   * made once, from the most used labels (then the model's), and stored: from then on it changes only when
   * the auditor changes it, never because counts moved while they worked.
   */
  labelKeys(p: { location: string | null }): Result<'labelKeys'> {
    const read = (key: string) => {
      const value = this.s.setting.get(key) as string | undefined;
      return value ? (JSON.parse(value) as string[]) : null;
    };
    const own = p.location ? read(`label_keys:${p.location}`) : null;
    if (own?.length) return { labels: own, scope: 'location' };
    const kept = read('label_keys');
    if (kept) return { labels: kept, scope: 'default' };
    const uses = [...this.queues.labelUses()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([l]) => l);
    const labels = [...new Set([...uses, ...(this.opts.modelLabels ?? [])])].slice(0, 9);
    if (labels.length) this.s.putSetting.run('label_keys', JSON.stringify(labels));
    return { labels, scope: 'default' };
  }

  setLabelKeys(p: { location: string | null; labels: string[] }): Result<'setLabelKeys'> {
    const labels = [...new Set(p.labels.map((l) => l.trim()))];
    if (labels.length !== p.labels.length) throw new InvalidRequestError('a label can be on one key only');
    if (!p.location && !labels.length) throw new InvalidRequestError('the default key set needs at least one label');
    if (p.location && !labels.length) this.s.dropSetting.run(`label_keys:${p.location}`);
    else this.s.putSetting.run(p.location ? `label_keys:${p.location}` : 'label_keys', JSON.stringify(labels));
    return this.labelKeys({ location: p.location });
  }

  /** Imports SKUs into the catalog (name, optional sku). */
  addCatalogItems(items: { sku?: string | null; name: string }[]): number {
    const t = now();
    immediate(this.db, () => {
      for (const i of items) this.s.insertCatalog.run(`cat_${crypto.randomUUID().replace(/-/g, '')}`, i.sku ?? null, i.name, t);
    });
    return items.length;
  }

  /**
   * One edit of one photo (`of`: the photo, or the box whose photo it is), in one immediate transaction
   * (reads and writes under the write lock, so another connection's commit in between cannot make it
   * fail or act on stale rows): check, apply, record the correction and its outbox row, refresh the queue
   * keys. An edit whose `clientEditId` was already applied (a retry after a lost answer) is not applied
   * again: `replay` answers with the current state.
   */
  private edit<T>(
    clientEditId: string | undefined,
    of: { observationId: string } | { detectionId: number },
    replay: (done: { observation_id: string; detection_id: number | null }) => T,
    run: () => AppliedEdit & { value: T },
  ): T {
    let changed: string | null = null;
    let queued: QueueEdit | null = null;
    const result = immediate(this.db, (): T => {
      const done = clientEditId ? this.s.byClientEdit.get(clientEditId) : undefined;
      if (done) return replay(done);
      // the photo's part of the kept counts is read before anything changes (a box that is not there: run throws)
      const photo = 'observationId' in of ? of.observationId : this.s.detection.get(of.detectionId)?.observation_id;
      const q = photo === undefined ? null : this.queues.beginEdit([photo]);
      const e = run();
      this.record(e, clientEditId);
      changed = e.observationId;
      if (q && e.observationId === photo) {
        this.queues.endEdit(q);
        queued = q;
      }
      return e.value;
    });
    // committed: the kept queue orders and counts move this one photo instead of being computed again
    // (not followed, as when another photo than the one read before was edited: they are computed again)
    if (queued) this.queues.patch(queued);
    if (changed) this.opts.onChanged?.([changed]);
    return result;
  }

  /** In the edit's transaction: the correction row, its outbox row, and the photo's queue keys (and retail facts after a box edit). */
  private record(e: AppliedEdit, clientEditId: string | undefined): void {
    const t = now();
    // boxes changed: rows, facings and price tags of the photo follow, in this transaction
    if (e.detectionId !== null) this.retail.refresh(e.observationId);
    const json = (v: unknown) => (v === null ? null : JSON.stringify(v));
    const det = e.detectionId;
    const info = this.s.correction.run(
      e.observationId,
      det,
      e.action,
      json(e.before),
      json(e.after),
      this.opts.user,
      t,
      clientEditId ?? null,
    );
    const payload = {
      correctionId: Number(info.lastInsertRowid),
      observationId: e.observationId,
      detectionId: det,
      action: e.action,
      before: e.before,
      after: e.after,
      who: this.opts.user,
      at: t,
    };
    this.outbox.enqueueLabels(e.observationId, payload);
    this.s.refreshCounts.run({ id: e.observationId, now: t });
  }

  private det(id: number): DetRow {
    const d = this.s.detection.get(id);
    if (!d) throw new NotFoundError(`no detection ${id}`);
    return d;
  }

  /** The detection, checked: on the photo's current result, and at the version the edit was made on. */
  private editable(id: number, version: number): DetRow {
    const d = this.det(id);
    const job = this.s.currentJob.get(d.observation_id);
    if (job?.current_job_id !== d.cv_job_id) {
      throw new ConflictError('this photo was audited again since it was shown, and its boxes were replaced: it has been reloaded');
    }
    if (d.version !== version) {
      throw new ConflictError('this box was changed elsewhere (another tab or auditor) since it was shown: it has been reloaded');
    }
    return d;
  }

  private replayDetection = (done: { detection_id: number | null }) => toDetection(this.det(done.detection_id!));

  updateDetection(p: Params<'updateDetection'>): Result<'updateDetection'> {
    if (p.boundingBox && (p.boundingBox.width <= 0 || p.boundingBox.height <= 0)) {
      throw new InvalidRequestError('a box needs a positive width and height');
    }
    return this.edit(p.clientEditId, { detectionId: p.detectionId }, this.replayDetection, () => {
      const d = this.editable(p.detectionId, p.version);
      if (d.deleted) throw new InvalidRequestError(`detection ${d.id} is deleted: restore it first`);
      const before = { objectName: d.object_name, boundingBox: { x: d.x, y: d.y, width: d.width, height: d.height } };
      const after = { objectName: p.objectName ?? d.object_name, boundingBox: p.boundingBox ?? before.boundingBox };
      this.s.updateDetection.run({ id: d.id, objectName: after.objectName, ...after.boundingBox, now: now() });
      return { observationId: d.observation_id, detectionId: d.id, action: 'update', before, after, value: toDetection(this.det(d.id)) };
    });
  }

  addDetection(p: Params<'addDetection'>): Result<'addDetection'> {
    const b = p.boundingBox;
    if (b.width <= 0 || b.height <= 0) throw new InvalidRequestError('a box needs a positive width and height');
    return this.edit(p.clientEditId, { observationId: p.observationId }, this.replayDetection, () => {
      const job = this.s.currentJob.get(p.observationId);
      if (!job) throw new NotFoundError(`no photo ${p.observationId}`);
      if (!job.current_job_id) throw new InvalidRequestError('this photo has no completed detection run to add boxes to');
      const after = { objectName: p.objectName, boundingBox: b };
      const info = this.s.insertDetection.run({
        jobId: job.current_job_id,
        observationId: p.observationId,
        objectName: p.objectName,
        ...b,
        now: now(),
      });
      const id = Number(info.lastInsertRowid);
      return { observationId: p.observationId, detectionId: id, action: 'add', before: null, after, value: toDetection(this.det(id)) };
    });
  }

  deleteDetection(p: Params<'deleteDetection'>): Result<'deleteDetection'> {
    return this.edit(p.clientEditId, { detectionId: p.detectionId }, this.replayDetection, () => {
      const d = this.editable(p.detectionId, p.version);
      if (d.deleted) throw new InvalidRequestError(`detection ${d.id} is already deleted`);
      const before = { objectName: d.object_name, boundingBox: { x: d.x, y: d.y, width: d.width, height: d.height } };
      this.s.setDeleted.run(1, now(), d.id);
      return {
        observationId: d.observation_id,
        detectionId: d.id,
        action: 'delete',
        before,
        after: null,
        value: toDetection(this.det(d.id)),
      };
    });
  }

  restoreDetection(p: Params<'restoreDetection'>): Result<'restoreDetection'> {
    return this.edit(p.clientEditId, { detectionId: p.detectionId }, this.replayDetection, () => {
      const d = this.editable(p.detectionId, p.version);
      if (!d.deleted) throw new InvalidRequestError(`detection ${d.id} is not deleted`);
      const after = { objectName: d.object_name, boundingBox: { x: d.x, y: d.y, width: d.width, height: d.height } };
      this.s.setDeleted.run(0, now(), d.id);
      return {
        observationId: d.observation_id,
        detectionId: d.id,
        action: 'restore',
        before: null,
        after,
        value: toDetection(this.det(d.id)),
      };
    });
  }

  /**
   * The auditor checked the box (or takes the mark back). Recorded as an 'update' whose before and after
   * carry `verified`: the KLIQ API's detections have no such field, so the correction (outbox payload)
   * is where it travels; the label set a labels item PUTs is unchanged by it.
   */
  verifyDetection(p: Params<'verifyDetection'>): Result<'verifyDetection'> {
    return this.edit(p.clientEditId, { detectionId: p.detectionId }, this.replayDetection, () => {
      const d = this.editable(p.detectionId, p.version);
      if (d.deleted) throw new InvalidRequestError(`detection ${d.id} is deleted: restore it first`);
      if ((d.verified === 1) === p.verified) {
        throw new InvalidRequestError(`detection ${d.id} is already ${p.verified ? 'verified' : 'not verified'}`);
      }
      const state = { objectName: d.object_name, boundingBox: { x: d.x, y: d.y, width: d.width, height: d.height } };
      this.s.setVerified.run(p.verified ? 1 : 0, now(), d.id);
      return {
        observationId: d.observation_id,
        detectionId: d.id,
        action: 'update',
        before: { ...state, verified: !p.verified },
        after: { ...state, verified: p.verified },
        value: toDetection(this.det(d.id)),
      };
    });
  }

  setReview(p: Params<'setReview'>): Result<'setReview'> {
    if (p.review === 'flagged' && !p.reason?.trim()) throw new InvalidRequestError('flagging a photo needs a reason');
    const replay = (done: { observation_id: string }) => toItem(this.s.item.get(done.observation_id)!);
    return this.edit(p.clientEditId, { observationId: p.observationId }, replay, () => {
      const row = this.s.item.get(p.observationId);
      if (!row) throw new NotFoundError(`no photo ${p.observationId}`);
      if (p.review === 'reviewed' && row.status !== 'completed') {
        throw new InvalidRequestError(
          `this photo cannot be accepted: it was not audited (${row.error ?? row.status}). Flag it as unusable with a reason instead.`,
        );
      }
      const e = this.applyReview(row, p.review, p.reason);
      return { ...e, value: toItem(this.s.item.get(p.observationId)!) };
    });
  }

  /** Sets a photo's review state (in the caller's transaction); the edit to record. */
  private applyReview(row: QueueRow, review: QueueItem['review'], reason: string | undefined): AppliedEdit {
    const before = { review: row.review_status, reason: row.flag_reason };
    const after = { review, reason: review === 'flagged' ? reason!.trim() : null };
    const t = now();
    const done = review === 'unreviewed';
    this.s.setReview.run({
      id: row.id,
      review: after.review,
      reason: after.reason,
      at: done ? null : t,
      who: done ? null : this.opts.user,
      now: t,
    });
    return { observationId: row.id, detectionId: null, action: 'review', before, after };
  }

  /** The photos of a selection: the ids given (once each, in their order), or every photo of the filter. */
  selectionIds(selection: PhotoSelection): string[] {
    if (selection.ids) return [...new Set(selection.ids)];
    const w = queueWhere(selection.filter ?? {});
    return this.prepared<string>(`SELECT o.id FROM observations o ${w.sql} ORDER BY o.id`).pluck().all(w.params) as string[];
  }

  /** The photos of a selection with their file and its state (for a re-audit), and the ids that name no photo. */
  selectionFiles(selection: PhotoSelection): {
    rows: { id: string; sourcePath: string; sourceState: QueueItem['sourceState'] }[];
    missing: string[];
  } {
    const ids = this.selectionIds(selection);
    const rows = this.prepared<{ id: string; source_path: string; source_state: QueueItem['sourceState'] }>(
      'SELECT id, source_path, source_state FROM observations WHERE id IN (SELECT value FROM json_each(@ids))',
    ).all({ ids: JSON.stringify(ids) });
    const byId = new Map(rows.map((r) => [r.id, r]));
    return {
      rows: ids.flatMap((id) => {
        const r = byId.get(id);
        return r ? [{ id, sourcePath: r.source_path, sourceState: r.source_state }] : [];
      }),
      missing: ids.filter((id) => !byId.has(id)),
    };
  }

  /**
   * Accepts or flags the photos of a selection: per photo the same edit as setReview (correction row +
   * outbox row), BULK_BATCH photos per transaction, other requests served between batches. Each photo's
   * edit id is `bulkId/photo`, so a retried bulk (answer lost) applies each photo once. Photos already in
   * that state are left as they are; photos that cannot be accepted (not audited) are skipped and named.
   */
  async bulkReview(p: ParsedParams<'bulkReview'>): Promise<Result<'bulkReview'>> {
    const reason = p.review === 'flagged' ? p.reason?.trim() : undefined;
    if (p.review === 'flagged' && !reason) throw new InvalidRequestError('flagging photos needs a reason');
    const ids = this.selectionIds(p.selection);
    const out: Result<'bulkReview'> = { total: ids.length, changed: 0, unchanged: 0, skippedCount: 0, skipped: [] };
    this.opts.onBulkProgress?.(p.bulkId, 0, ids.length);
    for (let i = 0; i < ids.length; i += BULK_BATCH) {
      const batch = ids.slice(i, i + BULK_BATCH);
      let queued: QueueEdit | null = null;
      const r = immediate(this.db, () => {
        // the batch's part of the kept counts, before and after its edits (patched once it commits)
        const q = this.queues.beginEdit(batch);
        const b = { changed: [] as string[], unchanged: 0, skipped: [] as SkippedPhoto[] };
        for (const id of batch) {
          const clientEditId = `${p.bulkId}/${id}`;
          if (this.s.byClientEdit.get(clientEditId)) {
            b.changed.push(id);
            continue;
          }
          const row = this.s.item.get(id);
          if (!row) {
            b.skipped.push({ observationId: id, fileName: id, reason: 'no such photo' });
            continue;
          }
          if (p.review === 'reviewed' && row.status !== 'completed') {
            const why = row.status === 'failed' ? `failed${row.error ? `: ${row.error}` : ''}` : `not audited yet (${row.status})`;
            b.skipped.push({ observationId: id, fileName: path.basename(row.source_path), reason: why });
            continue;
          }
          if (row.review_status === p.review && row.flag_reason === (reason ?? null)) {
            b.unchanged++;
            continue;
          }
          this.record(this.applyReview(row, p.review, reason), clientEditId);
          b.changed.push(id);
        }
        this.queues.endEdit(q);
        queued = q;
        return b;
      });
      if (queued) this.queues.patch(queued);
      out.changed += r.changed.length;
      out.unchanged += r.unchanged;
      out.skippedCount += r.skipped.length;
      out.skipped.push(...r.skipped.slice(0, SKIPPED_NAMED - out.skipped.length));
      if (r.changed.length) this.opts.onChanged?.(r.changed);
      this.opts.onBulkProgress?.(p.bulkId, i + batch.length, ids.length);
      if (i + BULK_BATCH < ids.length) await new Promise((resolve) => setImmediate(resolve));
    }
    return out;
  }
}
