/**
 * BuildingScan: buildings, their assets and the visits that photographed them, and the auditor's
 * condition grades. A photo names its asset in metadata.asset_id and its visit in metadata.visit_id
 * (the visit's name), as `kliq-audit audit --building B --asset A --visit V` writes them.
 *
 * Grades are edits like the review's: one immediate transaction writes the change, a correction row
 * (before, after, who, when) and its outbox row. A box's grade lives in its attributes.condition (and
 * bumps its version, so a stale tab's edit is refused); an asset's in assets.condition.
 */
import crypto from 'node:crypto';
import { immediate, type Db } from './db';
import { Outbox } from './db/outbox';
import { ConfigError, ConflictError, InvalidRequestError, NotFoundError } from './errors';
import { toDetection, type DetRow } from './review';
import { CONDITIONS, conditionOf, type Condition } from '../../shared/condition';
import type { AssetInfo, Params, Result } from '../../shared/rpc';

const now = () => new Date().toISOString();
const newId = (prefix: string) => `${prefix}_${crypto.randomUUID().replace(/-/g, '').slice(0, 24)}`;

interface AssetRow {
  id: string;
  name: string;
  kind: string | null;
  building_id: string;
  building: string;
  condition: Condition | null;
  condition_at: string | null;
  condition_by: string | null;
}
const ASSET_COLUMNS = `a.id, a.name, a.kind, a.building_id, b.name AS building, a.condition, a.condition_at, a.condition_by`;
const toAsset = (r: AssetRow): AssetInfo => ({
  id: r.id,
  name: r.name,
  kind: r.kind,
  buildingId: r.building_id,
  building: r.building,
  condition: r.condition,
  conditionAt: r.condition_at,
  conditionBy: r.condition_by,
});

/** `count(CASE WHEN <expr> = grade …)` for each grade: `{ good, fair, poor, critical }` columns. */
const gradeColumns = (expr: string) => CONDITIONS.map((c) => `count(CASE WHEN ${expr} = '${c}' THEN 1 END) AS ${c}`).join(', ');
const grades = (r: Record<Condition, number>) => ({ good: r.good, fair: r.fair, poor: r.poor, critical: r.critical });

export interface PlaceIds {
  buildingId: string | null;
  assetId: string | null;
  visit: string | null;
}

export class BuildingService {
  private readonly outbox: Outbox;

  constructor(
    private readonly db: Db,
    private readonly opts: { user: string; onChanged?: (observationIds: string[]) => void },
  ) {
    this.outbox = new Outbox(db);
  }

  /**
   * Finds or creates what `audit --building B --asset A --visit V` names, in one transaction. A new asset
   * needs its building; an asset name found in several buildings needs `--building` to tell which.
   * `asset` may also be an asset id (ast_…).
   */
  resolvePlace(p: { building?: string; asset?: string; visit?: string }): PlaceIds {
    return immediate(this.db, () => {
      const t = now();
      let buildingId: string | null = null;
      if (p.building) {
        buildingId =
          this.db.prepare<[string], { id: string }>('SELECT id FROM buildings WHERE name = ?').get(p.building)?.id ??
          (() => {
            const id = newId('bld');
            this.db.prepare('INSERT INTO buildings (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)').run(id, p.building, t, t);
            return id;
          })();
      }
      let assetId: string | null = null;
      if (p.asset) {
        const byId = this.db
          .prepare<[string], { id: string; building_id: string }>('SELECT id, building_id FROM assets WHERE id = ?')
          .get(p.asset);
        if (byId) {
          if (buildingId && byId.building_id !== buildingId)
            throw new ConfigError(`asset ${p.asset} is not in building ${p.building}: drop --building, or name the asset of that building`);
          assetId = byId.id;
          buildingId = byId.building_id;
        } else {
          const found = this.db
            .prepare<[string], { id: string; building_id: string; building: string }>(
              'SELECT a.id, a.building_id, b.name AS building FROM assets a JOIN buildings b ON b.id = a.building_id WHERE a.name = ?',
            )
            .all(p.asset)
            .filter((a) => !buildingId || a.building_id === buildingId);
          if (found.length > 1) {
            throw new ConfigError(
              `asset "${p.asset}" exists in several buildings (${found.map((f) => f.building).join(', ')}): ` +
                'add --building NAME to say which',
            );
          }
          if (found.length === 1) {
            assetId = found[0].id;
            buildingId = found[0].building_id;
          } else {
            if (!buildingId) {
              throw new ConfigError(`no asset "${p.asset}" yet: add --building NAME to create it in that building (created when new)`);
            }
            assetId = newId('ast');
            this.db
              .prepare('INSERT INTO assets (id, building_id, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)')
              .run(assetId, buildingId, p.asset, t, t);
          }
        }
      }
      if (p.visit) {
        const v = this.db
          .prepare<[string], { id: string; building_id: string | null }>('SELECT id, building_id FROM visits WHERE name = ?')
          .get(p.visit);
        if (!v) {
          this.db
            .prepare('INSERT INTO visits (id, name, building_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)')
            .run(newId('vis'), p.visit, buildingId, t, t);
        } else if (!v.building_id && buildingId) {
          this.db.prepare('UPDATE visits SET building_id = ?, updated_at = ? WHERE id = ?').run(buildingId, t, v.id);
        }
      }
      return { buildingId, assetId, visit: p.visit ?? null };
    });
  }

