import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDb, migrate, type Db } from '../src/main/engine/db';
import { migrations } from '../src/main/engine/db/migrations';
import { runAudit } from '../src/main/engine/audit';
import { createRpcHandler } from '../src/main/engine/rpc';
import { EngineHost } from '../src/main/engine/host';
import { serve, type Served } from '../src/main/serve';
import { methods } from '../src/shared/rpc';
import { PHOTOS, GENERAL, tmpDir } from './helpers';

/**
 * Every test opens its own copy of one audited database (the 12 shared photos, made once in beforeAll
 * and closed): no test sees another's edits, so they pass in any order (vitest --sequence.shuffle).
 */
let pristine: string;
beforeAll(async () => {
  pristine = path.join(tmpDir(), 'pristine.db');
  const db = openDb(pristine);
  try {
    await runAudit({ paths: [PHOTOS], db, provider: 'cpu', location: 'Store 7', metadata: { visit_id: 'v-42' } });
  } finally {
    db.close();
  }
});

const opened: Db[] = [];
afterEach(() => {
  for (const d of opened.splice(0)) d.close();
});

interface Fresh {
  db: Db;
  host: EngineHost;
  photoId: (file: string) => string;
  corrections: (obs: string) => { action: string; detection_id: number | null; before: string | null; after: string | null; who: string }[];
}

/** A copy of the audited database, opened, with an engine host on it; closed after the test. */
function fresh({ closeAfterEach = true } = {}): Fresh {
  const file = path.join(tmpDir(), 'review.db');
  fs.copyFileSync(pristine, file);
  const db = openDb(file);
  if (closeAfterEach) opened.push(db);
  const host = new EngineHost(db, { user: 'rep_jane', modelLabels: ['person', 'dog', 'bottle'] });
  return {
    db,
    host,
    photoId: (name) => (db.prepare('SELECT id FROM observations WHERE source_path LIKE ?').get(`%/${name}`) as { id: string }).id,
    corrections: (obs) =>
      db
        .prepare('SELECT action, detection_id, before, after, who FROM corrections WHERE observation_id = ? ORDER BY id')
        .all(obs) as ReturnType<Fresh['corrections']>,
  };
}

describe('queues', () => {
  it('lists every photo uncertain-first (most model boxes under 0.5, then the lowest model confidence), paged', () => {
    const { host } = fresh();
    const all = host.review.queue({ filter: {}, sort: 'uncertain', offset: 0, limit: 100 });
    expect(all.total).toBe(12);
    // the README's rule, computed here from each photo's model boxes
    const priority = (id: string) => {
      const conf = host.review
        .photo({ observationId: id })
        .detections.filter((d) => d.source === 'model')
        .map((d) => d.confidence);
      return conf.length === 0 ? 1e6 : conf.filter((c) => c < 0.5).length + (1 - Math.min(...conf));
    };
    const keys = all.items.map((i) => priority(i.observationId));
    expect(keys).toEqual([...keys].sort((a, b) => b - a));
    expect(new Set(keys).size).toBeGreaterThan(3); // the order is not a tie
    const page = host.review.queue({ filter: {}, sort: 'uncertain', offset: 5, limit: 3 });
    expect(page.items.map((i) => i.observationId)).toEqual(all.items.slice(5, 8).map((i) => i.observationId));
    expect(all.items[0]).toMatchObject({ location: 'Store 7', visit: 'v-42', model: 'yolox-nano-coco', review: 'unreviewed' });
  });

  it('filters by label, confidence band, location, visit, model and review state; counts per queue', () => {
    const { host } = fresh();
    const dogs = host.review.queue({ filter: { label: 'dog' }, sort: 'path', offset: 0, limit: 100 });
    expect(dogs.items.map((i) => i.fileName)).toEqual(expect.arrayContaining(['dog.jpg', 'person.jpg']));
    expect(
      dogs.items.every((i) => host.review.photo({ observationId: i.observationId }).detections.some((d) => d.objectName === 'dog')),
    ).toBe(true);
    const band = host.review.queue({ filter: { confMin: 0.9 }, sort: 'uncertain', offset: 0, limit: 100 });
    expect(band.items.length).toBeGreaterThan(0);
    expect(band.items.every((i) => (i.topConfidence ?? 0) >= 0.9)).toBe(true);
    expect(host.review.queue({ filter: { location: 'Nowhere' }, sort: 'uncertain', offset: 0, limit: 10 }).total).toBe(0);
    expect(
      host.review.queue({
        filter: { location: 'Store 7', visit: 'v-42', model: 'yolox-nano-coco' },
        sort: 'uncertain',
        offset: 0,
        limit: 10,
      }).total,
    ).toBe(12);
    const counts = host.review.queueCounts({ filter: {} });
    expect(counts.byStatus.completed).toBe(12);
    expect(counts.locations).toEqual([{ name: 'Store 7', n: 12 }]);
    expect(counts.labels.find((l) => l.name === 'dog')!.n).toBe(dogs.total);
  });
});

