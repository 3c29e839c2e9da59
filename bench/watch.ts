/**
 * `npm run bench:watch [-- --photos N --size small|phone|12mp]`: N distinct photos (default 2000, 640×480)
 * dropped at once into a folder that `kliq-audit watch` (a child process, CPU provider) watches, as a
 * user would: the photos/s from the first file copied to the last photo audited, and the watcher's
 * memory (peak RSS, from the kernel: VmHWM of the whole process, worker thread included).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { openDb } from '../src/main/engine/db';
import { makePhotoSet, SIZES, type SizeName } from './photoset';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PHOTOS = path.resolve(ROOT, '..', 'shared', 'photos');
const CLI = path.join(ROOT, 'bin', 'kliq-audit.mjs');

const { values } = parseArgs({
  options: {
    photos: { type: 'string', default: '2000' },
    size: { type: 'string', default: 'small' },
    json: { type: 'boolean', default: false },
  },
});
const n = Number(values.photos);
const size = values.size as SizeName;
if (!Number.isInteger(n) || n < 1) throw new Error('--photos must be a whole number ≥ 1');
if (!(size in SIZES)) throw new Error(`--size must be one of ${Object.keys(SIZES).join(', ')}`);
const log = (s: string) => process.stderr.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function memoryKb(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return null; // not Linux, or gone
  }
}

const set = await makePhotoSet(PHOTOS, size, n, log);
const files = fs
  .readdirSync(set)
  .filter((f) => f.endsWith('.jpg'))
  .sort();
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kliq-bench-watch-'));
const folder = path.join(work, 'in');
fs.mkdirSync(folder);
const dbFile = path.join(work, 'w.db');
openDb(dbFile).close();

const child = spawn(process.execPath, [CLI, 'watch', folder, '--db', dbFile, '--provider', 'cpu'], {
  cwd: ROOT,
  stdio: ['ignore', 'ignore', 'pipe'],
});
let stderr = '';
child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
try {
  for (let t = 0; !/^watching /m.test(stderr); t++) {
    if (t > 600 || child.exitCode !== null) throw new Error(`the watcher did not start:\n${stderr}`);
    await sleep(100);
  }
  const idle = memoryKb(child.pid!);
  log(`watcher ready (RSS ${Math.round((idle?.rss ?? 0) / 1024)} MB); dropping ${n} photos (${SIZES[size].join('×')}) at once`);

  const db = new Database(dbFile, { readonly: true });
  const completed = () => db.prepare(`SELECT count(*) FROM observations WHERE status IN ('completed', 'failed')`).pluck().get() as number;
  let peakRss = 0;
  const sampler = setInterval(() => {
    const m = memoryKb(child.pid!);
    if (m) peakRss = Math.max(peakRss, m.rss);
  }, 100);
  const t0 = performance.now();
  for (const f of files) fs.copyFileSync(path.join(set, f), path.join(folder, f));
  const dropped = performance.now() - t0;
  log(`copied in ${(dropped / 1000).toFixed(1)}s`);
  let last = 0;
  let firstAt = 0;
  for (;;) {
    const c = completed();
    if (c > 0 && !firstAt) firstAt = performance.now() - t0;
    if (c >= n) break;
    if (child.exitCode !== null) throw new Error(`the watcher exited:\n${stderr.slice(-2000)}`);
    if (c !== last && c % 200 < last % 200) log(`${c}/${n} audited`);
    last = c;
    await sleep(200);
  }
  const total = performance.now() - t0;
  clearInterval(sampler);
  const end = memoryKb(child.pid!);
  const failed = db.prepare(`SELECT count(*) FROM observations WHERE status = 'failed'`).pluck().get() as number;
  const batches = (stderr.match(/new or changed photos? in /g) ?? []).length;
  db.close();
  const result = {
    photos: n,
    size: SIZES[size].join('×'),
    cores: os.availableParallelism(),
    copySeconds: +(dropped / 1000).toFixed(1),
    firstResultSeconds: +(firstAt / 1000).toFixed(1),
    totalSeconds: +(total / 1000).toFixed(1),
    photosPerSecond: +(n / (total / 1000)).toFixed(1),
    batches,
    failed,
    rssIdleMb: Math.round((idle?.rss ?? 0) / 1024),
    rssPeakMb: Math.round(Math.max(peakRss, end?.hwm ?? 0) / 1024),
    rssEndMb: Math.round((end?.rss ?? 0) / 1024),
  };
  if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else
    log(
      `${n} photos dropped at once: all audited in ${result.totalSeconds}s (${result.photosPerSecond} photos/s, first result after ` +
        `${result.firstResultSeconds}s, ${batches} batches, ${failed} failed); watcher RSS idle ${result.rssIdleMb} MB, ` +
        `peak ${result.rssPeakMb} MB, end ${result.rssEndMb} MB`,
    );
} finally {
  child.kill('SIGINT');
  await exited;
  fs.rmSync(work, { recursive: true, force: true });
}