  buildings(): Result<'buildings'> {
    return this.db
      .prepare<[], Result<'buildings'>[number] & Record<Condition, number>>(
        `SELECT b.id, b.name, b.address,
           (SELECT count(*) FROM assets a WHERE a.building_id = b.id) AS assets,
           (SELECT count(*) FROM observations o JOIN assets a ON a.id = o.asset_id WHERE a.building_id = b.id) AS photos,
           (SELECT count(DISTINCT o.visit_id) FROM observations o JOIN assets a ON a.id = o.asset_id WHERE a.building_id = b.id) AS visits,
           ${gradeColumns('(SELECT a.condition FROM assets a WHERE a.id = x.id)')}
         FROM buildings b LEFT JOIN assets x ON x.building_id = b.id
         GROUP BY b.id ORDER BY b.name`,
      )
      .all()
      .map((r) => ({
        id: r.id,
        name: r.name,
        address: r.address,
        assets: r.assets,
        photos: r.photos,
        visits: r.visits,
        conditions: grades(r),
      }));
  }

  buildingAssets(p: { buildingId: string }): Result<'buildingAssets'> {
    if (!this.db.prepare('SELECT 1 FROM buildings WHERE id = ?').get(p.buildingId)) throw new NotFoundError(`no building ${p.buildingId}`);
    return this.db
      .prepare<[string], AssetRow & { photos: number; visits: number; last_visit: string | null }>(
        `SELECT ${ASSET_COLUMNS},
           (SELECT count(*) FROM observations o WHERE o.asset_id = a.id) AS photos,
           (SELECT count(DISTINCT o.visit_id) FROM observations o WHERE o.asset_id = a.id) AS visits,
           (SELECT o.visit_id FROM observations o WHERE o.asset_id = a.id AND o.visit_id IS NOT NULL
            ORDER BY o.created_at DESC LIMIT 1) AS last_visit
         FROM assets a JOIN buildings b ON b.id = a.building_id WHERE a.building_id = ? ORDER BY a.name`,
      )
      .all(p.buildingId)
      .map((r) => ({ ...toAsset(r), photos: r.photos, visits: r.visits, lastVisit: r.last_visit }));
  }

  assetVisits(p: { assetId: string }): Result<'assetVisits'> {
    if (!this.db.prepare('SELECT 1 FROM assets WHERE id = ?').get(p.assetId)) throw new NotFoundError(`no asset ${p.assetId}`);
    return this.db
      .prepare<[string], { visit: string; photos: number; boxes: number; first_at: string; last_at: string } & Record<Condition, number>>(
        `SELECT o.visit_id AS visit, count(DISTINCT o.id) AS photos, count(d.id) AS boxes,
           min(o.created_at) AS first_at, max(o.created_at) AS last_at,
           ${gradeColumns("json_extract(d.attributes, '$.condition')")}
         FROM observations o LEFT JOIN detections d ON d.cv_job_id = o.current_job_id AND d.deleted = 0
         WHERE o.asset_id = ? AND o.visit_id IS NOT NULL
         GROUP BY o.visit_id ORDER BY last_at DESC, visit`,
      )
      .all(p.assetId)
      .map((r) => ({ visit: r.visit, photos: r.photos, boxes: r.boxes, firstAt: r.first_at, lastAt: r.last_at, conditions: grades(r) }));
  }

  photoContext(p: { observationId: string }): Result<'photoContext'> {
    const o = this.db
      .prepare<[string], { asset_id: string | null; visit_id: string | null }>('SELECT asset_id, visit_id FROM observations WHERE id = ?')
      .get(p.observationId);
    if (!o) throw new NotFoundError(`no photo ${p.observationId}`);
    return { asset: o.asset_id ? (this.asset(o.asset_id) ?? null) : null, visit: o.visit_id };
  }

  private asset(id: string): AssetInfo | undefined {
    const r = this.db
      .prepare<[string], AssetRow>(`SELECT ${ASSET_COLUMNS} FROM assets a JOIN buildings b ON b.id = a.building_id WHERE a.id = ?`)
      .get(id);
    return r && toAsset(r);
  }

