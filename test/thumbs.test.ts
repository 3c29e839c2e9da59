/**
 * Thumbnails (issue 13, "Review at auditor speed"): made at audit from real photos with real sharp, kept
 * beside the database by content, served by `serve` (/thumb, with the token) and by the engine thread the
 * desktop app uses (kliq-photo://<id>/thumb), made lazily for photos audited before, never twice, a
 * bounded number at once, and a clear 404/409/410 when the photo cannot be read.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../src/main/engine/db';
import { runAudit } from '../src/main/engine/audit';
import { EngineHost } from '../src/main/engine/host';
import { EngineThread } from '../src/main/engine/thread/client';
import { MemorySecretStore } from '../src/main/engine/settings';
import { THUMB_CONCURRENCY, THUMB_SIZE, ThumbAborted, ThumbCache, thumbsDirFor } from '../src/main/engine/thumbs';
import { serve, type Served } from '../src/main/serve';
import { GENERAL, tmpDir } from './helpers';

let dir: string;
let photos: string;
let dbFile: string;
let thumbsDir: string;
let db: Db;
let host: EngineHost;
let served: Served;
let base: string;

const NAMES = ['dog.jpg', 'person.jpg', 'fruits.jpg', 'giraffe.jpg', 'coffee.png'];

interface Obs {
  id: string;
  sha256: string;
  width: number;
  height: number;
}
const obsOf = (file: string): Obs =>
  db.prepare('SELECT id, sha256, width, height FROM observations WHERE source_path = ?').get(path.join(photos, file)) as Obs;
const keptFile = (sha256: string) => path.join(thumbsDir, sha256.slice(0, 2), `${sha256}.thumb`);
const getThumb = (id: string, token: string | null = served.token) =>
  fetch(`${base}/thumb/${id}${token === null ? '' : `?token=${token}`}`);

beforeAll(async () => {
  dir = tmpDir('kliq-thumbs-');
  photos = path.join(dir, 'photos');
  fs.mkdirSync(photos);
  for (const n of NAMES) fs.copyFileSync(path.join(GENERAL, n), path.join(photos, n));
  // a camera photo stored sideways: EXIF orientation 6 (the viewer turns it 90° clockwise)
  await sharp(path.join(GENERAL, 'eagle.jpg')).withMetadata({ orientation: 6 }).toFile(path.join(photos, 'sideways.jpg'));
  dbFile = path.join(dir, 'thumbs.db');
  thumbsDir = thumbsDirFor(dbFile)!;
  db = openDb(dbFile);
  await runAudit({ paths: [photos], db, provider: 'cpu' });
  host = new EngineHost(db, { user: 'rep_thumbs' });
  const renderer = path.join(dir, 'renderer');
  fs.mkdirSync(renderer);
  fs.writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>t</title>');
  served = await serve({ host, rendererDir: renderer, port: 0 });
  base = `http://127.0.0.1:${served.port}`;
}, 120_000);
afterAll(async () => {
  await served?.close();
  db?.close();
});

describe('made at audit', () => {
  it('every audited photo has its thumbnail beside the database: a JPEG, 256 px on the long side, upright', async () => {
    expect(thumbsDir).toBe(`${dbFile}-thumbs`);
    for (const n of [...NAMES, 'sideways.jpg']) {
      const o = obsOf(n);
      const file = keptFile(o.sha256);
      expect(fs.existsSync(file), n).toBe(true);
      const meta = await sharp(file).metadata();
      expect(meta.format).toBe('jpeg');
      expect(Math.max(meta.width!, meta.height!)).toBe(THUMB_SIZE);
      // the photo's shape as a viewer shows it (the observation's size is after EXIF orientation)
      expect(meta.width! / meta.height!).toBeCloseTo(o.width / o.height, 1);
      expect(meta.orientation ?? 1).toBe(1);
    }
    // eagle.jpg is 773×512 on disk: its sideways copy is upright only once turned
    const sideways = await sharp(keptFile(obsOf('sideways.jpg').sha256)).metadata();
    expect(sideways.height).toBeGreaterThan(sideways.width!);
  });

  it('the same photo audited again from elsewhere reuses its thumbnail (same content, same file, not rewritten)', async () => {
    const o = obsOf('fruits.jpg');
    const before = fs.statSync(keptFile(o.sha256)).mtimeMs;
    const elsewhere = tmpDir();
    fs.copyFileSync(path.join(GENERAL, 'fruits.jpg'), path.join(elsewhere, 'fruits-copy.jpg'));
    const report = await runAudit({ paths: [elsewhere], db, provider: 'cpu' });
    expect(report.photos[0].observationId).toBe(o.id);
    expect(fs.statSync(keptFile(o.sha256)).mtimeMs).toBe(before);
    expect(fs.readdirSync(thumbsDir).flatMap((d) => fs.readdirSync(path.join(thumbsDir, d)))).toHaveLength(NAMES.length + 1);
  });

  it('a re-audit of photos audited before thumbnails existed makes theirs (their results are cached)', async () => {
    const o = obsOf('giraffe.jpg');
    fs.rmSync(keptFile(o.sha256));
    const report = await runAudit({ paths: [path.join(photos, 'giraffe.jpg')], db, provider: 'cpu' });
    expect(report.counts.cached).toBe(1);
    expect(fs.existsSync(keptFile(o.sha256))).toBe(true);
  });
});

describe('serve /thumb', () => {
  it('serves the kept thumbnail with the token (long cache), 401 without or with another token', async () => {
    const o = obsOf('dog.jpg');
    const res = await getThumb(o.id);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(res.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
    expect(Buffer.from(await res.arrayBuffer()).equals(fs.readFileSync(keptFile(o.sha256)))).toBe(true);
    expect((await fetch(`${base}/thumb/${o.id}`, { method: 'HEAD' })).status).toBe(401);
    const none = await getThumb(o.id, null);
    expect(none.status).toBe(401);
    expect(await none.text()).toBe('token required');
    expect((await getThumb(o.id, 'not-the-token')).status).toBe(401);
  });

  it('a kept thumbnail is served as it is: no sharp run, the file untouched', async () => {
    const o = obsOf('person.jpg');
    const file = keptFile(o.sha256);
    const mtime = fs.statSync(file).mtimeMs;
    const made = host.thumbs.made;
    for (let i = 0; i < 3; i++) expect((await getThumb(o.id)).status).toBe(200);
    expect(host.thumbs.made).toBe(made);
    expect(fs.statSync(file).mtimeMs).toBe(mtime);
  });

  it('a photo audited before thumbnails existed gets one on its first request, kept for the next', async () => {
    fs.rmSync(thumbsDir, { recursive: true });
    const o = obsOf('person.jpg');
    const made = host.thumbs.made;
    // two requests at once make it once
    const [a, b] = await Promise.all([getThumb(o.id), getThumb(o.id)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const bytes = Buffer.from(await a.arrayBuffer());
    expect(Buffer.from(await b.arrayBuffer()).equals(bytes)).toBe(true);
    expect(host.thumbs.made).toBe(made + 1);
    const file = keptFile(o.sha256);
    expect(fs.readFileSync(file).equals(bytes)).toBe(true);
    const meta = await sharp(bytes).metadata();
    expect([meta.format, Math.max(meta.width!, meta.height!)]).toEqual(['jpeg', THUMB_SIZE]);
    const mtime = fs.statSync(file).mtimeMs;
    expect((await getThumb(o.id)).status).toBe(200);
    expect(host.thumbs.made).toBe(made + 1);
    expect(fs.statSync(file).mtimeMs).toBe(mtime);
  });

  it('no thumbnail kept and the photo unreadable: 410 gone, 409 changed, 404 unknown, each with its reason', async () => {
    const gone = obsOf('giraffe.jpg');
    fs.rmSync(keptFile(gone.sha256), { force: true });
    fs.rmSync(path.join(photos, 'giraffe.jpg'));
    const r410 = await getThumb(gone.id);
    expect(r410.status).toBe(410);
    expect(r410.headers.get('cache-control')).toBe('no-store');
    expect(await r410.text()).toBe('the photo file is gone (moved, deleted or unreadable)');
    expect(fs.existsSync(keptFile(gone.sha256))).toBe(false);

    const changed = obsOf('coffee.png');
    fs.rmSync(keptFile(changed.sha256), { force: true });
    fs.copyFileSync(path.join(GENERAL, 'chelsea.png'), path.join(photos, 'coffee.png'));
    const r409 = await getThumb(changed.id);
    expect(r409.status).toBe(409);
    expect(await r409.text()).toBe('the photo file changed since it was audited: re-import it');

    const r404 = await getThumb('obs_nope');
    expect(r404.status).toBe(404);
    expect(await r404.text()).toBe('no such photo');
    // the server is fine after all that
    expect((await getThumb(obsOf('dog.jpg').id)).status).toBe(200);
  });

  it('a thumbnail kept for a photo whose file was deleted since is still shown (it is of the audited content)', async () => {
    const o = obsOf('dog.jpg');
    expect((await getThumb(o.id)).status).toBe(200); // kept (made again above if it was not)
    fs.renameSync(path.join(photos, 'dog.jpg'), path.join(dir, 'dog-away.jpg'));
    try {
      const res = await getThumb(o.id);
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(fs.readFileSync(keptFile(o.sha256)))).toBe(true);
    } finally {
      fs.renameSync(path.join(dir, 'dog-away.jpg'), path.join(photos, 'dog.jpg'));
    }
  });
});

describe('serve /view and /small: the screen-sized views Review shows at fit (issue 13)', () => {
  it('a 12 MP photo: JPEGs of 2000 px and 1280 px (made from the first), upright, kept; refused once its file changed', async () => {
    const big = path.join(dir, 'big');
    fs.mkdirSync(big);
    // 4000 × 3000 stored sideways: shown 3000 × 4000
    await sharp(path.join(GENERAL, 'giraffe.jpg'))
      .resize(4000, 3000, { fit: 'fill' })
      .withMetadata({ orientation: 6 })
      .jpeg({ quality: 85 })
      .toFile(path.join(big, 'big.jpg'));
    await runAudit({ paths: [big], db, provider: 'cpu' });
    const o = db.prepare('SELECT id, sha256 FROM observations WHERE source_path = ?').get(path.join(big, 'big.jpg')) as Obs;
    const view = (token = served.token) => fetch(`${base}/view/${o.id}?token=${token}`);
    expect((await view('nope')).status).toBe(401);
    const res = await view();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    expect([meta.width, meta.height, meta.orientation ?? 1]).toEqual([1500, 2000, 1]);
    const kept = path.join(thumbsDir, o.sha256.slice(0, 2), `${o.sha256}.view`);
    expect(fs.existsSync(kept)).toBe(true);
    const made = host.views.made;
    expect((await view()).status).toBe(200);
    expect(host.views.made).toBe(made); // served from the kept file
    // the small view (/small): 1280 px, upright, made from the kept view (not from the photo again), kept
    const small = (token = served.token) => fetch(`${base}/small/${o.id}?token=${token}`);
    expect((await small('nope')).status).toBe(401);
    const smallMade = host.smallViews.made;
    const res2 = await small();
    expect(res2.status).toBe(200);
    expect(res2.headers.get('content-type')).toBe('image/jpeg');
    const meta2 = await sharp(Buffer.from(await res2.arrayBuffer())).metadata();
    expect([meta2.width, meta2.height, meta2.orientation ?? 1]).toEqual([960, 1280, 1]);
    expect(host.smallViews.made).toBe(smallMade + 1);
    expect(host.views.made).toBe(made);
    expect(fs.existsSync(path.join(thumbsDir, o.sha256.slice(0, 2), `${o.sha256}.small`))).toBe(true);
    expect((await small()).status).toBe(200);
    expect(host.smallViews.made).toBe(smallMade + 1);
    // the file now holds another photo: the views stand for the audited one, so they are refused too
    fs.copyFileSync(path.join(GENERAL, 'person.jpg'), path.join(big, 'big.jpg'));
    for (const refused of [await view(), await small()]) {
      expect(refused.status).toBe(409);
      expect(await refused.text()).toBe('the photo file changed since it was audited: re-import it');
    }
  }, 120_000);
});

describe('views are made after an import (issue 13)', () => {
  it('an import of a 12 MP photo leaves its views kept, with no request for them; a small photo gets none', async () => {
    const folder = path.join(tmpDir(), 'import');
    fs.mkdirSync(folder);
    await sharp(path.join(GENERAL, 'fruits.jpg'))
      .resize(4000, 3000, { fit: 'fill' })
      .jpeg({ quality: 85 })
      .toFile(path.join(folder, 'big.jpg'));
    fs.copyFileSync(path.join(GENERAL, 'dog.jpg'), path.join(folder, 'small.jpg'));
    const file = path.join(tmpDir(), 'import.db');
    const h = EngineHost.open(file, { user: 'rep', provider: 'cpu' }).start();
    try {
      const done = new Promise<void>((resolve) => h.onEvent((e) => e.type === 'import' && e.event.type === 'done' && resolve()));
      h.imports.startImport({ paths: [folder] });
      await done;
      await h.warmViews([]); // the views asked for at 'done' are made
      const sha = (name: string) =>
        h.db.prepare('SELECT sha256 FROM observations WHERE source_path = ?').pluck().get(path.join(folder, name)) as string;
      const viewOf = (s: string, kind = 'view') => path.join(thumbsDirFor(file)!, s.slice(0, 2), `${s}.${kind}`);
      expect(fs.existsSync(viewOf(sha('big.jpg')))).toBe(true);
      expect(fs.existsSync(viewOf(sha('big.jpg'), 'small'))).toBe(true);
      expect(fs.existsSync(viewOf(sha('small.jpg')))).toBe(false);
      expect(fs.existsSync(viewOf(sha('small.jpg'), 'small'))).toBe(false);
      expect([h.views.made, h.smallViews.made]).toEqual([1, 1]);
    } finally {
      await h.close();
    }
  }, 120_000);
});

describe('lazy thumbnails are bounded', () => {
  it(`at most ${THUMB_CONCURRENCY} are made at once, the others wait their turn`, async () => {
    const cache = new ThumbCache(tmpDir());
    const photo = fs.readFileSync(path.join(GENERAL, 'dog.jpg'));
    let running = 0;
    let most = 0;
    const source = async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 30));
      running--;
      return photo;
    };
    const shas = Array.from({ length: 12 }, (_, i) => i.toString(16).padStart(64, '0'));
    const thumbs = await Promise.all(shas.map((s) => cache.getBounded(s, source)));
    expect(most).toBe(THUMB_CONCURRENCY);
    expect(cache.made).toBe(12);
    for (const t of thumbs) expect((await sharp(t).metadata()).width).toBe(THUMB_SIZE);
  });

  it('a request that goes away while it waits is dropped unmade', async () => {
    const cache = new ThumbCache(tmpDir());
    const photo = fs.readFileSync(path.join(GENERAL, 'dog.jpg'));
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let started = 0;
    const slow = async () => {
      started++;
      await held;
      return photo;
    };
    const busy = Array.from({ length: THUMB_CONCURRENCY }, (_, i) => cache.getBounded(`${i}`.padStart(64, 'a'), slow));
    // every slot taken before the next request comes (each first looks for a kept file, asynchronously)
    for (let i = 0; i < 500 && started < THUMB_CONCURRENCY; i++) await new Promise((r) => setTimeout(r, 10));
    expect(started).toBe(THUMB_CONCURRENCY);
    let asked = false;
    const gone = new AbortController();
    const waiting = cache.getBounded('f'.repeat(64), async () => ((asked = true), photo), gone.signal);
    await new Promise((r) => setTimeout(r, 20));
    gone.abort();
    await expect(waiting).rejects.toBeInstanceOf(ThumbAborted);
    release();
    await Promise.all(busy);
    expect(asked).toBe(false);
    expect(cache.made).toBe(THUMB_CONCURRENCY);
  });
});

describe('the desktop app: the engine thread serves thumbnails (kliq-photo://<id>/thumb) and small views (/small)', () => {
  it('the kept thumbnail, made lazily when missing, and the reasons when not', async () => {
    const t = await EngineThread.start({
      dbFile,
      settingsDir: tmpDir(),
      secrets: new MemorySecretStore(),
      host: 'desktop',
      user: 'thread',
      provider: 'cpu',
    });
    try {
      const o = obsOf('fruits.jpg');
      fs.rmSync(keptFile(o.sha256), { force: true });
      const thumb = await t.openThumb(o.id);
      if (!thumb.ok) throw new Error(thumb.message);
      const chunks: Buffer[] = [];
      for await (const c of thumb.stream) chunks.push(c as Buffer);
      expect(thumb.mimeType).toBe('image/jpeg');
      expect(Buffer.concat(chunks).length).toBe(thumb.size);
      expect(Buffer.concat(chunks).equals(fs.readFileSync(keptFile(o.sha256)))).toBe(true);
      expect(await t.openThumb('obs_nope')).toEqual({ ok: false, status: 404, message: 'no such photo' });
      // and the small view Review decodes at fit (kliq-photo://<id>/small), kept beside the thumbnail, made
      // from the view (made first when not kept, and kept too)
      const viewFile = path.join(thumbsDir, o.sha256.slice(0, 2), `${o.sha256}.view`);
      fs.rmSync(viewFile, { force: true });
      const small = await t.openThumb(o.id, 'small');
      if (!small.ok) throw new Error(small.message);
      const bytes: Buffer[] = [];
      for await (const c of small.stream) bytes.push(c as Buffer);
      const meta = await sharp(Buffer.concat(bytes)).metadata();
      expect([meta.format, Math.max(meta.width!, meta.height!)]).toEqual(['jpeg', Math.min(1280, Math.max(o.width, o.height))]);
      expect(fs.existsSync(path.join(thumbsDir, o.sha256.slice(0, 2), `${o.sha256}.small`))).toBe(true);
      expect(fs.existsSync(viewFile)).toBe(true);
    } finally {
      await t.close();
    }
  });
});