describe('edits: each is a correction row (before, after, who) and an outbox row, in one transaction', () => {
  it('relabel and move, delete and restore, add, accept and flag', () => {
    const { db, host, photoId, corrections } = fresh();
    const obs = photoId('dog.jpg');
    const before = host.review.photo({ observationId: obs });
    const bike = before.detections.find((d) => d.objectName === 'bicycle')!;
    const moved = { ...bike.boundingBox, x: bike.boundingBox.x + 10 };

    const upd = host.review.updateDetection({ detectionId: bike.id, version: bike.version, objectName: 'motorcycle', boundingBox: moved });
    expect(upd).toMatchObject({ objectName: 'motorcycle', boundingBox: moved, corrected: true, source: 'model' });
    const del = host.review.deleteDetection({ detectionId: bike.id, version: upd.version });
    expect(host.review.photo({ observationId: obs }).detections.map((d) => d.id)).not.toContain(bike.id);
    host.review.restoreDetection({ detectionId: bike.id, version: del.version });
    const added = host.review.addDetection({ observationId: obs, objectName: 'bench', boundingBox: { x: 1, y: 2, width: 30, height: 40 } });
    expect(added).toMatchObject({ source: 'user', confidence: 1 });
    expect(() => host.review.setReview({ observationId: obs, review: 'flagged' })).toThrow(/needs a reason/);
    host.review.setReview({ observationId: obs, review: 'flagged', reason: 'blurry' });
    const item = host.review.setReview({ observationId: obs, review: 'reviewed' });
    expect(item).toMatchObject({ review: 'reviewed', flagReason: null });

    const rows = corrections(obs);
    expect(rows.map((r) => r.action)).toEqual(['update', 'delete', 'restore', 'add', 'review', 'review']);
    expect(rows.every((r) => r.who === 'rep_jane')).toBe(true);
    expect(JSON.parse(rows[0].before!)).toEqual({ objectName: 'bicycle', boundingBox: bike.boundingBox });
    expect(JSON.parse(rows[0].after!)).toEqual({ objectName: 'motorcycle', boundingBox: moved });
    expect(rows[3].detection_id).toBe(added.id);
    const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    expect(count(`SELECT count(*) AS n FROM outbox WHERE kind = 'correction'`)).toBe(count('SELECT count(*) AS n FROM corrections'));
    expect(count(`SELECT count(DISTINCT idempotency_key) AS n FROM outbox`)).toBe(count('SELECT count(*) AS n FROM outbox'));
    // one outbox row per correction, naming it, with what sync must send
    const all = db.prepare('SELECT id, observation_id, detection_id, action, before, after, who FROM corrections ORDER BY id').all() as {
      id: number;
      observation_id: string;
      detection_id: number | null;
      action: string;
      before: string | null;
      after: string | null;
      who: string;
    }[];
    const outbox = db.prepare(`SELECT ref, payload FROM outbox WHERE kind = 'correction' ORDER BY id`).all() as {
      ref: string;
      payload: string;
    }[];
    expect(outbox.map((o) => o.ref)).toEqual(all.map((c) => String(c.id)));
    all.forEach((c, i) =>
      expect(JSON.parse(outbox[i].payload)).toMatchObject({
        observationId: c.observation_id,
        detectionId: c.detection_id,
        action: c.action,
        before: c.before === null ? null : JSON.parse(c.before),
        after: c.after === null ? null : JSON.parse(c.after),
        who: 'rep_jane',
      }),
    );

    const after = host.review.photo({ observationId: obs });
    expect(after.item.detectionCount).toBe(before.detections.length + 1);
    // a drawn box is the auditor's, not the model's: top confidence stays the model's
    expect(after.item.topConfidence).toBe(Math.max(...after.detections.filter((d) => d.source === 'model').map((d) => d.confidence)));
    expect(after.labelCounts.find((l) => l.name === 'motorcycle')).toEqual({ name: 'motorcycle', n: 1 });
    expect(after.summary.totalProducts).toBe(after.detections.length);
  });

  it('refuses impossible edits with clear errors and changes nothing', () => {
    const { host, photoId, corrections } = fresh();
    const obs = photoId('person.jpg');
    const d = host.review.photo({ observationId: obs }).detections[0];
    const n = corrections(obs).length;
    expect(() =>
      host.review.updateDetection({ detectionId: d.id, version: d.version, boundingBox: { x: 0, y: 0, width: 0, height: 5 } }),
    ).toThrow(/positive width and height/);
    expect(() => host.review.updateDetection({ detectionId: 99999999, version: 1 })).toThrow(/no detection/);
    expect(corrections(obs)).toHaveLength(n);
  });

  it('the catalog offers model labels and imported SKUs, most used first', () => {
    const { host } = fresh();
    host.review.addCatalogItems([{ sku: '5449000000996', name: 'Coca-Cola 330ml' }]);
    const all = host.review.catalog({ query: '', limit: 200 });
    expect(all[0].uses).toBeGreaterThanOrEqual(all[1].uses);
    expect(all.find((e) => e.label === 'Coca-Cola 330ml')).toMatchObject({ source: 'catalog', sku: '5449000000996' });
    expect(host.review.catalog({ query: 'coca', limit: 10 }).map((e) => e.label)).toEqual(['Coca-Cola 330ml']);
    expect(host.review.catalog({ query: '544900', limit: 10 })).toHaveLength(1);
  });

  it('batch summary counts the current detections of the filtered photos', () => {
    const { db, host } = fresh();
    const s = host.review.batchSummary({ filter: {} });
    const total = db.prepare('SELECT sum(detection_count) AS n FROM observations').get() as { n: number };
    expect(s.photos).toBe(12);
    expect(s.summary.totalProducts).toBe(total.n);
    expect(s.labelCounts.reduce((a, r) => a + r.n, 0)).toBe(total.n);
  });
});

