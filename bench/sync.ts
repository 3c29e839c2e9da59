/**
 * `npm run bench:sync [-- --photos N] [--json]`: photos/s synced to the local KLIQ API server, with 0 % and
 * 20 % injected faults, against the server's own upload throughput measured alone in the same run (the
 * same photos PUT through signed URLs by a bare client at the same concurrency, no database, no
 * observations, no results). Target: sync at 0 % faults ≥ 0.8 of the upload-alone rate.
 *
 * The photos are field-sized (12 MP JPEGs, ~2–4 MB each, made from the sample shelves) and audited for
 * real first. Each measurement uses its own tenant, and the server runs in its own process, as it would.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { KliqClient } from '../src/kliq';
import { openDb } from '../src/main/engine/db';
import { SyncEngine } from '../src/main/engine/sync';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const PHOTOS = Number(flag('photos') ?? 40);
const CONCURRENCY = Number(flag('concurrency') ?? 4);
const JSON_OUT = args.includes('--json');
const log = (s: string) => process.stderr.write(`${s}\n`);
const TENANTS = ['t_upload', 't_sync0', 't_sync20'].map((id) => ({ id, key: `key_${id}_0123456789` }));

async function makePhotos(dir: string): Promise<number> {
  const shelves = path.join(ROOT, '..', 'shared', 'photos', 'shelves');
  const src = fs.readdirSync(shelves).filter((f) => f.endsWith('.jpg'));
  fs.mkdirSync(dir, { recursive: true });
  let bytes = 0;
  for (let i = 0; i < PHOTOS; i++) {
    const out = path.join(dir, `field_${String(i).padStart(3, '0')}.jpg`);
    // 4000×3000, each with its own EXIF description, so every photo has its own bytes
    await sharp(path.join(shelves, src[i % src.length]))
      .resize(4000, 3000, { fit: 'cover' })
      .withExif({ IFD0: { ImageDescription: `KLIQ Audit sync bench photo ${i}` } })
      .jpeg({ quality: 90 })
      .toFile(out);
    bytes += fs.statSync(out).size;
  }
  return bytes;
}

function startServer(dbFile: string, fault: number): Promise<{ url: string; proc: ChildProcess }> {
  const seed = TENANTS.flatMap((t) => ['--seed-tenant', t.id, '--seed-key', t.key]);
  const proc = spawn(
    process.execPath,
    [
      path.join(ROOT, 'bin', 'kliq-api-server.mjs'),
      '--port',
      '0',
      '--db',
      dbFile,
      '--rate-limit',
      '100000',
      '--fault-rate',
      String(fault),
      ...seed,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    readline.createInterface({ input: proc.stdout! }).once('line', (l) => {
      const m = /listening on (\S+)/.exec(l);
      if (m) resolve({ url: m[1], proc });
      else reject(new Error(`unexpected first line from the server: ${l}`));
    });
    proc.once('exit', (c) => reject(new Error(`the API server exited (${c})`)));
  });
}

async function uploadAlone(url: string, files: string[]): Promise<number> {
  const t = TENANTS[0];
  const tenant = new KliqClient({ baseUrl: `${url}/v1`, apiKey: t.key }).forTenant(t.id);
  // warm-up (connections, JIT), not timed
  for (const f of files.slice(0, 4))
    await tenant.observations.upload(fs.readFileSync(f), { contentType: 'image/jpeg', filename: 'warmup.jpg' });
  const queue = [...files];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let f = queue.shift(); f; f = queue.shift()) {
        await tenant.observations.upload(fs.readFileSync(f), { contentType: 'image/jpeg', filename: path.basename(f) });
      }
    }),
  );
  return (performance.now() - started) / 1000;
}

async function syncRun(url: string, dbFile: string, tenantIndex: number): Promise<{ seconds: number; failed: number; photos: number }> {
  const t = TENANTS[tenantIndex];
  const db = openDb(dbFile);
  try {
    const engine = new SyncEngine(db, {
      target: { baseUrl: `${url}/v1`, tenantId: t.id },
      credentials: { apiKey: t.key },
      concurrency: CONCURRENCY,
      backoffBaseMs: 100,
      backoffCapMs: 2000,
      catalog: false,
    });
    const started = performance.now();
    const done = await engine.run();
    const seconds = (performance.now() - started) / 1000;
    // photos whose observation and result are on the server
    const photos = db
      .prepare(
        `SELECT count(*) FROM observations o JOIN cv_jobs j ON j.id = o.current_job_id
         WHERE o.remote_id IS NOT NULL AND j.remote_id IS NOT NULL`,
      )
      .pluck()
      .get() as number;
    return { seconds, failed: done.counts.failed, photos };
  } finally {
    db.close();
  }
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kliq-bench-sync-'));
try {
  log(`making ${PHOTOS} field-sized photos (12 MP JPEG)…`);
  const photoDir = path.join(work, 'photos');
  const bytes = await makePhotos(photoDir);
  log(`auditing them (the sync sends real results)…`);
  const audited = path.join(work, 'audited.db');
  const a = spawnSync(
    process.execPath,
    [path.join(ROOT, 'bin', 'kliq-audit.mjs'), 'audit', photoDir, '--db', audited, '--provider', 'cpu'],
    {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  if (a.status !== 0) throw new Error('the audit failed');
  const copy = async (name: string) => {
    const src = new Database(audited, { readonly: true });
    const file = path.join(work, name);
    await src.backup(file);
    src.close();
    return file;
  };
  const files = fs.readdirSync(photoDir).map((f) => path.join(photoDir, f));

  const clean = await startServer(path.join(work, 'api0.db'), 0);
  const faulty = await startServer(path.join(work, 'api20.db'), 0.2);
  try {
    log('upload alone (bare client, signed URLs, no database)…');
    const upload = await uploadAlone(clean.url, files);
    log('sync, 0 % faults…');
    const s0 = await syncRun(clean.url, await copy('s0.db'), 1);
    log('sync, 20 % faults…');
    const s20 = await syncRun(faulty.url, await copy('s20.db'), 2);
    const rate = (sec: number) => PHOTOS / sec;
    const result = {
      photos: PHOTOS,
      megabytes: Math.round(bytes / 1e5) / 10,
      concurrency: CONCURRENCY,
      uploadAlone: { seconds: upload, photosPerSecond: rate(upload) },
      sync0: { ...s0, photosPerSecond: rate(s0.seconds), ratio: rate(s0.seconds) / rate(upload) },
      sync20: { ...s20, photosPerSecond: rate(s20.seconds), ratio: rate(s20.seconds) / rate(upload) },
      target: 0.8,
    };
    if (JSON_OUT) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      const f = (n: number) => n.toFixed(2);
      log(`\n${PHOTOS} photos, ${result.megabytes} MB, concurrency ${CONCURRENCY}`);
      log(`upload alone      ${f(result.uploadAlone.photosPerSecond)} photos/s`);
      log(
        `sync, 0 % faults  ${f(result.sync0.photosPerSecond)} photos/s  = ${f(result.sync0.ratio)} × upload alone ` +
          `(target ≥ 0.8: ${result.sync0.ratio >= 0.8 ? 'met' : 'NOT met'})`,
      );
      log(`sync, 20 % faults ${f(result.sync20.photosPerSecond)} photos/s  = ${f(result.sync20.ratio)} × upload alone`);
      if (s0.failed || s20.failed || s0.photos !== PHOTOS || s20.photos !== PHOTOS) {
        log(
          `WARNING: not every photo was synced (0 %: ${s0.photos} photos, ${s0.failed} failed; 20 %: ${s20.photos}, ${s20.failed} failed)`,
        );
      }
    }
  } finally {
    clean.proc.kill('SIGTERM');
    faulty.proc.kill('SIGTERM');
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
