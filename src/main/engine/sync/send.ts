/**
 * One sender per outbox kind: what "send this item" means on the KLIQ API, and how a retry after a
 * crash or a lost answer stays exactly-once.
 *
 * - upload: ask for a signed URL (its idempotency key counts the URLs asked for), keep it, PUT the
 *   checked bytes; a retry PUTs to the same URL (the same upload), or, once it expired, first asks the
 *   server whether the image landed.
 * - observation / cvJob: a create with the item's stored key and a body frozen at the first attempt, so a
 *   replay returns the first answer (the API's Idempotency-Key contract) instead of creating twice.
 * - labels: a PUT of the observation's current label set based on the version we last saw; a 409 means
 *   someone else changed the server's set: see `sendLabels`.
 */
import type { KliqHttp, TenantClient } from '../../../kliq/client';
import { ConflictError } from '../../../kliq/errors';
import { MAX_UPLOAD_BYTES, type ObservationCreate } from '../../../kliq/wire';
import type { Outbox, OutboxItem, OutboxKind } from '../db/outbox';
import type { PhotoFiles } from '../photo-file';
import type { SyncStore, ObservationToSync } from './store';
import type { Detection } from '../../../shared/domain';

/** A reason the item cannot be sent as it is (a local problem or a refusal): kept, not retried until the user says. */
export class PermanentError extends Error {
  override name = 'PermanentError';
}
/** The item must wait (what it needs is not there yet): retried later, not counted as an error. */
export class WaitError extends Error {
  override name = 'WaitError';
}

export interface SendResult {
  action: 'created' | 'updated' | 'unchanged';
  remoteId: string;
}

export interface SendContext {
  store: SyncStore;
  outbox: Outbox;
  tenant: TenantClient;
  http: KliqHttp;
  photos: PhotoFiles;
  /** Remote ids of locations and visits, created when missing (one request per key even when asked concurrently). */
  remote: RemoteRefs;
  signal?: AbortSignal;
}

/** The name of the remote location photos audited without one go to (the API requires a location). */
export const DEFAULT_LOCATION_NAME = 'Unassigned';

/** Finds or creates the remote locations and visits that observations point to. */
export class RemoteRefs {
  private byName: Promise<Map<string, string>> | null = null;
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(
    private readonly store: SyncStore,
    private readonly tenant: TenantClient,
  ) {}

