/**
 * `npm run bench:review [-- --photos 100000 --detections 10 --json --no-browser]`
 *
 * The review screen's time budgets (issue 13), each printed against its budget:
 *   - queue page (100 rows) p95 < 20 ms: scrolling, the first page after an edit, the first page on a
 *     fresh server;
 *   - facet counts < 200 ms the first time (a fresh server, several filters), and after an edit;
 *   - keypress → next photo painted with its boxes, in Chromium through Playwright, p95 < 50 ms on
 *     12 MP photos, with a pause between photos and pressing straight on;
 *   - renderer memory over 200 photos viewed: flat within 100 MB;
 *   - the Queue's grid scrolled through 5000 rows: no frame over 50 ms (bench/grid-scroll.ts).
 * The database (100 000 photos / 1 000 000 boxes by default) is written by SQL with the engine's schema;
 * its photos cycle through 48 real 12 MP JPEGs made from ../shared/photos (bench/photoset.ts), each row
 * with that file's real size, bytes and mtime, so /photo serves real pixels. Served by the real
 * `kliq-audit serve` server, measured over its WebSocket and in Chromium: the fresh starts in their own
 * process (bin/kliq-audit.mjs serve), the rest in this process.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import WebSocket from 'ws';
import { chromium, type Browser, type Page } from 'playwright-core';
import { openDb, type Db } from '../src/main/engine/db';
import { EngineHost } from '../src/main/engine/host';
import { makeThumbnail, ThumbCache, thumbsDirFor } from '../src/main/engine/thumbs';
import { queueKeysSql } from '../src/main/engine/db/queries';
import { serve, type Served } from '../src/main/serve';
import { loadManifest } from '../src/main/engine/models/manifest';
import { DEFAULT_QUEUE, type QueueFilter } from '../src/shared/rpc';
import { measureGridScroll } from './grid-scroll';
import { makePhotoSet, SIZES, type SizeName } from './photoset';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PHOTOS = path.resolve(ROOT, '..', 'shared', 'photos');
const RENDERER = path.join(ROOT, 'out', 'renderer');
const CHROMIUM = process.env.KLIQ_CHROMIUM ?? '/usr/bin/chromium';
const err = (s: string) => process.stderr.write(`${s}\n`);
const { values: args } = parseArgs({
  options: {
    photos: { type: 'string', default: '100000' },
    detections: { type: 'string', default: '10' },
    json: { type: 'boolean', default: false },
    'no-browser': { type: 'boolean', default: false },
    keep: { type: 'string' },
    /** The photos' size: 12mp (the budget's), phone or small (to tell decoding from the rest). */
    'photo-size': { type: 'string', default: '12mp' },
  },
});
const N = Number(args.photos);
const PER = Number(args.detections);
const SIZE_NAME = args['photo-size']!;
if (!(SIZE_NAME in SIZES)) throw new Error(`--photo-size: one of ${Object.keys(SIZES).join(', ')}`);

interface PhotoFile {
  file: string;
  width: number;
  height: number;
  bytes: number;
  mtimeMs: number;
}

/** The 12 MP photo set with each file's displayed size (EXIF orientation applied), bytes and mtime. */
async function photoFiles(): Promise<PhotoFile[]> {
  const dir = await makePhotoSet(PHOTOS, args['photo-size'] as SizeName, 48, err);
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.jpg'))
    .sort();
  return Promise.all(
    files.map(async (f) => {
      const file = path.join(dir, f);
      const m = await sharp(file).metadata();
      const swap = (m.orientation ?? 1) >= 5;
      const st = fs.statSync(file);
      return {
        file,
        width: swap ? m.height! : m.width!,
        height: swap ? m.width! : m.height!,
        bytes: st.size,
        mtimeMs: Math.floor(st.mtimeMs),
      };
    }),
  );
}