describe('a new run never replaces what an auditor reviewed or corrected', () => {
  it('keeps the reviewed result current after a re-audit with other options; an untouched photo moves on', async () => {
    const { db, host, photoId } = fresh();
    const reviewed = photoId('giraffe.jpg');
    const untouched = photoId('eagle.jpg');
    const before = host.review.photo({ observationId: reviewed });
    host.review.setReview({ observationId: reviewed, review: 'reviewed' });
    const jobBefore = (id: string) => (db.prepare('SELECT current_job_id AS j FROM observations WHERE id = ?').get(id) as { j: string }).j;
    const [r0, u0] = [jobBefore(reviewed), jobBefore(untouched)];
    await runAudit({
      paths: [path.join(GENERAL, 'giraffe.jpg'), path.join(GENERAL, 'eagle.jpg')],
      db,
      provider: 'cpu',
      confThreshold: 0.1,
    });
    expect(jobBefore(reviewed)).toBe(r0);
    expect(host.review.photo({ observationId: reviewed }).detections).toEqual(before.detections);
    expect(jobBefore(untouched)).not.toBe(u0);
  });
});

describe('RPC handler (zod at the boundary)', () => {
  it('validates params and maps errors', async () => {
    const { host } = fresh();
    const handle = () => createRpcHandler(host);
    expect(await handle()('nope', {}, 1)).toMatchObject({
      id: 1,
      ok: false,
      error: { code: 'bad-request', message: 'unknown method nope' },
    });
    expect(await handle()('queue', { limit: 'many' }, 2)).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    expect(await handle()('photo', { observationId: 'obs_missing' }, 3)).toMatchObject({ ok: false, error: { code: 'not-found' } });
    expect(await handle()('startImport', { paths: ['/no/such'] }, 4)).toMatchObject({
      ok: false,
      error: { code: 'path-not-found', message: expect.stringMatching(/no such file or folder/) },
    });
    const r = await handle()('queue', {}, 5);
    expect(r.ok && methods.queue.result.parse(r.result).total).toBe(12);
  });
});