  /** Writes a correction row and its outbox row (the caller's transaction); false when `clientEditId` was already applied. */
  private record(p: {
    observationId: string;
    detectionId: number | null;
    before: unknown;
    after: unknown;
    clientEditId?: string;
    at: string;
  }): void {
    const info = this.db
      .prepare(
        `INSERT INTO corrections (observation_id, detection_id, action, before, after, who, created_at, client_edit_id)
         VALUES (?, ?, 'update', ?, ?, ?, ?, ?)`,
      )
      .run(p.observationId, p.detectionId, JSON.stringify(p.before), JSON.stringify(p.after), this.opts.user, p.at, p.clientEditId ?? null);
    // a labels item: sync sends the photo's current label set, whose boxes carry their grade in attributes.condition
    this.outbox.enqueueLabels(p.observationId, {
      correctionId: Number(info.lastInsertRowid),
      observationId: p.observationId,
      detectionId: p.detectionId,
      action: 'update',
      before: p.before,
      after: p.after,
      who: this.opts.user,
      at: p.at,
    });
  }

  private applied(clientEditId: string | undefined): { observation_id: string; detection_id: number | null } | undefined {
    return clientEditId
      ? this.db
          .prepare<[string], { observation_id: string; detection_id: number | null }>(
            'SELECT observation_id, detection_id FROM corrections WHERE client_edit_id = ?',
          )
          .get(clientEditId)
      : undefined;
  }

  setDetectionCondition(p: Params<'setDetectionCondition'>): Result<'setDetectionCondition'> {
    const det = (id: number) => this.db.prepare<[number], DetRow>('SELECT * FROM detections WHERE id = ?').get(id);
    let changed: string | null = null;
    const result = immediate(this.db, () => {
      const done = this.applied(p.clientEditId);
      if (done) return toDetection(det(done.detection_id!)!);
      const d = det(p.detectionId);
      if (!d) throw new NotFoundError(`no detection ${p.detectionId}`);
      const job = this.db
        .prepare<[string], { current_job_id: string | null }>('SELECT current_job_id FROM observations WHERE id = ?')
        .get(d.observation_id);
      if (job?.current_job_id !== d.cv_job_id)
        throw new ConflictError('this photo was audited again since it was shown, and its boxes were replaced: it has been reloaded');
      if (d.version !== p.version)
        throw new ConflictError('this box was changed elsewhere (another tab or auditor) since it was shown: it has been reloaded');
      if (d.deleted) throw new InvalidRequestError(`detection ${d.id} is deleted: restore it first`);
      const t = now();
      const box = { x: d.x, y: d.y, width: d.width, height: d.height };
      const was = conditionOf(d.attributes);
      this.db
        .prepare(
          `UPDATE detections SET attributes = CASE WHEN @c IS NULL THEN json_remove(attributes, '$.condition')
             ELSE json_set(attributes, '$.condition', @c) END, version = version + 1, updated_at = @t WHERE id = @id`,
        )
        .run({ c: p.condition, t, id: d.id });
      this.record({
        observationId: d.observation_id,
        detectionId: d.id,
        before: { objectName: d.object_name, boundingBox: box, attributes: { condition: was } },
        after: { objectName: d.object_name, boundingBox: box, attributes: { condition: p.condition } },
        clientEditId: p.clientEditId,
        at: t,
      });
      this.db.prepare('UPDATE observations SET updated_at = ? WHERE id = ?').run(t, d.observation_id);
      changed = d.observation_id;
      return toDetection(det(d.id)!);
    });
    if (changed) this.opts.onChanged?.([changed]);
    return result;
  }

  setAssetCondition(p: Params<'setAssetCondition'>): Result<'setAssetCondition'> {
    let changed: string | null = null;
    const result = immediate(this.db, () => {
      const o = this.db
        .prepare<[string], { asset_id: string | null }>('SELECT asset_id FROM observations WHERE id = ?')
        .get(p.observationId);
      if (!o) throw new NotFoundError(`no photo ${p.observationId}`);
      if (!o.asset_id) throw new InvalidRequestError('this photo shows no asset: audit it with --building and --asset to grade the asset');
      const done = this.applied(p.clientEditId);
      const before = this.asset(o.asset_id);
      if (!before) throw new NotFoundError(`no asset ${o.asset_id} (named by this photo's metadata)`);
      if (done) return before;
      const t = now();
      this.db
        .prepare('UPDATE assets SET condition = ?, condition_at = ?, condition_by = ?, updated_at = ? WHERE id = ?')
        .run(p.condition, p.condition ? t : null, p.condition ? this.opts.user : null, t, o.asset_id);
      this.record({
        observationId: p.observationId,
        detectionId: null,
        before: { asset: { id: before.id, condition: before.condition } },
        after: { asset: { id: before.id, condition: p.condition } },
        clientEditId: p.clientEditId,
        at: t,
      });
      changed = p.observationId;
      return this.asset(o.asset_id)!;
    });
    if (changed) this.opts.onChanged?.([changed]);
    return result;
  }
}