function generate(file: string, labels: string[], photos: PhotoFile[]): Db {
  const db = openDb(file);
  const t = new Date().toISOString();
  const locs = Array.from({ length: 20 }, (_, i) => `loc_${i}`);
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  db.transaction(() => {
    const loc = db.prepare('INSERT INTO locations (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)');
    locs.forEach((id, i) => loc.run(id, `Store ${i + 1}`, t, t));
    const obs = db.prepare(`INSERT INTO observations
        (id, location_id, sha256, source_path, bytes, file_mtime_ms, mime_type, width, height, metadata, status, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, 'image/jpeg', ?, ?, ?, 'completed', ?, ?)`);
    const job = db.prepare(
      `INSERT INTO cv_jobs (id, observation_id, model, status, provider, summary, created_at, completed_at)
         VALUES (?, ?, 'yolox-nano-coco', 'completed', 'cpu', '{}', ?, ?)`,
    );
    const det = db.prepare(
      'INSERT INTO detections (cv_job_id, observation_id, object_name, confidence, x, y, width, height) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    for (let i = 0; i < N; i++) {
      const id = `obs_${String(i).padStart(8, '0')}`;
      const p = photos[i % photos.length];
      obs.run(
        id,
        locs[i % locs.length],
        // unique per observation (its views are its own); the file is served on its size and mtime
        crypto.createHash('sha256').update(`bench ${i}`).digest('hex'),
        p.file,
        p.bytes,
        p.mtimeMs,
        p.width,
        p.height,
        JSON.stringify({ visit_id: `v${i % 500}` }),
        t,
        t,
      );
      job.run(`job_${i}`, id, t, t);
      for (let k = 0; k < PER; k++) {
        const w = (0.03 + rnd() * 0.15) * p.width;
        const h = (0.03 + rnd() * 0.15) * p.height;
        det.run(
          `job_${i}`,
          id,
          labels[Math.floor(rnd() * rnd() * labels.length)],
          Math.round(rnd() * 10000) / 10000,
          rnd() * (p.width - w),
          rnd() * (p.height - h),
          w,
          h,
        );
      }
    }
    db.exec(`UPDATE observations SET current_job_id = 'job_' || CAST(substr(id, 5) AS INTEGER), model = 'yolox-nano-coco'`);
    db.exec(`UPDATE observations SET ${queueKeysSql('observations.current_job_id')}`);
  })();
  db.exec('ANALYZE');
  return db;
}

const pct = (v: number[], p: number) => (v.length ? [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor(p * v.length))] : NaN);
const r1 = (v: number) => Math.round(v * 10) / 10;
const stat = (v: number[]) => ({ n: v.length, p50: r1(pct(v, 0.5)), p95: r1(pct(v, 0.95)), max: r1(Math.max(...v)) });

interface Rpc {
  call(method: string, params: unknown): Promise<unknown>;
  close(): void;
}

async function connect(served: Pick<Served, 'port' | 'token'>): Promise<Rpc> {
  const ws = new WebSocket(`ws://127.0.0.1:${served.port}/rpc?token=${served.token}`);
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  ws.on('message', (m) => {
    const msg = JSON.parse(m.toString());
    if (msg.kind !== 'response') return;
    const w = waiting.get(msg.id);
    waiting.delete(msg.id);
    if (msg.ok) w?.resolve(msg.result);
    else w?.reject(new Error(msg.error.message));
  });
  let id = 0;
  return {
    call: (method, params) =>
      new Promise((resolve, reject) => {
        const i = ++id;
        waiting.set(i, { resolve, reject });
        ws.send(JSON.stringify({ id: i, method, params }));
      }),
    close: () => ws.close(),
  };
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t = performance.now();
  const v = await fn();
  return [performance.now() - t, v];
}

const COUNT_FILTERS: { name: string; filter: QueueFilter }[] = [
  { name: 'unreviewed (the queue opens on it)', filter: { review: 'unreviewed' } },
  { name: 'all photos', filter: {} },
  { name: 'location', filter: { location: 'Store 3' } },
  { name: 'label = dog', filter: { label: 'dog' } },
  { name: 'unreviewed + label + location', filter: { review: 'unreviewed', label: 'cup', location: 'Store 5' } },
  // counted in SQL (the facet tables do not hold them): a confidence band, a file-name search (p00010–p00019.jpg),
  // and a search every name matches, as a search for "IMG" is in a phone's photos (counted by its complement)
  { name: 'confidence 0.3–0.6', filter: { confMin: 0.3, confMax: 0.6 } },
  { name: 'name search', filter: { name: 'p0001' } },
  { name: 'name search matching all', filter: { name: '.jpg' } },
];

/**
 * `kliq-audit serve` started in its own process on the database (a restarted app): nothing of it is
 * warm, as after a restart; the bench's client is (a browser's would be). Resolves once it listens.
 */
