/**
 * What happens to the files of a watched folder, through the engine host's watch service (real chokidar,
 * real model, real SQLite): a deleted photo is recorded and keeps its results, a moved or renamed one
 * keeps its observation, new bytes at a path are a new observation beside the old one, files gone while
 * nothing watched are found on start, and a re-import of a kept folder uses its settings.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { EngineHost } from '../src/main/engine/host';
import { createRpcHandler } from '../src/main/engine/rpc';
import type { EngineEvent } from '../src/shared/rpc';
import { GENERAL, tmpDir } from './helpers';

const hosts: EngineHost[] = [];
afterEach(async () => {
  for (const h of hosts.splice(0)) await h.close({ timeoutMs: 30_000 });
});

function open(dbFile: string) {
  const host = EngineHost.open(dbFile, {
    user: 'tester',
    provider: 'cpu',
    watch: { stableMs: 300, batchMs: 100, syncMs: 300, recheckMs: 200 },
  });
  hosts.push(host);
  const events: EngineEvent[] = [];
  host.onEvent((e) => events.push(e));
  return { host, events, rpc: createRpcHandler(host) };
}

async function until<T>(what: string, fn: () => T | null | false | undefined, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Obs {
  id: string;
  source_path: string;
  status: string;
  source_state: string;
  detection_count: number;
}
const observations = (db: Database.Database) =>
  db.prepare('SELECT id, source_path, status, source_state, detection_count FROM observations ORDER BY created_at, id').all() as Obs[];
const sources = (db: Database.Database) =>
  db.prepare('SELECT path, observation_id, deleted_at IS NOT NULL AS deleted FROM observation_sources ORDER BY path').all() as {
    path: string;
    observation_id: string;
    deleted: number;
  }[];

describe('files of a watched folder', () => {
  it('deleted: recorded, its observation and results kept and marked deleted, visible in the queue and the folder list', async () => {
    const dir = tmpDir();
    const folder = path.join(dir, 'in');
    fs.mkdirSync(folder);
    fs.copyFileSync(path.join(GENERAL, 'dog.jpg'), path.join(folder, 'dog.jpg'));
    const { host, rpc } = open(path.join(dir, 'w.db'));
    host.start();
    await rpc('addImportFolder', { path: folder, location: 'Store 9' });
    const ro = new Database(path.join(dir, 'w.db'), { readonly: true });
    const dog = await until('the photo audited', () => observations(ro).find((o) => o.status === 'completed'));
    expect(dog.detection_count).toBeGreaterThan(0);
    const detections = (ro.prepare('SELECT count(*) AS n FROM detections WHERE observation_id = ?').get(dog.id) as { n: number }).n;
    fs.rmSync(path.join(folder, 'dog.jpg'));
    await until('the deletion recorded', () => observations(ro)[0].source_state === 'deleted');
    expect(observations(ro)).toEqual([{ ...dog, source_state: 'deleted' }]);
    expect(ro.prepare('SELECT count(*) AS n FROM detections WHERE observation_id = ?').get(dog.id)).toEqual({ n: detections });
    expect(sources(ro)).toEqual([{ path: path.join(folder, 'dog.jpg'), observation_id: dog.id, deleted: 1 }]);
    // visible: the queue item says so, and the folder counts it
    const queue = await rpc('queue', {});
    expect(queue.ok && (queue.result as { items: { sourceState: string }[] }).items.map((i) => i.sourceState)).toEqual(['deleted']);
    const folders = await rpc('importFolders', {});
    expect(folders).toMatchObject({ ok: true, result: [{ path: folder, photos: 1, deletedPhotos: 1, location: 'Store 9' }] });
    ro.close();
  });

  it('moved or renamed (also into a sub-folder): keeps its observation and results; the new path is added to its sources', async () => {
    const dir = tmpDir();
    const folder = path.join(dir, 'in');
    fs.mkdirSync(path.join(folder, 'sub'), { recursive: true });
    fs.copyFileSync(path.join(GENERAL, 'giraffe.jpg'), path.join(folder, 'giraffe.jpg'));
    const { host, rpc } = open(path.join(dir, 'w.db'));
    host.start();
    await rpc('addImportFolder', { path: folder });
    const ro = new Database(path.join(dir, 'w.db'), { readonly: true });
    const before = await until('the photo audited', () => observations(ro).find((o) => o.status === 'completed'));
    fs.renameSync(path.join(folder, 'giraffe.jpg'), path.join(folder, 'sub', 'renamed.jpg'));
    await until('the move recorded', () => observations(ro)[0].source_path === path.join(folder, 'sub', 'renamed.jpg'));
    await host.watch.idle();
    expect(observations(ro)).toEqual([{ ...before, source_path: path.join(folder, 'sub', 'renamed.jpg'), source_state: 'present' }]);
    expect(sources(ro)).toEqual([
      { path: path.join(folder, 'giraffe.jpg'), observation_id: before.id, deleted: 1 },
      { path: path.join(folder, 'sub', 'renamed.jpg'), observation_id: before.id, deleted: 0 },
    ]);
    expect(ro.prepare('SELECT count(*) AS n FROM cv_jobs').get()).toEqual({ n: 1 }); // not inferred again
    ro.close();
  });

  it('new bytes at the same path: a new observation; the old one stays with its results, marked changed, never served', async () => {
    const dir = tmpDir();
    const folder = path.join(dir, 'in');
    fs.mkdirSync(folder);
    const file = path.join(folder, 'shot.jpg');
    fs.copyFileSync(path.join(GENERAL, 'dog.jpg'), file);
    const { host, rpc, events } = open(path.join(dir, 'w.db'));
    host.start();
    await rpc('addImportFolder', { path: folder });
    const ro = new Database(path.join(dir, 'w.db'), { readonly: true });
    const old = await until('the first content audited', () => observations(ro).find((o) => o.status === 'completed'));
    // overwritten in place (a camera app saving an edit under the same name)
    fs.writeFileSync(file, fs.readFileSync(path.join(GENERAL, 'person.jpg')));
    await until('the new content audited', () => observations(ro).filter((o) => o.status === 'completed').length === 2);
    const [first, second] = observations(ro);
    expect(first).toEqual({ ...old, source_state: 'changed' });
    expect(second).toMatchObject({ source_path: file, status: 'completed', source_state: 'present' });
    expect(second.id).not.toBe(old.id);
    expect(sources(ro)).toEqual([{ path: file, observation_id: second.id, deleted: 0 }]);
    expect(ro.prepare('SELECT count(*) AS n FROM detections WHERE observation_id = ?').get(old.id)).toEqual({ n: old.detection_count });
    // the old boxes never get the new pixels
    expect(await host.openPhoto(old.id)).toMatchObject({ ok: false, status: 409 });
    const served = await host.openPhoto(second.id);
    expect(served.ok).toBe(true);
    if (served.ok) await served.close();
    const notes = events.flatMap((e) => (e.type === 'watch' && e.event.type === 'photo' && e.event.note ? [e.event.note] : []));
    expect(notes).toContainEqual(expect.stringMatching(/new content at this path: a new observation/));
    ro.close();
  });

  it('on start, photos deleted while nothing watched are marked deleted; photos added meanwhile are audited', async () => {
    const dir = tmpDir();
    const folder = path.join(dir, 'in');
    fs.mkdirSync(folder);
    fs.copyFileSync(path.join(GENERAL, 'dog.jpg'), path.join(folder, 'dog.jpg'));
    fs.copyFileSync(path.join(GENERAL, 'eagle.jpg'), path.join(folder, 'eagle.jpg'));
    const dbFile = path.join(dir, 'w.db');
    const first = open(dbFile);
    first.host.start();
    await first.rpc('addImportFolder', { path: folder });
    const ro = new Database(dbFile, { readonly: true });
    await until('both audited', () => observations(ro).filter((o) => o.status === 'completed').length === 2);
    await hosts.splice(0)[0].close({ timeoutMs: 30_000 });
    // nothing watches now
    fs.rmSync(path.join(folder, 'eagle.jpg'));
    fs.copyFileSync(path.join(GENERAL, 'giraffe.jpg'), path.join(folder, 'giraffe.jpg'));
    const second = open(dbFile);
    second.host.start();
    await until('the deletion found', () => observations(ro).some((o) => o.source_state === 'deleted'));
    await until('the new photo audited', () => observations(ro).filter((o) => o.status === 'completed').length === 3);
    expect(
      observations(ro)
        .map((o) => [path.basename(o.source_path), o.source_state])
        .sort(),
    ).toEqual([
      ['dog.jpg', 'present'],
      ['eagle.jpg', 'deleted'],
      ['giraffe.jpg', 'present'],
    ]);
    ro.close();
  });
});

describe('import folders through the contract', () => {
  it('add, pause, resume, remove; a re-import uses the folder’s kept location, visit and tiles', async () => {
    const dir = tmpDir();
    const folder = path.join(dir, 'visit-12');
    fs.mkdirSync(folder);
    fs.copyFileSync(path.join(GENERAL, 'dog.jpg'), path.join(folder, 'dog.jpg'));
    const dbFile = path.join(dir, 'w.db');
    const { host, rpc, events } = open(dbFile);
    host.start();
    expect(await rpc('addImportFolder', { path: path.join(dir, 'nope') })).toMatchObject({
      ok: false,
      error: { code: 'path-not-found', message: expect.stringMatching(/no such folder/) },
    });
    // kept without watching, with its settings
    const added = await rpc('addImportFolder', { path: folder, location: 'Store 12', visit: 'v-12', tiles: 2, watch: false });
    expect(added).toMatchObject({
      ok: true,
      result: { path: folder, location: 'Store 12', visit: 'v-12', tiles: 2, watch: false, paused: false, status: null },
    });
    // a re-import that gives no settings uses the kept ones
    const started = await rpc('startImport', { paths: [folder] });
    expect(started.ok).toBe(true);
    await host.imports.idle();
    const ro = new Database(dbFile, { readonly: true });
    expect(
      ro
        .prepare(
          `SELECT l.name AS location, o.visit_id AS visit, json_extract(j.options, '$.tiles') AS tiles
           FROM observations o JOIN locations l ON l.id = o.location_id JOIN cv_jobs j ON j.id = o.current_job_id`,
        )
        .all(),
    ).toEqual([{ location: 'Store 12', visit: 'v-12', tiles: 2 }]);
    // watched: its state comes as events; paused and resumed
    await rpc('addImportFolder', { path: folder, watch: true });
    await until('watching', () =>
      events.some((e) => e.type === 'watch-state' && e.status.path === folder && e.status.state === 'watching'),
    );
    expect(await rpc('pauseImportFolder', { path: folder })).toMatchObject({ ok: true, result: { paused: true } });
    await until('paused', () => host.watch.list()[0].status?.state === 'paused');
    fs.copyFileSync(path.join(GENERAL, 'eagle.jpg'), path.join(folder, 'eagle.jpg'));
    await new Promise((r) => setTimeout(r, 1000));
    expect(ro.prepare('SELECT count(*) AS n FROM observations').get()).toEqual({ n: 1 }); // paused: not taken
    await rpc('resumeImportFolder', { path: folder });
    await until('the photo that arrived while paused', () => observations(ro).filter((o) => o.status === 'completed').length === 2);
    expect(host.watch.list()[0]).toMatchObject({
      status: { state: 'watching', queued: 0, lastPhoto: path.join(folder, 'eagle.jpg') },
    });
    // it got the kept settings too
    expect(ro.prepare(`SELECT o.visit_id AS visit FROM observations o WHERE source_path LIKE '%eagle.jpg'`).get()).toEqual({
      visit: 'v-12',
    });
    expect(await rpc('removeImportFolder', { path: folder })).toEqual({ id: 0, ok: true, result: { ok: true } });
    expect(await rpc('importFolders', {})).toEqual({ id: 0, ok: true, result: [] });
    expect(await rpc('removeImportFolder', { path: folder })).toMatchObject({ ok: false, error: { code: 'not-found' } });
    expect(ro.prepare('SELECT count(*) AS n FROM observations').get()).toEqual({ n: 2 }); // results stay
    ro.close();
  });
});

describe('quitting while a watched folder is audited', () => {
  it('the host stops the watcher before closing the database: the photos in flight are written, none left processing', async () => {
    const dir = tmpDir();
    const folder = path.join(dir, 'in');
    fs.mkdirSync(folder);
    const dog = fs.readFileSync(path.join(GENERAL, 'dog.jpg'));
    for (let i = 0; i < 30; i++) fs.writeFileSync(path.join(folder, `d${i}.jpg`), Buffer.concat([dog, Buffer.from(`copy ${i}`)]));
    const dbFile = path.join(dir, 'w.db');
    const { host, rpc } = open(dbFile);
    host.start();
    const firstPhoto = new Promise<void>((resolve) =>
      host.onEvent((e) => {
        if (e.type === 'watch' && e.event.type === 'photo') resolve();
      }),
    );
    await rpc('addImportFolder', { path: folder });
    await firstPhoto; // mid-batch: one photo written, others in the model
    await hosts.splice(0)[0].close({ timeoutMs: 60_000 });
    expect(host.db.open).toBe(false);
    const ro = new Database(dbFile, { readonly: true });
    const byStatus = ro.prepare('SELECT status, count(*) AS n FROM observations GROUP BY status').all() as { status: string; n: number }[];
    expect(byStatus.find((r) => r.status === 'processing')).toBeUndefined();
    const done = byStatus.find((r) => r.status === 'completed')?.n ?? 0;
    expect(done).toBeGreaterThanOrEqual(1);
    expect(done).toBeLessThan(30); // it stopped mid-batch
    // every started job ended: completed with its detections, or marked interrupted; none left open
    expect(ro.prepare(`SELECT count(*) AS n FROM cv_jobs WHERE status IN ('queued', 'processing')`).get()).toEqual({ n: 0 });
    expect(ro.prepare(`SELECT count(*) AS n FROM cv_jobs WHERE status = 'completed'`).get()).toEqual({ n: done });
    expect(ro.prepare('SELECT count(*) AS n FROM runs').get()).toEqual({ n: 0 }); // its lease given back
    ro.close();
  });
});
