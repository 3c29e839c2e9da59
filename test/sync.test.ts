/**
 * Sync to the KLIQ API, end to end over real HTTP on 127.0.0.1: real audited databases (real photos, the
 * real ONNX model), the local KLIQ API server (with injected faults), the sync engine in process and the
 * `kliq-audit sync` CLI in child processes (killed with SIGKILL). What the server holds at the end is read
 * through the client and the server's own database: every photo once, every result once, the latest labels.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { KliqClient, type TenantClient } from '../src/kliq';
import { startApiServer, type ApiServer, type SeedTenant } from '../src/api-server/server';
import { openDb, type Db } from '../src/main/engine/db';
import { ReviewService } from '../src/main/engine/review';
import { BuildingService } from '../src/main/engine/buildings';
import { EngineHost } from '../src/main/engine/host';
import { MemorySecretStore } from '../src/main/engine/settings';
import { SyncEngine, type SyncOptions } from '../src/main/engine/sync';
import type { SyncDoneEvent, SyncEvent } from '../src/kliq/events';
import { GENERAL, ROOT, tmpDir } from './helpers';

const T: SeedTenant = { id: 't_sync', apiKey: 'key_sync_0123456789' };
const OTHER: SeedTenant = { id: 't_other', apiKey: 'key_other_0123456789' };
const TKEY = T.apiKey!;
const OKEY = OTHER.apiKey!;
const CLI = path.join(ROOT, 'bin', 'kliq-audit.mjs');

/** `n` distinct photos made from the sample photos at several sizes (the model finds objects in them). */
async function makePhotos(dir: string, n: number): Promise<void> {
  const sources = fs.readdirSync(GENERAL).filter((f) => /\.(jpe?g|png)$/i.test(f));
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) {
    const src = sources[i % sources.length];
    const width = 256 + Math.floor(i / sources.length) * 8;
    await sharp(path.join(GENERAL, src))
      .resize(width)
      .jpeg({ quality: 70 })
      .toFile(path.join(dir, `p${String(i).padStart(3, '0')}.jpg`));
  }
}

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })));
}

/** An audited database of `n` photos, made once per size and copied for each test (photos stay where they are). */
const audited = new Map<number, Promise<string>>();
function auditedDb(n: number): Promise<string> {
  let p = audited.get(n);
  if (!p) {
    p = (async () => {
      const dir = tmpDir();
      await makePhotos(path.join(dir, 'photos'), n);
      const file = path.join(dir, 'audited.db');
      const r = await run(['audit', path.join(dir, 'photos'), '--db', file, '--provider', 'cpu']);
      if (r.code !== 0) throw new Error(`audit failed: ${r.stderr}`);
      return file;
    })();
    audited.set(n, p);
  }
  return p;
}
async function copyOf(n: number): Promise<string> {
  const src = await auditedDb(n);
  const db = new Database(src);
  const file = path.join(tmpDir(), `copy-${n}.db`);
  await db.backup(file);
  db.close();
  return file;
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });

async function server(o: Parameters<typeof startApiServer>[0] = {}): Promise<ApiServer & { db: string }> {
  const db = o.db ?? path.join(tmpDir(), 'api.db');
  const s = await startApiServer({ tenants: [T, OTHER], rateLimitPerSecond: 10_000, ...o, db });
  return Object.assign(s, { db });
}

/** The test's own view of the server (it retries through the injected faults quickly). */
const tenantOf = (s: ApiServer, t = T) =>
  new KliqClient({ baseUrl: `${s.url}/v1`, apiKey: t.apiKey!, retryDelaysMs: [20, 50, 100, 200, 400, 800] }).forTenant(t.id);

async function drain(db: Db, s: ApiServer, o: Partial<SyncOptions> = {}): Promise<{ done: SyncDoneEvent; events: SyncEvent[] }> {
  const engine = new SyncEngine(db, {
    target: { baseUrl: `${s.url}/v1`, tenantId: T.id },
    credentials: { apiKey: TKEY },
    backoffBaseMs: 20,
    backoffCapMs: 200,
    ...o,
  });
  const events: SyncEvent[] = [];
  for await (const e of engine.events()) events.push(e);
  return { done: events.at(-1) as SyncDoneEvent, events };
}