async function freshProcess(file: string) {
  const proc = spawn(process.execPath, [path.join(ROOT, 'bin', 'kliq-audit.mjs'), 'serve', '--db', file, '--port', '0'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const first = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: proc.stdout! }).once('line', (l) => resolve(l.trim()));
    proc.once('exit', (code) => reject(new Error(`kliq-audit serve exited (${code}) before it listened`)));
  });
  const url = new URL(first);
  const rpc = await connect({ port: Number(url.port), token: url.searchParams.get('token') ?? '' });
  return {
    rpc,
    close: async () => {
      rpc.close();
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** A fresh engine and server on the database (a restarted app), the first answers measured. */
/** Photos the grid is scrolled through (from the queue's cursor, where Review left it). */
const GRID_ROWS = 5000;

/**
 * The thumbnails of the first `n` photos of the default queue, kept where an import keeps them (it makes
 * each as it audits: ThumbCache.ensure in engine/audit.ts). The database's photos are copies of 48 files,
 * so each file's thumbnail is made once with sharp and kept for every photo of it (each photo's content
 * hash is its own here). Without them, the grid's scroll measured the server making thumbnails of 12 MP
 * photos on demand, on the same two cores, which an auditor's imported photos never wait for.
 */
async function keepThumbnails(file: string, rpc: Rpc, n: number): Promise<number> {
  const ids: string[] = [];
  while (ids.length < n) {
    const page = (await rpc.call('queue', { ...DEFAULT_QUEUE, offset: ids.length, limit: 500 })) as { items: { observationId: string }[] };
    if (!page.items.length) break;
    ids.push(...page.items.map((i) => i.observationId));
  }
  const db = openDb(file);
  const cache = new ThumbCache(thumbsDirFor(file));
  const made = new Map<string, Buffer>();
  try {
    const rows = db
      .prepare<[string], { sha256: string; source_path: string }>(
        'SELECT sha256, source_path FROM observations WHERE id IN (SELECT value FROM json_each(?))',
      )
      .all(JSON.stringify(ids));
    for (const r of rows) {
      let bytes = made.get(r.source_path);
      if (!bytes) made.set(r.source_path, (bytes = await makeThumbnail(fs.readFileSync(r.source_path))));
      const to = cache.fileFor(r.sha256)!;
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.writeFileSync(to, bytes);
    }
    return rows.length;
  } finally {
    db.close();
  }
}

async function freshServer(file: string, labels: string[]) {
  const db = openDb(file);
  const host = new EngineHost(db, { user: 'bench', modelLabels: labels });
  const served = await serve({ host, rendererDir: RENDERER, port: 0 });
  const rpc = await connect(served);
  return {
    host,
    served,
    rpc,
    close: async () => {
      rpc.close();
      await served.close();
      db.close();
    },
  };
}

/**
 * Installs window.__paint: resolves with ms from the next keydown to the frame after the next photo is shown
 * with its boxes, and when (ms, checked once per frame) the page first showed the new photo's id
 * (React committed), its pixels (the image loaded) and all its boxes.
 */
const PAINT_PROBE = `function () {
  var from = document.querySelector('.canvas-wrap').dataset.photo;
  window.__paint = new Promise(function (resolve, reject) {
    var t0 = 0, commit = -1, pixels = -1, boxes = -1, bitmap = false;
    function painted() {
      var wrap = document.querySelector('.canvas-wrap');
      var img = document.querySelector('[data-testid=review-image]');
      var drawn = document.querySelector('[data-testid=review-bitmap]');
      var target = wrap && wrap.dataset.photo;
      if (!target || target === from) return false;
      var now = performance.now() - t0;
      if (commit < 0) commit = now;
      // its pixels: an <img> of it loaded, or the canvas it was drawn into (a bitmap decoded ahead)
      var shown = (img && img.src.indexOf(target) >= 0 && img.complete && img.naturalWidth) ||
        (drawn && drawn.dataset.src.indexOf(target) >= 0 && drawn.dataset.drawn === 'true');
      if (shown && pixels < 0) pixels = now;
      bitmap = !!drawn;
      var all = document.querySelectorAll('[data-testid=box]').length === Number(wrap.dataset.boxes);
      if (all && boxes < 0) boxes = now;
      return shown && all;
    }
    function frame() {
      if (performance.now() - t0 > 10000) return reject(new Error('no photo after ' + from + ' painted in 10 s'));
      // shown in this frame: the next frame begins after it was presented
      if (painted()) requestAnimationFrame(function () {
        resolve({ total: performance.now() - t0, commit: commit, pixels: pixels, boxes: boxes, bitmap: bitmap });
      });
      else requestAnimationFrame(frame);
    }
    function start() { t0 = performance.now(); requestAnimationFrame(frame); }
    window.addEventListener('keydown', start, { capture: true, once: true });
  });
}`;

/**
 * Keypress → painted next photo, in Chromium: `pauseMs` of looking between photos, or none (pressing
 * straight on: the next key as soon as a photo is painted). The key goes through the browser's input
 * (Playwright); the time runs from the page's keydown to the frame after the one that shows the target
 * photo's pixels with all its boxes.
 */
async function keypressToPaint(page: Page, presses: number, pauseMs: number) {
  const times: number[] = [];
  const phases = { commit: [] as number[], pixels: [] as number[], boxes: [] as number[] };
  let fromBitmap = 0;
  for (let k = 0; k < presses; k++) {
    // a string, not a function: tsx's keepNames would put its __name helper into the page
    await page.evaluate(`(${PAINT_PROBE})()`);
    await page.keyboard.press('d');
    type Paint = { total: number; commit: number; pixels: number; boxes: number; bitmap: boolean };
    const p = await page.evaluate(() => (window as unknown as { __paint: Promise<Paint> }).__paint);
    times.push(p.total);
    phases.commit.push(p.commit);
    phases.pixels.push(p.pixels);
    phases.boxes.push(p.boxes);
    if (p.bitmap) fromBitmap++;
    if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
  }
  if (process.env.KLIQ_PAINT_PHASES)
    err(
      `phases p50/p95 (ms): ` +
        Object.entries(phases)
          .map(([k, v]) => `${k} ${r1(pct(v, 0.5))}/${r1(pct(v, 0.95))}`)
          .join(', ') +
        `; ${fromBitmap}/${presses} drawn from a bitmap decoded ahead` +
        `\n  each (total/commit ms): ${times.map((t, i) => `${r1(t)}/${r1(phases.commit[i])}`).join(' ')}`,
    );
  return times;
}

/** Memory of the browser's processes (renderer, GPU, browser): proportional set size (shared pages split), MB. */
function browserPssMb(browserPid: number): number {
  const kids = (pid: number): number[] => {
    try {
      const out = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
      return out
        ? out
            .split(/\s+/)
            .map(Number)
            .flatMap((c) => [c, ...kids(c)])
        : [];
    } catch {
      return [];
    }
  };
  let kb = 0;
  const byType: Record<string, number> = {};
  for (const pid of [browserPid, ...kids(browserPid)]) {
    try {
      const m = /^Pss:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      kb += m ? Number(m[1]) : 0;
      const type = /--type=([a-z-]+)/.exec(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'))?.[1] ?? 'browser';
      byType[type] = (byType[type] ?? 0) + Math.round((m ? Number(m[1]) : 0) / 1024);
    } catch {
      /* gone */
    }
  }
  if (process.env.KLIQ_PAINT_PHASES) err(`browser PSS by process (MB): ${JSON.stringify(byType)}`);
  return kb / 1024;
}

/**
 * The renderer's memory by allocator (Chromium's memory-infra dump: malloc, partition_alloc, blink_gc,
 * v8, skia, cc, discardable, web_cache…), MB, the largest first: what grows when the JS heap does not.
 */
async function rendererAllocators(page: Page): Promise<Record<string, number>> {
  const browser = await page.context().browser()!.newBrowserCDPSession();
  const events: {
    ph?: string;
    name?: string;
    pid?: number;
    args?: { dumps?: { allocators?: Record<string, { attrs?: { size?: { value: string } } }> } };
  }[] = [];
  browser.on('Tracing.dataCollected', (e: { value: typeof events }) => events.push(...e.value));
  await browser.send('Tracing.start', {
    traceConfig: {
      includedCategories: ['disabled-by-default-memory-infra'],
      memoryDumpConfig: { triggers: [] },
    },
    transferMode: 'ReportEvents',
  } as never);
  await browser.send('Tracing.requestMemoryDump', { levelOfDetail: 'detailed' } as never);
  const complete = new Promise((resolve) => browser.once('Tracing.tracingComplete', resolve));
  await browser.send('Tracing.end');
  await complete;
  await browser.detach();
  // the process with blink_gc is the renderer; top-level allocators only (no '/')
  const dumps = events.filter((e) => e.ph === 'v' && e.args?.dumps?.allocators?.blink_gc);
  const out: Record<string, number> = {};
  for (const d of dumps.slice(-1))
    for (const [name, a] of Object.entries(d.args!.dumps!.allocators!))
      if (!name.includes('/') && a.attrs?.size) out[name] = Math.round(parseInt(a.attrs.size.value, 16) / 1e5) / 10;
  // KLIQ_MEMORY_DETAIL=1: cc's and discardable memory by what holds it
  if (process.env.KLIQ_MEMORY_DETAIL)
    for (const d of dumps.slice(-1)) {
      const sub: Record<string, number> = {};
      for (const [name, a] of Object.entries(d.args!.dumps!.allocators!)) {
        const parts = name.split('/');
        if ((parts[0] === 'cc' || parts[0] === 'discardable') && parts.length >= 2 && a.attrs?.size) {
          const key = parts
            .slice(0, 3)
            .join('/')
            .replace(/0x[0-9a-f]+/g, '#')
            .replace(/_\d+$/, '_N');
          sub[key] = (sub[key] ?? 0) + parseInt(a.attrs.size.value, 16) / 1e6;
        }
      }
      const top = Object.entries(sub).sort((x, y) => y[1] - x[1]);
      process.stderr.write(`  cc and discardable (MB): ${JSON.stringify(top.slice(0, 12).map(([k, v]) => [k, Math.round(v)]))}\n`);
    }
  return Object.fromEntries(
    Object.entries(out)
      .sort((x, y) => y[1] - x[1])
      .slice(0, 14),
  );
}

/**
 * CPU time so far from /proc/stat (Linux; null elsewhere): all of it, and the part "stolen" by the host
 * of a virtual machine (ticks this machine's CPUs wanted but were given to others). The bench reports
 * the stolen share of each part, so a slow run can be told from a busy host.
 */
function cpuTicks(): { total: number; steal: number } | null {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return { total: f.slice(0, 8).reduce((a, b) => a + b, 0), steal: f[7] ?? 0 };
  } catch {
    return null;
  }
}
function stealPct(from: ReturnType<typeof cpuTicks>, to: ReturnType<typeof cpuTicks>): number | null {
  if (!from || !to || to.total <= from.total) return null;
  return r1((100 * (to.steal - from.steal)) / (to.total - from.total));
}

async function browserPart(served: Served) {
  let browser: Browser | null = null;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
    const pid = findChromiumPid();
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    if (process.env.KLIQ_PAINT_PHASES) page.on('console', (m) => err(`page: ${m.text()}`));
    await page.goto(`http://127.0.0.1:${served.port}/?token=${served.token}`);
    await page.waitForSelector('[data-testid=queue-row]', { timeout: 60_000 });
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => !!document.querySelector<HTMLElement>('.canvas-wrap')?.dataset.photo, undefined, { timeout: 30_000 });
    await page.waitForTimeout(1000);
    const paused = await keypressToPaint(page, 40, 400);
    // KLIQ_PAINT_PROFILE=file.cpuprofile: the renderer's CPU profile while pressing straight on
    const cdp = process.env.KLIQ_PAINT_PROFILE ? await page.context().newCDPSession(page) : null;
    if (cdp) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
      await cdp.send('Profiler.start');
    }
    // KLIQ_PAINT_TRACE=file.json: a Chromium trace (chrome://tracing, Perfetto) of pressing straight on
    const tracer = process.env.KLIQ_PAINT_TRACE ? await page.context().newCDPSession(page) : null;
    const traced: unknown[] = [];
    if (tracer) {
      tracer.on('Tracing.dataCollected', (e: { value: unknown[] }) => traced.push(...e.value));
      await tracer.send('Tracing.start', {
        categories: [
          'devtools.timeline',
          'disabled-by-default-devtools.timeline',
          'disabled-by-default-devtools.timeline.frame',
          'v8,blink,cc,viz,gpu,toplevel',
        ].join(','),
        transferMode: 'ReportEvents',
      });
    }
    const straight = await keypressToPaint(page, 40, 0);
    if (cdp) fs.writeFileSync(process.env.KLIQ_PAINT_PROFILE!, JSON.stringify((await cdp.send('Profiler.stop')).profile));
    if (tracer) {
      const complete = new Promise((resolve) => tracer.once('Tracing.tracingComplete', resolve));
      await tracer.send('Tracing.end');
      await complete;
      fs.writeFileSync(process.env.KLIQ_PAINT_TRACE!, JSON.stringify({ traceEvents: traced }));
    }
    // memory: 200 photos viewed straight on, resident size of the browser's processes before (garbage
    // collected: a clean start) and after (as it is, the budget's figure; then collected, for what is kept)
    const heap = await page.context().newCDPSession(page);
    const collected = async () => {
      await heap.send('HeapProfiler.collectGarbage');
      await page.waitForTimeout(1000);
      if (process.env.KLIQ_PAINT_PHASES) {
        const dom = await heap.send('Memory.getDOMCounters');
        const js = await page.evaluate(() => (performance as unknown as { memory: { usedJSHeapSize: number } }).memory.usedJSHeapSize);
        err(`renderer: JS heap ${(js / 1e6).toFixed(1)} MB, DOM ${JSON.stringify(dom)}`);
        err(`renderer by allocator (MB): ${JSON.stringify(await rendererAllocators(page))}`);
      }
      return browserPssMb(pid);
    };
    const pssAt10 = await collected();
    await keypressToPaint(page, 200, 0);
    await page.waitForTimeout(2000);
    const pssAt210 = browserPssMb(pid);
    const pssAt210Collected = await collected();
    // with KLIQ_PAINT_PHASES: 200 photos more, to tell growth that levels off from growth that goes on
    if (process.env.KLIQ_PAINT_PHASES) {
      await keypressToPaint(page, 200, 0);
      await page.waitForTimeout(2000);
      err(`browser PSS after 410 photos: ${browserPssMb(pid).toFixed(0)} MB (after 210: ${pssAt210.toFixed(0)} MB)`);
    }
    // the Queue's grid: frames while scrolling through 5000 rows (thumbnails loading as they come into view)
    await page.click('[data-testid=nav-queue]');
    await page.waitForSelector('[data-testid=queue-row]');
    await page.keyboard.press('v');
    // measureGridScroll passes a function: tsx's keepNames wraps it in a __name helper the page lacks
    await page.evaluate('globalThis.__name = function (f) { return f; }');
    const grid = await measureGridScroll(page, GRID_ROWS);
    return { paused, straight, pssAt10, pssAt210, pssAt210Collected, grid };
  } finally {
    await browser?.close();
  }
}

