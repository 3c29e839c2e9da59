/**
 * `npm run bench [-- --photos N --size 12mp|phone|small --json --threads N --prefetch N --tiles]`
 *
 * Measures, in one process with the same model and thread settings:
 *   (a) model-only: session.run on ready tensors
 *   (b) decode-only: file → letterboxed tensor (same lanes as the engine)
 *   (c) end-to-end: the real engine, files on disk → rows in SQLite
 * and prints the shared-CPU bound 1 / (1/a + 1/b), the ratio c / bound, per-stage p50/p95, and RSS.
 * Then tiled vs whole-photo inference on ../shared/photos/shelves.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { openSession } from '../src/main/engine/inference/session';
import { preparePhotoTensor, probePhoto, setDecodeThreads } from '../src/main/engine/ingest/photo';
import { resolveModel } from '../src/main/engine/models/manifest';
import { defaultThreads, runAudit, STAGES, type AuditTimings } from '../src/main/engine/audit';
import { openDb } from '../src/main/engine/db';
import { makePhotoSet, SIZES, type SizeName } from './photoset';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PHOTOS = path.resolve(ROOT, '..', 'shared', 'photos');
const err = (s: string) => process.stderr.write(`${s}\n`);
const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
const r2 = (v: number) => Math.round(v * 100) / 100;

function usage(message: string): never {
  err(
    `${message}\nusage: npm run bench [-- --photos N --size 12mp|phone|small --json --threads N --prefetch N --decode-threads N --tiles]`,
  );
  process.exit(2);
}

const OPTIONS = {
  photos: { type: 'string' },
  size: { type: 'string', default: '12mp' },
  threads: { type: 'string' },
  prefetch: { type: 'string' },
  'decode-threads': { type: 'string' },
  tiles: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
} as const;

function parseBenchArgs() {
  try {
    return parseArgs({ options: OPTIONS }).values;
  } catch (e) {
    return usage((e as Error).message); // unknown flag, missing value
  }
}
const args = parseBenchArgs();
if (!(args.size! in SIZES)) usage(`--size must be one of ${Object.keys(SIZES).join(', ')}`);
const size = args.size as SizeName;
const n = Number(args.photos ?? { '12mp': 300, phone: 1000, small: 2000 }[size]);
const defaults = defaultThreads();
const threads = Number(args.threads ?? defaults.intraOpThreads);
const prefetch = Number(args.prefetch ?? defaults.prefetch);
const decodeThreads = Number(args['decode-threads'] ?? defaults.decodeThreads);
if (![n, threads, prefetch, decodeThreads].every((v) => Number.isInteger(v) && v > 0)) {
  usage('--photos, --threads, --prefetch and --decode-threads take whole numbers ≥ 1');
}
setDecodeThreads(decodeThreads);

async function pool<T>(items: T[], lanes: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(lanes, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

async function main() {
  const dir = await makePhotoSet(PHOTOS, size, n, err);
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.jpg'))
    .sort()
    .map((f) => path.join(dir, f));
  const model = await resolveModel(undefined, { log: err });
  const spec = { format: model.format, width: model.inputSize[0], height: model.inputSize[1] };
  err(
    `${files.length} photos at ${size} in ${dir}; model ${model.name}; ${threads} intra-op threads; ` +
      `prefetch ${prefetch}; ${decodeThreads} decode thread(s)`,
  );

  // (a) model-only
  const { session } = await openSession(model.path, 'cpu', threads);
  const ready = await Promise.all(
    files.slice(0, 8).map(async (f) => {
      const buf = fs.readFileSync(f);
      return (await preparePhotoTensor(buf, await probePhoto(buf), spec)).data;
    }),
  );
  const input = session.inputNames[0];
  const run = (i: number) => session.run({ [input]: new ort.Tensor('float32', ready[i % ready.length], [1, 3, spec.height, spec.width]) });
  for (let i = 0; i < 5; i++) await run(i);
  const runs = Math.max(100, Math.floor(files.length / 3));
  let t = performance.now();
  for (let i = 0; i < runs; i++) await run(i);
  const modelRate = runs / ((performance.now() - t) / 1000);
  await session.release();
  err(`(a) model-only: ${modelRate.toFixed(1)} photos/s`);

  // (b) decode-only, the engine's lanes
  const decodeOne = async (f: string) => {
    const buf = await fs.promises.readFile(f);
    await preparePhotoTensor(buf, await probePhoto(buf), spec);
  };
  await pool(files.slice(0, 8), prefetch, decodeOne); // warm-up
  t = performance.now();
  await pool(files, prefetch, decodeOne);
  const decodeRate = files.length / ((performance.now() - t) / 1000);
  err(`(b) decode-only: ${decodeRate.toFixed(1)} photos/s`);

  // (c) end-to-end: the engine, fresh database
  const dbDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kliq-bench-db-'));
  const db = openDb(path.join(dbDir, 'bench.db'));
  let rssAt100: number | null = null;
  let maxAfter100 = 0;
  let lastLog = 0;
  t = performance.now();
  const report = await runAudit({
    paths: [dir],
    db,
    provider: 'cpu',
    intraOpThreads: threads,
    prefetch,
    decodeThreads,
    collect: false,
    profile: true,
    tiles: args.tiles ? 'auto' : 'off',
    onEvent: (e) => {
      if (e.type !== 'progress') return;
      const rss = process.memoryUsage.rss();
      if (e.done >= 100) {
        rssAt100 ??= rss;
        maxAfter100 = Math.max(maxAfter100, rss);
      }
      if (Date.now() - lastLog > 5000) {
        lastLog = Date.now();
        err(`(c) ${e.done}/${e.total} photos, ${e.photosPerSecond.toFixed(1)} photos/s, RSS ${mb(rss)} MB`);
      }
    },
  });
  const wallS = (performance.now() - t) / 1000;
  db.close();
  fs.rmSync(dbDir, { recursive: true, force: true });
  if (report.counts.failed) throw new Error(`${report.counts.failed} photos failed in the end-to-end run`);
  // until the engine reports timings (profile), the rate falls back to wall time, start-up included
  const timings = (report as { timings?: AuditTimings }).timings ?? null;
  const e2eRate = files.length / (timings && timings.processingMs > 0 ? timings.processingMs / 1000 : wallS);
  const bound = 1 / (1 / modelRate + 1 / decodeRate);
  err(`(c) end-to-end: ${e2eRate.toFixed(1)} photos/s`);

  // tiles on real shelves: what they find and what they cost
  const shelves: Record<string, { detections: number; bottles: number; msPerPhoto: number }> = {};
  for (const tiles of ['off', 2, 3] as const) {
    const sdb = openDb(':memory:');
    const s0 = performance.now();
    const rep = await runAudit({
      paths: [path.join(PHOTOS, 'shelves')],
      db: sdb,
      provider: 'cpu',
      intraOpThreads: threads,
      prefetch,
      decodeThreads,
      tiles,
    });
    const ms = (performance.now() - s0) / rep.photos.length;
    sdb.close();
    const all = rep.photos.flatMap((p) => p.detections);
    shelves[`tiles ${tiles}`] = {
      detections: all.length,
      bottles: all.filter((d) => d.objectName === 'bottle').length,
      msPerPhoto: Math.round(ms),
    };
  }

  const result = {
    machine: { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.availableParallelism(), node: process.version },
    settings: {
      model: model.name,
      size,
      photos: files.length,
      intraOpThreads: threads,
      prefetch,
      decodeThreads,
      tiles: args.tiles ? 'auto' : 'off',
      provider: report.provider,
    },
    photosPerSecond: {
      modelOnly: r2(modelRate),
      decodeOnly: r2(decodeRate),
      endToEnd: r2(e2eRate),
      endToEndWithStartup: r2(files.length / wallS),
    },
    endToEnd: {
      wallSeconds: r2(wallS),
      processingSeconds: timings ? r2(timings.processingMs / 1000) : null,
      rateFrom: timings ? 'processingMs' : 'wall time (no stage timings from the engine)',
    },
    sharedCpuBound: r2(bound),
    gpuBound: r2(Math.min(modelRate, decodeRate)),
    ratioToSharedCpuBound: r2(e2eRate / bound),
    target: 0.9,
    // (a) and (b) are one whole-photo inference and decode; tiles add inferences and a decode per photo
    ratioNote: args.tiles ? 'not comparable with --tiles: (a) and (b) measure the whole photo only' : null,
    stagesMs: timings?.stages ?? null,
    memory: {
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      rssAfter100Mb: rssAt100 === null ? null : mb(rssAt100),
      maxRssAfter100Mb: rssAt100 === null ? null : mb(maxAfter100),
      growthAfter100Mb: rssAt100 === null ? null : mb(maxAfter100 - rssAt100),
      withinTarget: rssAt100 === null ? null : maxAfter100 - rssAt100 <= 150 * 1024 * 1024,
      endRssMb: mb(process.memoryUsage.rss()),
    },
    shelves,
  };

  if (args.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const p = result.photosPerSecond;
  const e2eNote =
    (timings ? `(${result.endToEnd.processingSeconds} s processing; ` : '(from wall time; ') +
    `wall ${result.endToEnd.wallSeconds} s with start-up = ${p.endToEndWithStartup.toFixed(1)} photos/s)`;
  const met = (ok: boolean | null, none: string) => (ok === null ? none : ok ? 'MET' : 'NOT MET');
  const ratioNote = result.ratioNote ?? `target ≥ ${result.target}  ${met(result.ratioToSharedCpuBound >= result.target, '')}`;
  const mem = result.memory;
  const f2 = (v: number) => v.toFixed(2).padStart(8);
  const out = [
    `KLIQ Audit bench — ${result.machine.cpu}, ${result.machine.cores} cores, Node ${result.machine.node}`,
    `${files.length} photos at ${size}, model ${model.name}, ${threads} intra-op threads, prefetch ${prefetch}, ` +
      `${decodeThreads} decode thread(s), tiles ${result.settings.tiles}, provider ${report.provider}`,
    '',
    `(a) model-only       ${p.modelOnly.toFixed(1).padStart(8)} photos/s`,
    `(b) decode-only      ${p.decodeOnly.toFixed(1).padStart(8)} photos/s`,
    `(c) end-to-end       ${p.endToEnd.toFixed(1).padStart(8)} photos/s   ${e2eNote}`,
    `shared-CPU bound     ${result.sharedCpuBound.toFixed(1).padStart(8)} photos/s   1 / (1/a + 1/b)   ` +
      `[GPU bound min(a, b): ${result.gpuBound.toFixed(1)}]`,
    `c / bound            ${result.ratioToSharedCpuBound.toFixed(2).padStart(8)}            ${ratioNote}`,
    '',
    ...(timings
      ? [
          'stage (ms/photo)         p50      p95     mean',
          ...STAGES.map((s) => `${s.padEnd(18)} ${f2(timings.stages[s].p50)} ${f2(timings.stages[s].p95)} ${f2(timings.stages[s].mean)}`),
        ]
      : ['stage timings: n/a (the engine returned no report.timings)']),
    '',
    `RSS: after 100 photos ${mem.rssAfter100Mb ?? '–'} MB, max after ${mem.maxRssAfter100Mb ?? '–'} MB, ` +
      `growth ${mem.growthAfter100Mb ?? '–'} MB (target ≤ 150: ${met(mem.withinTarget, 'n/a, fewer than 100 photos')}); ` +
      `peak ${mem.peakRssMb} MB; at the end ${mem.endRssMb} MB`,
    '',
    'shelves (../shared/photos/shelves, 3 photos)   detections  bottles  ms/photo',
    ...Object.entries(shelves).map(
      ([k, v]) =>
        `${k.padEnd(46)} ${String(v.detections).padStart(10)} ${String(v.bottles).padStart(8)} ${String(v.msPerPhoto).padStart(9)}`,
    ),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((e: Error) => {
  err(`bench failed: ${e.stack ?? e.message}`);
  process.exit(1);
});