/** What the server holds for the tenant: observations by local id, CV jobs, uploads, labels. */
async function onServer(s: ApiServer & { db: string }, tenant: TenantClient) {
  const observations = [];
  for await (const o of tenant.observations.listAll({ limit: 100 })) observations.push(o);
  const jobs = [];
  for await (const j of tenant.cv.listAll({ limit: 100 })) jobs.push(j);
  const api = new Database(s.db, { readonly: true });
  const uploads = (api.prepare('SELECT count(*) AS n FROM uploads WHERE uploaded_at IS NOT NULL').get() as { n: number }).n;
  api.close();
  return { observations, jobs, uploads, byLocal: new Map(observations.map((o) => [o.metadata.localId as string, o])) };
}

const local = (file: string) => {
  const db = openDb(file);
  return {
    db,
    ids: db.prepare(`SELECT id FROM observations WHERE status = 'completed' ORDER BY id`).pluck().all() as string[],
    labels: (id: string) =>
      db
        .prepare(
          `SELECT d.object_name AS objectName, d.x, d.y, d.width, d.height
           FROM detections d JOIN observations o ON o.current_job_id = d.cv_job_id
           WHERE o.id = ? AND d.deleted = 0 ORDER BY d.id`,
        )
        .all(id) as { objectName: string; x: number; y: number; width: number; height: number }[],
  };
};
const flat = (labels: { objectName: string; boundingBox: { x: number; y: number; width: number; height: number } }[]) =>
  labels.map((l) => ({ objectName: l.objectName, ...l.boundingBox }));

/** Some edits, as an auditor makes them: relabel the first box, delete the second, draw one. */
function edit(db: Db, ids: string[]): string[] {
  const review = new ReviewService(db, { user: 'auditor@test' });
  const edited: string[] = [];
  for (const id of ids) {
    const p = review.photo({ observationId: id });
    const [a, b] = p.detections;
    if (a) review.updateDetection({ detectionId: a.id, version: a.version, objectName: 'refrigerator' });
    if (b) review.deleteDetection({ detectionId: b.id, version: b.version });
    review.addDetection({ observationId: id, objectName: 'bottle', boundingBox: { x: 1, y: 2, width: 30, height: 40 } });
    edited.push(id);
  }
  return edited;
}

beforeAll(async () => {
  await auditedDb(200);
}, 600_000);