/** The Chromium browser process this bench launched (the newest /usr/bin/chromium child of this process). */
function findChromiumPid(): number {
  const mine = fs.readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
  const chrome = mine.filter((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('chromium');
    } catch {
      return false;
    }
  });
  return chrome.at(-1) ?? 0;
}

async function main() {
  if (!fs.existsSync(path.join(RENDERER, 'index.html'))) throw new Error('the UI is not built: run `npm run build` first');
  const labels = loadManifest().models[0].labels;
  const cpuAtStart = cpuTicks();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kliq-review-bench-'));
  const file = path.join(dir, 'review.db');
  const photos = await photoFiles();
  let t = performance.now();
  generate(file, labels, photos).close();
  err(
    `generated ${N} photos / ${N * PER} detections in ${((performance.now() - t) / 1000).toFixed(1)}s ` +
      `(${(fs.statSync(file).size / 1e6).toFixed(0)} MB)`,
  );

  // 1. a fresh server (its own process), five times: its first queue page and its first facet counts
  const firstPage: number[] = [];
  const firstCounts: Record<string, number[]> = Object.fromEntries(COUNT_FILTERS.map((f) => [f.name, []]));
  for (let i = 0; i < 5; i++) {
    const s = await freshProcess(file);
    firstPage.push((await timed(() => s.rpc.call('queue', { ...DEFAULT_QUEUE, offset: 0, limit: 100 })))[0]);
    for (const f of COUNT_FILTERS) firstCounts[f.name].push((await timed(() => s.rpc.call('queueCounts', { filter: f.filter })))[0]);
    await s.close();
  }

  const s = await freshServer(file, labels);
  const { rpc, served, host } = s;
  // 2. scrolling pages, and the first page after an edit, over several filters and sorts
  const queries: { name: string; filter: QueueFilter; sort: string }[] = [
    { name: 'unreviewed, uncertain first', filter: { review: 'unreviewed' }, sort: 'uncertain' },
    { name: 'all, uncertain first', filter: {}, sort: 'uncertain' },
    { name: 'label = dog', filter: { label: 'dog' }, sort: 'uncertain' },
    { name: 'confidence 0.3–0.6', filter: { confMin: 0.3, confMax: 0.6 }, sort: 'uncertain' },
    { name: 'location + visit', filter: { location: 'Store 3', visit: 'v42' }, sort: 'uncertain' },
    { name: 'newest', filter: {}, sort: 'newest' },
  ];
  const byQuery: Record<string, { scroll: ReturnType<typeof stat>; afterEdit: ReturnType<typeof stat>; firstDeep: number }> = {};
  const scroll: number[] = [];
  const afterEdit: number[] = [];
  const countsAfterEdit: number[] = [];
  let edit = 0;
  for (const q of queries) {
    const { total } = (await rpc.call('queue', { filter: q.filter, sort: q.sort, offset: 0, limit: 1 })) as { total: number };
    // the first page deep in the queue: its whole order is computed once (not in the budget: reported)
    const [firstDeep] = await timed(() => rpc.call('queue', { filter: q.filter, sort: q.sort, offset: Math.floor(total / 2), limit: 100 }));
    const times: number[] = [];
    for (let i = 0; i < 60; i++) {
      const offset = i % 3 === 0 ? 0 : Math.floor((i / 60) * Math.max(0, total - 100));
      times.push((await timed(() => rpc.call('queue', { filter: q.filter, sort: q.sort, offset, limit: 100 })))[0]);
    }
    // the first page after an edit (accept, flag back, relabel a box), and the counts after it
    const cold: number[] = [];
    for (let i = 0; i < 12; i++) {
      const obs = `obs_${String((edit++ * 7919) % N).padStart(8, '0')}`;
      if (i % 3 === 2) {
        const d = (await rpc.call('photo', { observationId: obs })) as { detections: { id: number; version: number }[] };
        if (d.detections[0])
          await rpc.call('updateDetection', { detectionId: d.detections[0].id, version: d.detections[0].version, objectName: labels[i] });
      } else await rpc.call('setReview', { observationId: obs, review: i % 3 ? 'unreviewed' : 'reviewed' });
      cold.push((await timed(() => rpc.call('queue', { filter: q.filter, sort: q.sort, offset: 0, limit: 100 })))[0]);
      countsAfterEdit.push((await timed(() => rpc.call('queueCounts', { filter: q.filter })))[0]);
    }
    byQuery[q.name] = { scroll: stat(times), afterEdit: stat(cold), firstDeep: r1(firstDeep) };
    scroll.push(...times);
    afterEdit.push(...cold);
  }

  // 3. in Chromium. The views Review shows are made after an import (EngineHost.warmViews); this database
  // was written by SQL, so they are made here, as an import would have, for the photos the browser visits
  let ui = null;
  let cpuAtBrowser: ReturnType<typeof cpuTicks> = null;
  let cpuAfterBrowser: ReturnType<typeof cpuTicks> = null;
  if (!args['no-browser'] && fs.existsSync(CHROMIUM)) {
    // (the photos viewed: 10 + 40 + 40 + 200, and 200 more with KLIQ_PAINT_PHASES; some to spare)
    const limit = process.env.KLIQ_PAINT_PHASES ? 500 : 320;
    const q = (await rpc.call('queue', { ...DEFAULT_QUEUE, offset: 0, limit })) as { items: { observationId: string }[] };
    t = performance.now();
    await host.warmViews(q.items.map((i) => i.observationId));
    err(`made ${q.items.length} views (as an import would) in ${((performance.now() - t) / 1000).toFixed(1)}s`);
    // and the thumbnails of the photos the filmstrip and the grid show, which an import makes as it audits
    t = performance.now();
    const thumbs = await keepThumbnails(file, rpc, GRID_ROWS + limit + 500);
    err(`kept ${thumbs} thumbnails (as an import would) in ${((performance.now() - t) / 1000).toFixed(1)}s`);
    cpuAtBrowser = cpuTicks();
    ui = await browserPart(served);
    cpuAfterBrowser = cpuTicks();
  }
  await s.close();
  if (args.keep) fs.copyFileSync(file, args.keep);
  fs.rmSync(dir, { recursive: true, force: true });

  const allFirstCounts = Object.values(firstCounts).flat();
  const pagesAll = [...scroll, ...afterEdit, ...firstPage];
  const budgets = [
    { what: 'queue page p95 (scrolling, after an edit, fresh server)', value: r1(pct(pagesAll, 0.95)), budget: 20 },
    { what: '  first page after an edit p95', value: r1(pct(afterEdit, 0.95)), budget: 20 },
    { what: '  first page on a fresh server (max of 5)', value: r1(Math.max(...firstPage)), budget: 20 },
    { what: 'facet counts, first time (max over filters × 5 fresh servers)', value: r1(Math.max(...allFirstCounts)), budget: 200 },
    { what: 'facet counts after an edit p95', value: r1(pct(countsAfterEdit, 0.95)), budget: 200 },
    ...(ui
      ? [
          { what: `keypress → painted photo with boxes p95, pausing 400 ms (${SIZE_NAME})`, value: r1(pct(ui.paused, 0.95)), budget: 50 },
          { what: `keypress → painted photo with boxes p95, straight on (${SIZE_NAME})`, value: r1(pct(ui.straight, 0.95)), budget: 50 },
          { what: 'browser memory growth over 200 photos (MB)', value: r1(ui.pssAt210 - ui.pssAt10), budget: 100 },
          // the issue's words: no frame over 50 ms (a frame is whole vsyncs: 50.0 ms is three, two dropped)
          {
            what: `grid scroll through 5000 rows: longest frame (ms, of ${ui.grid.frames})`,
            value: ui.grid.maxFrameMs,
            budget: 50,
            atMost: true,
          },
        ]
      : []),
  ].map((b: { what: string; value: number; budget: number; atMost?: boolean }) => ({
    ...b,
    met: b.atMost ? b.value <= b.budget : b.value < b.budget,
  }));
  const result = {
    photos: N,
    detections: N * PER,
    photoSize: `${SIZE_NAME} JPEG (48 files, real sizes)`,
    budgets,
    firstPageFreshServerMs: { ...stat(firstPage), each: firstPage.map(r1) },
    cpuStolenPct: { run: stealPct(cpuAtStart, cpuTicks()), browser: stealPct(cpuAtBrowser, cpuAfterBrowser) },
    firstCountsMs: Object.fromEntries(Object.entries(firstCounts).map(([k, v]) => [k, stat(v)])),
    countsAfterEditMs: stat(countsAfterEdit),
    byQuery,
    ui: ui && {
      pausedMs: stat(ui.paused),
      straightOnMs: stat(ui.straight),
      browserPssMb: { after10: r1(ui.pssAt10), after210: r1(ui.pssAt210), after210Collected: r1(ui.pssAt210Collected) },
      gridScroll: ui.grid,
    },
  };
  if (args.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const lines = [
    `review bench: ${N} photos, ${N * PER} boxes, ${SIZE_NAME} photos, served on 127.0.0.1 (WebSocket${ui ? ' and Chromium' : ''})`,
    '',
    ...budgets.map(
      (b) =>
        `${b.what.padEnd(68)} ${String(b.value).padStart(8)}   budget ${b.atMost ? '≤' : '<'} ${b.budget}   ${b.met ? 'MET' : 'NOT MET'}`,
    ),
    '',
    `  ${'queue'.padEnd(30)} ${'scroll p50'.padStart(10)} ${'p95'.padStart(7)} ${'edit p50'.padStart(9)} ${'p95'.padStart(7)} ` +
      `${'first deep'.padStart(11)}`,
    ...Object.entries(byQuery).map(
      ([k, v]) =>
        `  ${k.padEnd(30)} ${String(v.scroll.p50).padStart(10)} ${String(v.scroll.p95).padStart(7)} ` +
        `${String(v.afterEdit.p50).padStart(9)} ` +
        `${String(v.afterEdit.p95).padStart(7)} ${String(v.firstDeep).padStart(11)}`,
    ),
    `  facet counts, first time (ms, max of 5 fresh servers):`,
    ...Object.entries(result.firstCountsMs).map(([k, v]) => `    ${k.padEnd(40)} ${v.max}`),
    ...(ui
      ? [
          `  keypress → paint, pausing: p50 ${result.ui!.pausedMs.p50} ms, max ${result.ui!.pausedMs.max}; ` +
            `straight on: p50 ${result.ui!.straightOnMs.p50}, max ${result.ui!.straightOnMs.max}`,
          `  browser memory (PSS): ${result.ui!.browserPssMb.after10} MB after 10 photos (collected), ` +
            `${result.ui!.browserPssMb.after210} MB after 210 (${result.ui!.browserPssMb.after210Collected} MB once collected)`,
        ]
      : ['  (no Chromium: the browser budgets were not measured)']),
    ...(result.cpuStolenPct.run !== null
      ? [
          `  CPU taken by the VM's host (steal): ${result.cpuStolenPct.run} % of the run` +
            (result.cpuStolenPct.browser !== null ? `, ${result.cpuStolenPct.browser} % of the browser part` : ''),
        ]
      : []),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((e: Error) => {
  err(`bench failed: ${e.stack ?? e.message}`);
  process.exit(1);
});
