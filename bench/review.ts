/**
 * `npm run bench:review [-- --photos 100000 --detections 10 --json]`
 *
 * Generates a database of 100 000 photos / 1 000 000 detections (the schema of the real engine, rows
 * written by SQL; photo files cycle through ../shared/photos), serves it with `kliq-audit serve`'s
 * server, and measures through the real WebSocket transport:
 *   - queue queries (the screen's page fetches: several sorts, filters and deep offsets), target p95 < 20 ms;
 *   - "next photo": the photo's detail (detections, summary) plus its pixels over HTTP, target p95 < 50 ms.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { openDb } from '../src/main/engine/db';
import { EngineHost } from '../src/main/engine/host';
import { serve } from '../src/main/serve';
import { loadManifest } from '../src/main/engine/models/manifest';
import type { QueueFilter } from '../src/shared/rpc';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PHOTOS = path.resolve(ROOT, '..', 'shared', 'photos');
const err = (s: string) => process.stderr.write(`${s}\n`);
const { values: args } = parseArgs({
  options: {
    photos: { type: 'string', default: '100000' },
    detections: { type: 'string', default: '10' },
    json: { type: 'boolean', default: false },
  },
});
const N = Number(args.photos);
const PER = Number(args.detections);

function generate(file: string, labels: string[]) {
  const db = openDb(file);
  const photos = ['general', 'shelves'].flatMap((d) => fs.readdirSync(path.join(PHOTOS, d)).map((f) => path.join(PHOTOS, d, f)));
  const t = new Date().toISOString();
  const locs = Array.from({ length: 20 }, (_, i) => `loc_${i}`);
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  db.transaction(() => {
    const loc = db.prepare('INSERT INTO locations (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)');
    locs.forEach((id, i) => loc.run(id, `Store ${i + 1}`, t, t));
    const obs = db.prepare(`INSERT INTO observations
        (id, location_id, sha256, source_path, bytes, mime_type, width, height, metadata, status, created_at, updated_at)
      VALUES (?, ?, ?, ?, 1, ?, 960, 1280, ?, 'completed', ?, ?)`);
    const job = db.prepare(
      `INSERT INTO cv_jobs (id, observation_id, model, status, provider, summary, created_at, completed_at) 
         VALUES (?, ?, 'yolox-nano-coco', 'completed', 'cpu', '{}', ?, ?)`,
    );
    const det = db.prepare(
      'INSERT INTO detections (cv_job_id, observation_id, object_name, confidence, x, y, width, height) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    for (let i = 0; i < N; i++) {
      const id = `obs_${String(i).padStart(8, '0')}`;
      const src = photos[i % photos.length];
      obs.run(
        id,
        locs[i % locs.length],
        `sha_${i}`,
        src,
        src.endsWith('.png') ? 'image/png' : 'image/jpeg',
        JSON.stringify({ visit_id: `v${i % 500}` }),
        t,
        t,
      );
      job.run(`job_${i}`, id, t, t);
      for (let k = 0; k < PER; k++)
        det.run(
          `job_${i}`,
          id,
          labels[Math.floor(rnd() * rnd() * labels.length)],
          Math.round(rnd() * 10000) / 10000,
          rnd() * 800,
          rnd() * 1100,
          20 + rnd() * 100,
          40 + rnd() * 150,
        );
    }
    db.exec(`UPDATE observations SET current_job_id = 'job_' || CAST(substr(id, 5) AS INTEGER), model = 'yolox-nano-coco';
      UPDATE observations SET detection_count = (SELECT count(*) FROM detections d WHERE d.cv_job_id = observations.current_job_id),
        top_confidence = (SELECT max(confidence) FROM detections d WHERE d.cv_job_id = observations.current_job_id);`);
  })();
  db.exec('ANALYZE');
  return db;
}

const pct = (v: number[], p: number) => [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor(p * v.length))];
const r2 = (v: number) => Math.round(v * 100) / 100;

async function main() {
  const labels = loadManifest().models[0].labels;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kliq-review-bench-'));
  const file = path.join(dir, 'review.db');
  let t = performance.now();
  const db = generate(file, labels);
  err(
    `generated ${N} photos / ${N * PER} detections in ${((performance.now() - t) / 1000).toFixed(1)}s ` +
      `(${(fs.statSync(file).size / 1e6).toFixed(0)} MB)`,
  );
  const renderer = path.join(dir, 'ui');
  fs.mkdirSync(renderer);
  fs.writeFileSync(path.join(renderer, 'index.html'), '<!doctype html>');
  const host = new EngineHost(db, { user: 'bench', modelLabels: labels });
  const served = await serve({ host, rendererDir: renderer, port: 0 });
  const ws = new WebSocket(`ws://127.0.0.1:${served.port}/rpc?token=${served.token}`);
  await new Promise((r) => ws.once('open', r));
  const waiting = new Map<number, (v: unknown) => void>();
  ws.on('message', (m) => {
    const msg = JSON.parse(m.toString());
    if (msg.kind === 'response') waiting.get(msg.id)?.(msg.ok ? msg.result : Promise.reject(new Error(msg.error.message)));
  });
  let id = 0;
  const call = (method: string, params: unknown) =>
    new Promise<unknown>((resolve) => {
      const i = ++id;
      waiting.set(i, resolve);
      ws.send(JSON.stringify({ id: i, method, params }));
    });

  const queries: { name: string; filter: QueueFilter; sort: string }[] = [
    { name: 'all, uncertain first', filter: {}, sort: 'uncertain' },
    { name: 'unreviewed, uncertain first', filter: { review: 'unreviewed' }, sort: 'uncertain' },
    { name: 'label = dog', filter: { label: 'dog' }, sort: 'uncertain' },
    { name: 'confidence 0.3–0.6', filter: { confMin: 0.3, confMax: 0.6 }, sort: 'uncertain' },
    { name: 'location + visit', filter: { location: 'Store 3', visit: 'v42' }, sort: 'uncertain' },
    { name: 'newest', filter: {}, sort: 'newest' },
  ];
  const queue: Record<string, { p50: number; p95: number; coldP50: number; coldP95: number }> = {};
  const allQueue: number[] = [];
  const cold: number[] = [];
  for (const q of queries) {
    const times: number[] = [];
    // offsets a scrolling user reaches: the top, and pages spread over the whole filtered queue
    const { total } = (await call('queue', { filter: q.filter, sort: q.sort, offset: 0, limit: 1 })) as { total: number };
    for (let i = 0; i < 60; i++) {
      const offset = i % 3 === 0 ? 0 : Math.floor((i / 60) * Math.max(0, total - 100));
      t = performance.now();
      await call('queue', { filter: q.filter, sort: q.sort, offset, limit: 100 });
      times.push(performance.now() - t);
    }
    // cold: the first page after an edit, when the queue's order must be computed again
    const coldTimes: number[] = [];
    for (let i = 0; i < 10; i++) {
      await call('setReview', { observationId: `obs_${String(i * 7919).padStart(8, '0')}`, review: 'unreviewed' });
      t = performance.now();
      await call('queue', { filter: q.filter, sort: q.sort, offset: 0, limit: 100 });
      coldTimes.push(performance.now() - t);
    }
    queue[q.name] = {
      p50: r2(pct(times, 0.5)),
      p95: r2(pct(times, 0.95)),
      coldP50: r2(pct(coldTimes, 0.5)),
      coldP95: r2(pct(coldTimes, 0.95)),
    };
    allQueue.push(...times);
    cold.push(...coldTimes);
  }
  const counts: number[] = [];
  for (let i = 0; i < 10; i++) {
    t = performance.now();
    await call('queueCounts', { filter: {} });
    counts.push(performance.now() - t);
  }

  const next: number[] = [];
  const list = (await call('queue', { filter: {}, sort: 'uncertain', offset: 1000, limit: 200 })) as { items: { observationId: string }[] };
  for (const item of list.items) {
    t = performance.now();
    await Promise.all([
      call('photo', { observationId: item.observationId }),
      fetch(`http://127.0.0.1:${served.port}/photo/${item.observationId}?token=${served.token}`).then((r) => r.arrayBuffer()),
    ]);
    next.push(performance.now() - t);
  }
  ws.close();
  await served.close();
  db.close();
  if (process.env.KLIQ_BENCH_KEEP_DB) fs.copyFileSync(file, process.env.KLIQ_BENCH_KEEP_DB);
  fs.rmSync(dir, { recursive: true, force: true });

  const result = {
    photos: N,
    detections: N * PER,
    queueQueryMs: { p50: r2(pct(allQueue, 0.5)), p95: r2(pct(allQueue, 0.95)), target: 20, met: pct(allQueue, 0.95) < 20, byQuery: queue },
    queueQueryAfterEditMs: { p50: r2(pct(cold, 0.5)), p95: r2(pct(cold, 0.95)) },
    queueCountsMs: { p50: r2(pct(counts, 0.5)), p95: r2(pct(counts, 0.95)) },
    nextPhotoMs: { p50: r2(pct(next, 0.5)), p95: r2(pct(next, 0.95)), target: 50, met: pct(next, 0.95) < 50 },
  };
  if (args.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const lines = [
    `review bench: ${N} photos, ${N * PER} detections, over the serve WebSocket on 127.0.0.1`,
    `queue query (page of 100, scrolling)  p50 ${result.queueQueryMs.p50} ms   p95 ${result.queueQueryMs.p95} ms   ` +
      `target p95 < 20 ms: ${result.queueQueryMs.met ? 'MET' : 'NOT MET'}`,
    `first page after an edit (cold)       p50 ${result.queueQueryAfterEditMs.p50} ms   p95 ${result.queueQueryAfterEditMs.p95} ms`,
    `  ${'query'.padEnd(30)} ${'p50'.padStart(8)} ${'p95'.padStart(8)} ${'cold p50'.padStart(9)} ${'cold p95'.padStart(9)}`,
    ...Object.entries(queue).map(
      ([k, v]) =>
        `  ${k.padEnd(30)} ${String(v.p50).padStart(8)} ${String(v.p95).padStart(8)} ` +
        `${String(v.coldP50).padStart(9)} ${String(v.coldP95).padStart(9)}`,
    ),
    `queue counts (all facets)   p50 ${result.queueCountsMs.p50} ms   p95 ${result.queueCountsMs.p95} ms`,
    `next photo (detail + pixels) p50 ${result.nextPhotoMs.p50} ms   p95 ${result.nextPhotoMs.p95} ms   ` +
      `target p95 < 50 ms: ${result.nextPhotoMs.met ? 'MET' : 'NOT MET'}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((e: Error) => {
  err(`bench failed: ${e.stack ?? e.message}`);
  process.exit(1);
});