describe('sync: every photo, result and correction on the server exactly once', () => {
  it('200 photos through 20 % injected faults: 200 uploads, observations and results, the corrected labels, nothing twice', async () => {
    const file = await copyOf(200);
    const s = await server({ faultRate: 0.2, faultSeed: 7 });
    const L = local(file);
    expect(L.ids).toHaveLength(200);
    const editedBefore = edit(L.db, L.ids.slice(0, 20));
    const first = await drain(L.db, s);
    expect(first.done.reason).toBe('drained');
    expect(first.done.counts.failed).toBe(0);
    expect(s.stats.faults).toBeGreaterThan(50); // the faults really happened

    // later corrections (some photos edited twice) reach the server in a second sync
    const editedAfter = edit(L.db, [...L.ids.slice(10, 15), ...L.ids.slice(100, 110)]);
    const second = await drain(L.db, s);
    expect(second.done.reason).toBe('drained');
    expect(second.done.counts.failed).toBe(0);

    const tenant = tenantOf(s);
    const srv = await onServer(s, tenant);
    expect(srv.observations).toHaveLength(200);
    expect(srv.byLocal.size).toBe(200);
    expect([...srv.byLocal.keys()].sort()).toEqual(L.ids);
    expect(srv.uploads).toBe(200);
    expect(srv.jobs).toHaveLength(200);
    expect(new Set(srv.jobs.map((j) => j.observationId)).size).toBe(200);
    expect(srv.jobs.every((j) => j.status === 'completed' && j.source === 'device' && j.result !== null)).toBe(true);
    // every photo without a location went to the one default location
    expect(new Set(srv.observations.map((o) => o.locationId)).size).toBe(1);
    const loc = await tenant.locations.get(srv.observations[0].locationId);
    expect(loc.name).toBe('Unassigned');

    // the server's labels are the local corrected set, for every edited photo
    for (const id of new Set([...editedBefore, ...editedAfter])) {
      const remote = await tenant.observations.getLabels(srv.byLocal.get(id)!.id);
      expect(flat(remote.labels), id).toEqual(L.labels(id));
      expect(remote.updatedBy).toBe('auditor@test');
    }
    // the CV result is what the model said, not the corrections
    const j0 = srv.jobs.find((j) => j.observationId === srv.byLocal.get(L.ids[0])!.id)!;
    expect(j0.result!.detections.some((d) => d.objectName === 'bottle' && d.boundingBox.x === 1)).toBe(false);
    // nothing left to send; a third sync sends nothing
    const third = await drain(L.db, s);
    expect(third.done.counts).toMatchObject({ upload: 0, observation: 0, cvJob: 0, labels: 0, failed: 0 });
    expect(L.db.prepare('SELECT count(*) FROM outbox WHERE sent_at IS NULL').pluck().get()).toBe(0);
    L.db.close();
    await s.close();
  });

  it('the sync process killed with SIGKILL at random points five times, then restarted, ends the same', async () => {
    const file = await copyOf(200);
    const s = await server({ latencyMs: 15 });
    const L = local(file);
    edit(L.db, L.ids.slice(0, 30));
    L.db.close();
    const env = { KLIQ_API_KEY: TKEY };
    const args = ['sync', '--db', file, '--api', `${s.url}/v1`, '--tenant', T.id];
    const sentCount = () => {
      const ro = new Database(file, { readonly: true });
      try {
        return ro.prepare('SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL').pluck().get() as number;
      } finally {
        ro.close();
      }
    };
    let killedMidway = 0;
    for (let k = 0; k < 5; k++) {
      // killed after a random number (10–80) of further items reached the server: a random point mid-way
      const target = sentCount() + 10 + Math.floor(Math.random() * 70);
      const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: 'ignore', env: { ...process.env, ...env } });
      let exited = false;
      const ended = new Promise<string | null>((resolve) =>
        child.on('exit', (_c, signal) => {
          exited = true;
          resolve(signal);
        }),
      );
      while (!exited && sentCount() < target) await new Promise((r) => setTimeout(r, 10 + Math.random() * 20));
      child.kill('SIGKILL');
      if ((await ended) === 'SIGKILL') killedMidway++;
    }
    expect(killedMidway).toBe(5);
    const partial = sentCount();
    expect(partial).toBeGreaterThan(50); // the kills landed while items were moving
    expect(partial).toBeLessThan(600);
    const last = await run(args, env);
    expect(last.stderr).toMatch(/done in/);
    expect(last.code).toBe(0);

    const tenant = tenantOf(s);
    const srv = await onServer(s, tenant);
    const L2 = local(file);
    expect(srv.observations).toHaveLength(200);
    expect([...srv.byLocal.keys()].sort()).toEqual(L2.ids);
    expect(srv.uploads).toBe(200);
    expect(srv.jobs).toHaveLength(200);
    for (const id of L2.ids.slice(0, 30)) {
      expect(flat((await tenant.observations.getLabels(srv.byLocal.get(id)!.id)).labels)).toEqual(L2.labels(id));
    }
    L2.db.close();
    await s.close();
  });

  it('two sync processes on one database at once send each item once between them', async () => {
    const file = await copyOf(200);
    const s = await server({ latencyMs: 5 });
    const L = local(file);
    edit(L.db, L.ids.slice(0, 20));
    const other = openDb(file);
    const [a, b] = await Promise.all([drain(L.db, s), drain(other, s)]);
    expect(a.done.reason).toBe('drained');
    expect(b.done.reason).toBe('drained');
    expect(a.done.counts.failed + b.done.counts.failed).toBe(0);
    // each did part of the work
    expect(a.done.counts.upload).toBeGreaterThan(0);
    expect(b.done.counts.upload).toBeGreaterThan(0);
    expect(a.done.counts.upload + b.done.counts.upload).toBe(200);
    const tenant = tenantOf(s);
    const srv = await onServer(s, tenant);
    expect(srv.observations).toHaveLength(200);
    expect(srv.uploads).toBe(200);
    expect(srv.jobs).toHaveLength(200);
    for (const id of L.ids.slice(0, 20)) {
      expect(flat((await tenant.observations.getLabels(srv.byLocal.get(id)!.id)).labels)).toEqual(L.labels(id));
    }
    other.close();
    L.db.close();
    await s.close();
  });

  it('started offline, it waits and sends everything once the API appears', async () => {
    const file = await copyOf(200);
    const port = await freePort();
    const L = local(file);
    const engine = new SyncEngine(L.db, {
      target: { baseUrl: `http://127.0.0.1:${port}/v1`, tenantId: T.id },
      credentials: { apiKey: TKEY },
      backoffBaseMs: 20,
      backoffCapMs: 200,
    });
    const events: SyncEvent[] = [];
    const done = engine.run((e) => events.push(e));
    await new Promise((r) => setTimeout(r, 1500));
    expect(engine.snapshot().state).toBe('offline');
    expect(events.some((e) => e.type === 'error' && e.statusCode === 0 && e.retryable)).toBe(true);
    const s = await server({ port });
    const end = await done;
    expect(end.reason).toBe('drained');
    expect(end.counts).toMatchObject({ upload: 200, observation: 200, cvJob: 200, failed: 0 });
    expect((await onServer(s, tenantOf(s))).observations).toHaveLength(200);
    L.db.close();
    await s.close();
  });

  it('a photo whose file is gone fails with its reason and blocks only its own items; the CLI exits 1 and names it', async () => {
    const file = await copyOf(200);
    const s = await server();
    const L = local(file);
    const victim = L.db.prepare('SELECT id, source_path FROM observations WHERE id = ?').get(L.ids[3]) as {
      id: string;
      source_path: string;
    };
    const moved = `${victim.source_path}.away`;
    fs.renameSync(victim.source_path, moved);
    try {
      L.db.close();
      const r = await run(['sync', '--db', file, '--api', `${s.url}/v1`, '--tenant', T.id], { KLIQ_API_KEY: TKEY });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${victim.source_path} is gone`);
      expect(r.stderr).toMatch(/597 sent \(199 photos, 199 observations, 199 results, 0 label sets\), 0 already there, 3 failed/);
      const srv = await onServer(s, tenantOf(s));
      expect(srv.observations).toHaveLength(199);
      expect(srv.byLocal.has(victim.id)).toBe(false);
      // put back, retried: it goes, once
      fs.renameSync(moved, victim.source_path);
      const again = await run(['sync', '--db', file, '--api', `${s.url}/v1`, '--tenant', T.id, '--retry-failed'], { KLIQ_API_KEY: TKEY });
      expect(again.code).toBe(0);
      expect((await onServer(s, tenantOf(s))).observations).toHaveLength(200);
    } finally {
      if (fs.existsSync(moved)) fs.renameSync(moved, victim.source_path);
    }
    await s.close();
  });
});

describe('sync: labels conflicts are never overwritten silently', () => {
  it('the server changed since our last sync: it keeps its set, ours goes to the conflict log; the auditor decides', async () => {
    const file = await copyOf(200);
    const s = await server();
    const L = local(file);
    const [a, b] = L.ids;
    edit(L.db, [a, b]);
    expect((await drain(L.db, s)).done.counts.failed).toBe(0);
    const tenant = tenantOf(s);
    const srv = await onServer(s, tenant);
    // a colleague changes both photos' labels on the server
    const theirs = [{ objectName: 'cat', confidence: 1, boundingBox: { x: 5, y: 5, width: 10, height: 10 }, attributes: {} }];
    for (const id of [a, b]) {
      const remote = srv.byLocal.get(id)!.id;
      const cur = await tenant.observations.getLabels(remote);
      await tenant.observations.putLabels(remote, { labels: theirs, baseVersion: cur.version, updatedBy: 'colleague@test' });
    }
    // and the auditor edits both again here
    edit(L.db, [a, b]);
    const r = await drain(L.db, s);
    expect(r.done.counts.failed).toBe(6); // the three edits of each photo
    const engine = new SyncEngine(L.db, { target: { baseUrl: `${s.url}/v1`, tenantId: T.id }, credentials: { apiKey: TKEY } });
    const conflicts = engine.store.conflicts();
    expect(conflicts.map((c) => c.observationId).sort()).toEqual([a, b].sort());
    expect(conflicts[0].remoteBy).toBe('colleague@test');
    expect(r.events.some((e) => e.type === 'error' && e.code === 'label_conflict' && !e.retryable)).toBe(true);
    for (const id of [a, b]) expect(flat((await tenant.observations.getLabels(srv.byLocal.get(id)!.id)).labels)).toEqual(flat(theirs));

    // the auditor sends theirs for a, keeps the server's for b
    const ca = conflicts.find((c) => c.observationId === a)!;
    const cb = conflicts.find((c) => c.observationId === b)!;
    expect(engine.store.resolveConflict(ca.id, 'send-mine')).toBe(a);
    expect(engine.store.resolveConflict(cb.id, 'keep-server')).toBe(b);
    expect(engine.store.resolveConflict(cb.id, 'send-mine')).toBeNull(); // decided once
    const after = await drain(L.db, s);
    expect(after.done.counts).toMatchObject({ labels: 3, failed: 0 }); // a's three edits, covered by one PUT:
    const mine = await tenant.observations.getLabels(srv.byLocal.get(a)!.id);
    expect(mine.version).toBe(ca.remoteVersion + 1);
    expect(flat(mine.labels)).toEqual(L.labels(a));
    expect(flat((await tenant.observations.getLabels(srv.byLocal.get(b)!.id)).labels)).toEqual(flat(theirs));
    expect(engine.store.conflicts()).toEqual([]);
    L.db.close();
    await s.close();
  });
});

describe('sync: the CLI, targets and the catalog', () => {
  it('exit 2 without a key, with a refused key, or to another tenant than the database synced to; the key never printed', async () => {
    const file = await copyOf(200);
    const s = await server();
    const base = ['sync', '--db', file, '--api', `${s.url}/v1`, '--tenant', T.id];
    const noKey = await run(base, { KLIQ_API_KEY: '' });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/KLIQ_API_KEY/);
    const bad = await run(base, { KLIQ_API_KEY: 'key_wrong_0123456789' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/refused the key \(401\)/);
    expect(bad.stderr).not.toContain('key_wrong_0123456789');
    const ok = await run(base, { KLIQ_API_KEY: TKEY });
    expect(ok.code).toBe(0);
    expect(ok.stderr).not.toContain(TKEY);
    const other = await run(['sync', '--db', file, '--api', `${s.url}/v1`, '--tenant', OTHER.id], { KLIQ_API_KEY: OKEY });
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/this database syncs to tenant t_sync/);
    await s.close();
  });

  it('pulls the tenant catalog and pushes local SKUs; locations map by name and are created when missing', async () => {
    const file = await copyOf(200);
    const s = await server();
    const tenant = tenantOf(s);
    await tenant.catalog.create({ sku: 'SKU-REMOTE', name: 'Remote cola' });
    const shop = await tenant.locations.create({ name: 'Shop 12' });
    const L = local(file);
    new ReviewService(L.db, { user: 'a' }).addCatalogItems([{ sku: 'SKU-LOCAL', name: 'Local water' }]);
    const now = new Date().toISOString();
    L.db
      .prepare(`INSERT INTO locations (id, name, created_at, updated_at) VALUES ('loc_a', 'Shop 12', ?, ?), ('loc_b', 'Shop 99', ?, ?)`)
      .run(now, now, now, now);
    L.db.prepare(`UPDATE observations SET location_id = 'loc_a' WHERE id = ?`).run(L.ids[0]);
    L.db.prepare(`UPDATE observations SET location_id = 'loc_b' WHERE id = ?`).run(L.ids[1]);
    const r = await drain(L.db, s);
    expect(r.done.counts.failed).toBe(0);
    const skus = [];
    for await (const c of tenant.catalog.listAll()) skus.push(c.sku);
    expect(skus.sort()).toEqual(['SKU-LOCAL', 'SKU-REMOTE']);
    expect(L.db.prepare(`SELECT name FROM catalog WHERE sku = 'SKU-REMOTE' AND remote_id IS NOT NULL`).pluck().get()).toBe('Remote cola');
    const srv = await onServer(s, tenant);
    expect(srv.byLocal.get(L.ids[0])!.locationId).toBe(shop.id);
    const created = await tenant.locations.get(srv.byLocal.get(L.ids[1])!.locationId);
    expect(created.name).toBe('Shop 99');
    const names = [];
    for await (const l of tenant.locations.listAll()) names.push(l.name);
    expect(names.sort()).toEqual(['Shop 12', 'Shop 99', 'Unassigned']);
    L.db.close();
    await s.close();
  });
});

describe('sync: BuildingScan', () => {
  it("buildings, assets (with the auditor's grade) and visits are created on the API once; a new grade follows the labels", async () => {
    const dir = tmpDir();
    const photos = path.join(dir, 'photos');
    fs.mkdirSync(photos);
    for (const f of ['dog.jpg', 'person.jpg']) fs.copyFileSync(path.join(GENERAL, f), path.join(photos, f));
    const file = path.join(dir, 'bs.db');
    const a = await run(['audit', photos, '--db', file, '--provider', 'cpu', '--building', 'HQ', '--asset', 'Roof', '--visit', 'V1']);
    expect(a.code, a.stderr).toBe(0);
    const s = await server();
    const L = local(file);
    const b = new BuildingService(L.db, { user: 'inspector@test' });
    b.setAssetCondition({ observationId: L.ids[0], condition: 'poor' });
    expect((await drain(L.db, s)).done.counts.failed).toBe(0);
    const tenant = tenantOf(s);
    const buildings = (await tenant.buildings.list()).data;
    expect(buildings.map((x) => x.name)).toEqual(['HQ']);
    const assets = (await tenant.assets.list({ buildingId: buildings[0].id })).data;
    expect(assets.map((x) => [x.name, x.condition])).toEqual([['Roof', 'poor']]);
    const visits = (await tenant.visits.list()).data;
    expect(visits).toHaveLength(1);
    expect(visits[0]).toMatchObject({ buildingId: buildings[0].id, metadata: { localVisitId: 'V1' } });
    const srv = await onServer(s, tenant);
    for (const o of srv.observations) {
      expect(o.metadata).toMatchObject({ buildingId: buildings[0].id, assetId: assets[0].id, visitId: visits[0].id });
    }
    // the auditor changes the grade: the asset on the server follows
    b.setAssetCondition({ observationId: L.ids[1], condition: 'critical' });
    expect((await drain(L.db, s)).done.counts.failed).toBe(0);
    expect((await tenant.assets.get(assets[0].id)).condition).toBe('critical');
    expect((await tenant.buildings.list()).data).toHaveLength(1);
    expect((await tenant.assets.list()).data).toHaveLength(1);
    L.db.close();
    await s.close();
  });
});

describe('sync from the settings (the desktop app, serve without --api)', () => {
  it('is off until the Settings say where and with what key; saved settings start it, and it sends everything', async () => {
    const file = await copyOf(200);
    const s = await server();
    const host = EngineHost.open(file, { user: 'settings-user', settings: { dir: tmpDir(), secrets: new MemorySecretStore() } }).start();
    try {
      await new Promise((r) => setTimeout(r, 200));
      expect(host.sync.status()).toMatchObject({ configured: false, state: 'off', lastError: 'sync is off (Settings → Sync)' });
      const current = host.settings.settings();
      await host.settings.save(
        {
          ...current,
          api: { ...current.api, baseUrl: `${s.url}/v1`, tenantId: T.id },
          auth: { method: 'apiKey' },
          sync: { enabled: true },
        },
        { apiKey: TKEY },
      );
      const end = Date.now() + 60_000;
      while (host.sync.status().pending > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
      expect(host.sync.status()).toMatchObject({ configured: true, pending: 0, failed: 0 });
      expect((await onServer(s, tenantOf(s))).observations).toHaveLength(200);
      // turned off again: the background sync stops
      await host.settings.save({ ...host.settings.settings(), sync: { enabled: false } });
      await new Promise((r) => setTimeout(r, 200));
      expect(host.sync.status().state).toBe('off');
    } finally {
      await host.close();
      await s.close();
    }
  });
});