describe('migration 002 on a database made by 001', () => {
  it('backfills current job, model, counts and top confidence', async () => {
    const file = path.join(tmpDir(), 'v1.db');
    const v1 = new Database(file);
    v1.pragma('foreign_keys = ON');
    migrate(v1, migrations, 1);
    v1.close();
    // an audit on the v1 schema is not possible (the engine migrates), so fill v1 by hand from a real run
    const src = openDb(path.join(tmpDir(), 'src.db'));
    await runAudit({ paths: [path.join(GENERAL, 'person.jpg')], db: src, provider: 'cpu' });
    const job = src.prepare(`SELECT * FROM cv_jobs`).get() as Record<string, unknown>;
    const obs = src.prepare(`SELECT * FROM observations`).get() as Record<string, unknown>;
    const dets = src.prepare(`SELECT * FROM detections`).all() as Record<string, unknown>[];
    src.close();
    const d1 = new Database(file);
    d1.prepare(
      `INSERT INTO observations (id, sha256, source_path, status, created_at, updated_at) VALUES (?, ?, ?, 'completed', ?, ?)`,
    ).run(obs.id, obs.sha256, obs.source_path, obs.created_at, obs.updated_at);
    d1.prepare(`INSERT INTO cv_jobs (id, observation_id, model, status, created_at, completed_at) VALUES (?, ?, ?, 'completed', ?, ?)`).run(
      job.id,
      obs.id,
      job.model,
      job.created_at,
      job.completed_at,
    );
    for (const d of dets)
      d1.prepare(
        `INSERT INTO detections (cv_job_id, observation_id, object_name, confidence, x, y, width, height) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(job.id, obs.id, d.object_name, d.confidence, d.x, d.y, d.width, d.height);
    d1.close();

    const d2 = openDb(file);
    expect(d2.pragma('user_version', { simple: true })).toBe(migrations[migrations.length - 1].version);
    const row = d2
      .prepare('SELECT current_job_id, model, detection_count, top_confidence, review_status FROM observations')
      .get() as Record<string, unknown>;
    expect(row).toEqual({
      current_job_id: job.id,
      model: 'yolox-nano-coco',
      detection_count: dets.length,
      top_confidence: Math.max(...dets.map((d) => d.confidence as number)),
      review_status: 'unreviewed',
    });
    expect(d2.prepare('SELECT count(*) AS n FROM corrections').get()).toEqual({ n: 0 });
    d2.close();
  });
});

describe('kliq-audit serve: token, origin and host', () => {
  // one server for this block: its tests read, and the one that imports a file checks only that file
  let served: Served;
  let renderer: string;
  let db: Db;
  let photoId: Fresh['photoId'];
  beforeAll(async () => {
    const f = fresh({ closeAfterEach: false });
    ({ db, photoId } = f);
    const host = f.host;
    renderer = tmpDir();
    fs.writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>t</title>');
    served = await serve({ host, rendererDir: renderer, port: 0 });
  });
  afterAll(async () => {
    await served?.close();
    db?.close();
  });

  const rpc = (url: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: 'open'; result: unknown } | { status: 'refused'; message: string }>((resolve) => {
      const ws = new WebSocket(url, { headers });
      ws.on('open', () => ws.send(JSON.stringify({ id: 7, method: 'queueCounts', params: {} })));
      ws.on('message', (m) => {
        resolve({ status: 'open', result: JSON.parse(m.toString()) });
        ws.close();
      });
      ws.on('error', (e) => resolve({ status: 'refused', message: e.message }));
    });

  it('answers with the token from its own origin, and refuses without it or from elsewhere', async () => {
    const base = `ws://127.0.0.1:${served.port}/rpc`;
    const good = await rpc(`${base}?token=${served.token}`, { Origin: `http://127.0.0.1:${served.port}` });
    expect(good).toMatchObject({ status: 'open', result: { kind: 'response', id: 7, ok: true } });
    expect(await rpc(base)).toMatchObject({ status: 'refused', message: expect.stringMatching(/401/) });
    expect(await rpc(`${base}?token=wrong${served.token}`)).toMatchObject({ status: 'refused', message: expect.stringMatching(/401/) });
    expect(await rpc(`${base}?token=${served.token}`, { Origin: 'http://evil.example' })).toMatchObject({
      status: 'refused',
      message: expect.stringMatching(/403/),
    });
    expect(await rpc(`${base}?token=${served.token}`, { Host: 'evil.example' })).toMatchObject({
      status: 'refused',
      message: expect.stringMatching(/403/),
    });
  });

  it('survives a bad escape and an oversized message, and serves no file that is not a photo', async () => {
    const base = `http://127.0.0.1:${served.port}`;
    expect((await fetch(`${base}/%E0%A4%A`)).status).toBe(400);
    const ws = new WebSocket(`ws://127.0.0.1:${served.port}/rpc?token=${served.token}`);
    await new Promise((r) => ws.once('open', r));
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    ws.send('x'.repeat(2 * 1024 * 1024));
    expect(await closed).toBe(1009);
    // a text file imported by name is a failed observation: its bytes are never served
    const dir = tmpDir();
    const secret = path.join(dir, 'secret.txt');
    fs.writeFileSync(secret, 'private key');
    await runAudit({ paths: [secret], db, provider: 'cpu' });
    const id = (db.prepare('SELECT id FROM observations WHERE source_path = ?').get(secret) as { id: string }).id;
    expect((await fetch(`${base}/photo/${id}?token=${served.token}`)).status).toBe(404);
    expect((await fetch(`${base}/`)).status).toBe(200); // still up
  });

  it('listens on 127.0.0.1 only: the same port on the other addresses of this machine refuses', async () => {
    // 127.0.0.2 is loopback too, but not the address serve binds; then every external IPv4 address
    const others = Object.values(os.networkInterfaces())
      .flat()
      .filter((a) => a !== undefined && a.family === 'IPv4' && !a.internal)
      .map((a) => a!.address);
    for (const address of ['127.0.0.2', ...others]) {
      const code = await fetch(`http://${address}:${served.port}/`).then(
        (r) => `answered ${r.status}`,
        (e: Error & { cause?: { code?: string } }) => e.cause?.code ?? e.message,
      );
      expect(code, address).toBe('ECONNREFUSED');
    }
    expect((await fetch(`http://127.0.0.1:${served.port}/`)).status).toBe(200);
  });

  it('serves photo pixels only with the token, and no file outside the UI folder', async () => {
    const id = photoId('dog.jpg');
    const base = `http://127.0.0.1:${served.port}`;
    expect((await fetch(`${base}/photo/${id}`)).status).toBe(401);
    const ok = await fetch(`${base}/photo/${id}?token=${served.token}`);
    expect(ok.status).toBe(200);
    expect(Buffer.from(await ok.arrayBuffer()).equals(fs.readFileSync(path.join(GENERAL, 'dog.jpg')))).toBe(true);
    expect((await fetch(`${base}/photo/obs_nope?token=${served.token}`)).status).toBe(404);
    expect((await fetch(`${base}/%2e%2e/%2e%2e/etc/passwd`)).status).toBe(404);
    expect((await fetch(`${base}/`)).headers.get('content-security-policy')).toMatch(/default-src 'self'/);
  });
});