  private once(key: string, make: () => Promise<string>): Promise<string> {
    let p = this.inflight.get(key);
    if (!p) {
      p = make().finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  /** The tenant's locations by name, read once per sync (an existing location is reused, not duplicated). */
  private async remoteByName(name: string): Promise<string | null> {
    this.byName ??= (async () => {
      const m = new Map<string, string>();
      for await (const l of this.tenant.locations.listAll({ limit: 100 })) if (!m.has(l.name)) m.set(l.name, l.id);
      return m;
    })().catch((err: unknown) => {
      this.byName = null;
      throw err;
    });
    return (await this.byName).get(name) ?? null;
  }

  async location(localId: string | null): Promise<string> {
    if (localId) {
      const loc = this.store.location(localId);
      if (!loc) throw new PermanentError(`the photo's location ${localId} is not in the database`);
      if (loc.remote_id) return loc.remote_id;
      return this.once(`location:${localId}`, async () => {
        const id =
          (await this.remoteByName(loc.name)) ??
          (
            await this.tenant.locations.create(
              {
                name: loc.name,
                ...(loc.address ? { address: loc.address } : {}),
                ...(loc.latitude !== null ? { latitude: loc.latitude } : {}),
                ...(loc.longitude !== null ? { longitude: loc.longitude } : {}),
              },
              { idempotencyKey: `location:${localId}` },
            )
          ).id;
        this.store.setLocationRemote(localId, id);
        return id;
      });
    }
    const known = this.store.mapped('location', '');
    if (known) return known;
    return this.once('location:', async () => {
      const id =
        (await this.remoteByName(DEFAULT_LOCATION_NAME)) ??
        (
          await this.tenant.locations.create(
            { name: DEFAULT_LOCATION_NAME, metadata: { createdBy: 'kliq-audit', purpose: 'photos audited without a location' } },
            { idempotencyKey: 'location:unassigned' },
          )
        ).id;
      this.store.map('location', '', id);
      return id;
    });
  }

  /** A BuildingScan building: its remote id, found by name or created. */
  async building(localId: string): Promise<string> {
    const b = this.store.building(localId);
    if (!b) throw new PermanentError(`building ${localId} is not in the database`);
    if (b.remote_id) return b.remote_id;
    return this.once(`building:${localId}`, async () => {
      let id: string | null = null;
      for await (const r of this.tenant.buildings.listAll({ limit: 100 })) if (r.name === b.name) id ??= r.id;
      id ??= (
        await this.tenant.buildings.create(
          { name: b.name, ...(b.address ? { address: b.address } : {}) },
          { idempotencyKey: `building:${this.store.dbToken()}:${localId}` },
        )
      ).id;
      this.store.setRemote('buildings', localId, id);
      return id;
    });
  }

  /** A BuildingScan asset (created in its building when missing), with the auditor's condition grade. */
  async asset(localId: string): Promise<{ assetId: string; buildingId: string }> {
    const a = this.store.asset(localId);
    if (!a) throw new PermanentError(`asset ${localId} is not in the database`);
    const buildingId = await this.building(a.building_id);
    if (a.remote_id) return { assetId: a.remote_id, buildingId };
    const assetId = await this.once(`asset:${localId}`, async () => {
      const created = await this.tenant.assets.create(
        { buildingId, name: a.name, ...(a.kind ? { category: a.kind } : {}), ...(a.condition ? { condition: a.condition } : {}) },
        { idempotencyKey: `asset:${this.store.dbToken()}:${localId}` },
      );
      this.store.setRemote('assets', localId, created.id);
      this.store.map('asset-condition', localId, a.condition ?? '');
      return created.id;
    });
    return { assetId, buildingId };
  }

  /** The asset's grade on the server follows the auditor's (sent with the photo's labels). */
  async assetCondition(localId: string): Promise<void> {
    const a = this.store.asset(localId);
    if (!a?.remote_id) return;
    if ((this.store.mapped('asset-condition', localId) ?? '') === (a.condition ?? '')) return;
    await this.tenant.assets.update(a.remote_id, { condition: a.condition ?? undefined });
    this.store.map('asset-condition', localId, a.condition ?? '');
  }

  /** A visit (named by `--visit`): an API visit of the photo's location (and building), created once. */
  async visit(name: string, remoteLocationId: string): Promise<string> {
    const row = this.store.visitRow(name);
    if (row?.remote_id) return row.remote_id;
    const known = this.store.mapped('visit', name);
    if (known) return known;
    return this.once(`visit:${name}`, async () => {
      const buildingId = row?.building_id ? await this.building(row.building_id) : undefined;
      const v = await this.tenant.visits.create(
        { locationId: remoteLocationId, ...(buildingId ? { buildingId } : {}), metadata: { localVisitId: name } },
        { idempotencyKey: `visit:${this.store.dbToken()}:${name}` },
      );
      if (row) this.store.setRemote('visits', row.id, v.id);
      else this.store.map('visit', name, v.id);
      return v.id;
    });
  }
}

function mustObservation(ctx: SendContext, id: string): ObservationToSync {
  const o = ctx.store.observation(id);
  if (!o) throw new PermanentError(`observation ${id} is no longer in the database`);
  return o;
}

const fileName = (p: string) => p.split(/[\\/]/).pop() ?? p;

async function readChecked(ctx: SendContext, o: ObservationToSync): Promise<Buffer> {
  const px = await ctx.photos.open(o.id);
  if (!px.ok) {
    if (px.reason === 'changed')
      throw new PermanentError(`${o.source_path} changed since it was audited: re-import it (the new photo syncs on its own), then retry`);
    throw new PermanentError(`${o.source_path} is gone (moved, deleted or unreadable): put it back and retry`);
  }
  const chunks: Buffer[] = [];
  for await (const c of px.stream()) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function sendUpload(ctx: SendContext, item: OutboxItem): Promise<SendResult> {
  const o = mustObservation(ctx, item.ref);
  if (o.image_url) return { action: 'unchanged', remoteId: o.image_url };
  const contentType = o.mime_type;
  if (contentType !== 'image/jpeg' && contentType !== 'image/png') {
    throw new PermanentError(`${o.source_path} is ${contentType ?? 'not a photo'}; the KLIQ API takes JPEG and PNG only`);
  }
  if (o.bytes !== null && o.bytes > MAX_UPLOAD_BYTES) {
    throw new PermanentError(`${o.source_path} is ${(o.bytes / 1048576).toFixed(1)} MB; the KLIQ API takes 20 MB at most`);
  }
  let pending = ctx.store.pendingUpload(o);
  // a URL that expires within a minute is not used: the PUT could outlive it
  if (pending && Date.parse(pending.expiresAt) - 60_000 <= Date.now()) {
    // did the earlier PUT land before its answer was lost?
    const status = await ctx.http.probe(pending.imageUrl);
    if (status === 200) {
      ctx.store.setImageUrl(o.id, pending.imageUrl);
      return { action: 'unchanged', remoteId: pending.imageUrl };
    }
    if (status === 0 || status >= 500)
      throw new WaitError(`cannot tell whether the upload of ${fileName(o.source_path)} landed (HTTP ${status})`);
  }
  if (!pending || Date.parse(pending.expiresAt) - 60_000 <= Date.now()) {
    const n = (pending?.n ?? 0) + 1;
    const u = await ctx.tenant.observations.getUploadUrl(
      { contentType, filename: fileName(o.source_path) },
      { idempotencyKey: `${item.idempotencyKey}:url:${n}`, signal: ctx.signal },
    );
    pending = { uploadUrl: u.uploadUrl, imageUrl: u.imageUrl, expiresAt: u.expiresAt, n };
    ctx.store.setPendingUpload(o.id, pending);
  }
  const bytes = await readChecked(ctx, o);
  const done = await ctx.http.putBytes(pending.uploadUrl, bytes, contentType);
  ctx.store.setImageUrl(o.id, done.imageUrl);
  return { action: 'created', remoteId: done.imageUrl };
}

async function sendObservation(ctx: SendContext, item: OutboxItem): Promise<SendResult> {
  const o = mustObservation(ctx, item.ref);
  if (o.remote_id) return { action: 'unchanged', remoteId: o.remote_id };
  if (!o.image_url) throw new WaitError(`${fileName(o.source_path)} is not uploaded yet`);
  let body = (item.payload as { body?: ObservationCreate } | null)?.body;
  if (!body) {
    const locationId = await ctx.remote.location(o.location_id);
    const local = JSON.parse(o.metadata) as Record<string, unknown>;
    const visitId = o.visit_id ? await ctx.remote.visit(o.visit_id, locationId) : undefined;
    const asset = o.asset_id ? await ctx.remote.asset(o.asset_id) : undefined;
    body = {
      locationId,
      imageUrl: o.image_url,
      ...(o.latitude !== null ? { latitude: o.latitude } : {}),
      ...(o.longitude !== null ? { longitude: o.longitude } : {}),
      metadata: {
        ...local,
        ...(visitId ? { visitId } : {}),
        ...(asset ? { buildingId: asset.buildingId, assetId: asset.assetId } : {}),
        source: 'kliq-audit',
        localId: o.id,
        sha256: o.sha256,
        fileName: fileName(o.source_path),
        width: o.width,
        height: o.height,
        capturedAt: o.captured_at,
      },
    };
    ctx.store.freeze(item.id, { body });
  }
  const meta: { replayed?: boolean } = {};
  const created = await ctx.tenant.observations.create(body, { idempotencyKey: item.idempotencyKey, signal: ctx.signal, meta });
  ctx.store.setObservationRemote(o.id, created.id);
  return { action: meta.replayed ? 'unchanged' : 'created', remoteId: created.id };
}

async function sendCvJob(ctx: SendContext, item: OutboxItem): Promise<SendResult> {
  const job = ctx.store.job(item.ref);
  if (!job) throw new PermanentError(`CV job ${item.ref} is no longer in the database`);
  if (job.remote_id) return { action: 'unchanged', remoteId: job.remote_id };
  const o = mustObservation(ctx, job.observation_id);
  if (!o.remote_id) throw new WaitError(`the observation of ${fileName(o.source_path)} is not on the server yet`);
  if (job.status !== 'completed') throw new PermanentError(`CV job ${job.id} is ${job.status}, not completed`);
  let body = (item.payload as { body?: Parameters<TenantClient['cv']['submitResult']>[0] } | null)?.body;
  if (!body) {
    const out = ctx.store.modelOutput(job.id);
    const summary = out.summary ?? { totalProducts: out.detections.length, uniqueSKUs: 0, outOfStock: null, complianceScore: null };
    body = {
      observationId: o.remote_id,
      model: job.model,
      result: { detections: out.detections, summary },
      ...(job.completed_at ? { completedAt: job.completed_at } : {}),
    };
    ctx.store.freeze(item.id, { body, observationId: o.id });
  }
  const meta: { replayed?: boolean } = {};
  const created = await ctx.tenant.cv.submitResult(body, { idempotencyKey: item.idempotencyKey, signal: ctx.signal, meta });
  ctx.store.setJobRemote(job.id, created.id);
  return { action: meta.replayed ? 'unchanged' : 'created', remoteId: created.id };
}

/** Same boxes, labels, scores and attributes, in any order. */
export function sameLabels(a: Detection[], b: Detection[]): boolean {
  if (a.length !== b.length) return false;
  const key = (d: Detection) =>
    JSON.stringify([d.objectName, d.confidence, d.boundingBox.x, d.boundingBox.y, d.boundingBox.width, d.boundingBox.height, d.attributes]);
  const ka = a.map(key).sort();
  const kb = b.map(key).sort();
  return ka.every((k, i) => k === kb[i]);
}

/** Thrown by sendLabels when the server's set was changed by someone else: kept in the conflict log. */
export class LabelsConflict extends PermanentError {
  override name = 'LabelsConflict';
  constructor(
    readonly conflictId: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The observation's current label set, PUT with the version we last saw as its base. One PUT covers every
 * labels item enqueued before the snapshot (they are acked together). On 409:
 * - the server holds the same set (our earlier PUT landed, its answer was lost; or another process sent it):
 *   we take its version, nothing to send;
 * - else someone changed the server's set since our last sync. The rule: the newer server version wins;
 *   nothing is overwritten silently. Our set goes into the conflict log (Sync screen), the items stop with
 *   the reason, and the auditor chooses: send mine (over the server's) or keep the server's.
 */
async function sendLabels(ctx: SendContext, item: OutboxItem): Promise<SendResult & { covered: number }> {
  const o = mustObservation(ctx, item.ref);
  // a PUT made while this item waited its turn covered it already
  if (ctx.outbox.isSent(item.id)) return { action: 'updated', remoteId: o.remote_id ?? '', covered: 0 };
  if (!o.remote_id) throw new WaitError(`the observation of ${fileName(o.source_path)} is not on the server yet`);
  const open = ctx.store.openConflictOf(o.id);
  if (open !== null) {
    const reason = `waits on label conflict #${open} of ${fileName(o.source_path)}: choose on the Sync screen`;
    ctx.store.failLabels(o.id, reason);
    throw new LabelsConflict(open, reason);
  }
  // a grade of the photo's asset goes with its labels (first: a failure retries both)
  if (o.asset_id) await ctx.remote.assetCondition(o.asset_id);
  const snap = ctx.store.labelsSnapshot(o.id);
  const upTo = Math.max(snap.upTo ?? item.id, item.id);
  try {
    const put = await ctx.tenant.observations.putLabels(
      o.remote_id,
      { labels: snap.labels, baseVersion: snap.baseVersion, ...(snap.by ? { updatedBy: snap.by } : {}) },
      { signal: ctx.signal },
    );
    const covered = ctx.store.db.transaction(() => {
      ctx.store.setLabelsVersion(o.id, put.version);
      return ctx.outbox.ackLabels(o.id, upTo);
    })();
    return { action: 'updated', remoteId: o.remote_id, covered };
  } catch (err) {
    if (!(err instanceof ConflictError) || err.code === 'idempotency_in_progress') throw err;
    const server = await ctx.tenant.observations.getLabels(o.remote_id, { signal: ctx.signal });
    if (sameLabels(server.labels, snap.labels)) {
      const covered = ctx.store.db.transaction(() => {
        ctx.store.setLabelsVersion(o.id, server.version);
        return ctx.outbox.ackLabels(o.id, upTo);
      })();
      return { action: 'unchanged', remoteId: o.remote_id, covered };
    }
    const id = ctx.store.addConflict(o.id, snap.labels, server);
    const reason =
      `conflict: the server's labels of ${fileName(o.source_path)} were changed by ${server.updatedBy ?? 'someone else'} ` +
      `(version ${server.version}); the server's set was kept and yours is in the conflict log: choose on the Sync screen`;
    ctx.store.failLabels(o.id, reason);
    throw new LabelsConflict(id, reason);
  }
}

export async function send(ctx: SendContext, item: OutboxItem): Promise<SendResult & { covered?: number }> {
  const senders: Record<OutboxKind, (c: SendContext, i: OutboxItem) => Promise<SendResult & { covered?: number }>> = {
    upload: sendUpload,
    observation: sendObservation,
    cvJob: sendCvJob,
    labels: sendLabels,
  };
  const fn = senders[item.kind];
  if (!fn) throw new PermanentError(`unknown outbox item kind ${String(item.kind)}`);
  return fn(ctx, item);
}
