/**
 * `npm run bench:mainthread [-- --photos 5000 --size 640x480 --host thread|main --json]`
 *
 * Does the engine ever block the host's thread (the Electron main process) for long during a large
 * import? Runs the engine under plain Node, as the desktop app hosts it (`--host thread`, default: the
 * engine in its worker thread, EngineThread, inference in a worker of that) or as serve does (`--host
 * main`: EngineHost on this thread), importing `--photos` small generated JPEGs while the UI's calls keep coming (a queue page and
 * the import list every 100 ms, through the same RPC dispatcher as IPC), and measures the event loop:
 *   - perf_hooks.monitorEventLoopDelay (10 ms resolution): max, p99, mean;
 *   - a 5 ms ticker that records every stall (time between ticks beyond the interval), counted over 50 ms;
 *   - the RPC calls' own durations.
 * The target: no stall over 50 ms.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { EngineHost } from '../src/main/engine/host';
import { createRpcHandler } from '../src/main/engine/rpc';
import { MemorySecretStore } from '../src/main/engine/settings';
import { EngineThread } from '../src/main/engine/thread/client';
import type { EngineEvent, RpcResponse } from '../src/shared/rpc';

const err = (s: string) => process.stderr.write(`${s}\n`);
const { values: args } = parseArgs({
  options: {
    photos: { type: 'string', default: '1000' },
    size: { type: 'string', default: '640x480' },
    json: { type: 'boolean', default: false },
    /** thread: the engine in its worker thread, as the desktop app runs it (EngineThread); main: on this thread, as serve runs it. */
    host: { type: 'string', default: 'thread' },
    keep: { type: 'boolean', default: false },
  },
});
const N = Number(args.photos);
const [W, H] = args.size.split('x').map(Number);

interface Stall {
  /** ms since the import started */
  at: number;
  /** the gap beyond the 5 ms tick */
  ms: number;
  /** of which: waiting for a CPU (Linux schedstat), running, and the rest (running or in a synchronous call) */
  runqueueMs: number;
  cpuMs: number;
  blockedMs: number;
  /** major page faults of the thread during the gap */
  majorFaults: number;
}

/** This (main) thread's time on a CPU and waiting in the run queue, in ns (Linux; null elsewhere). */
function schedstat(): { runNs: number; waitNs: number; majorFaults: number } | null {
  try {
    const [run, wait] = fs.readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ').map(Number);
    // /proc/…/stat field 12: major page faults (the thread waited for the disk to page memory in)
    const stat = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const majorFaults = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[9]);
    return { runNs: run, waitNs: wait, majorFaults };
  } catch {
    return null;
  }
}

interface BenchEngine {
  handle(method: string, params: unknown): Promise<RpcResponse>;
  onEvent(l: (e: EngineEvent) => void): void;
  checkpoints: string;
  close(): Promise<void>;
}

async function openEngine(root: string): Promise<BenchEngine> {
  const db = path.join(root, 'bench.db');
  const secrets = new MemorySecretStore();
  if (args.host === 'thread') {
    const t = await EngineThread.start({
      dbFile: db,
      settingsDir: root,
      secrets,
      host: 'desktop',
      user: 'bench',
      provider: 'cpu',
      onLog: (level, text) => err(`${level}: ${text}`),
    });
    return {
      handle: (m, p) => t.handle(m, p),
      onEvent: (l) => void t.onEvent(l),
      checkpoints: 'worker thread (in the engine thread)',
      close: () => t.close(),
    };
  }
  if (args.host !== 'main') throw new Error('--host is thread or main');
  const host = EngineHost.open(db, { user: 'bench', provider: 'cpu', settings: { dir: root, secrets, host: 'serve' } }).start();
  // KLIQ_BENCH_INLINE_CHECKPOINTS=1: SQLite's default (checkpoints inside commits, on this thread), to compare
  if (process.env.KLIQ_BENCH_INLINE_CHECKPOINTS) await host.checkpoints.stop();
  return {
    handle: createRpcHandler(host),
    onEvent: (l) => void host.onEvent(l),
    checkpoints: host.checkpoints.active ? 'worker thread' : 'inline (SQLite default)',
    close: () => host.close(),
  };
}

async function generate(dir: string): Promise<void> {
  // a few distinct base images (noise + shapes), each photo a variant (its own bytes, so its own sha256)
  const bases = await Promise.all(
    Array.from({ length: 8 }, async (_, k) => {
      const raw = Buffer.alloc(W * H * 3);
      let s = 12345 + k;
      for (let i = 0; i < raw.length; i++) raw[i] = (s = (s * 1103515245 + 12345) & 0x7fffffff) >> 23;
      return sharp(raw, { raw: { width: W, height: H, channels: 3 } })
        .blur(3)
        .jpeg({ quality: 80 })
        .toBuffer();
    }),
  );
  for (let i = 0; i < N; i++) {
    const sub = path.join(dir, `visit-${String(Math.floor(i / 500)).padStart(2, '0')}`);
    if (i % 500 === 0) fs.mkdirSync(sub, { recursive: true });
    // a JPEG comment segment makes each file unique without re-encoding
    const base = bases[i % bases.length];
    const comment = Buffer.from(`photo ${i}`);
    const seg = Buffer.concat([Buffer.from([0xff, 0xfe, 0, comment.length + 2]), comment]);
    fs.writeFileSync(path.join(sub, `p${String(i).padStart(5, '0')}.jpg`), Buffer.concat([base.subarray(0, 2), seg, base.subarray(2)]));
  }
}

async function main() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kliq-bench-main-'));
  const photos = path.join(root, 'photos');
  try {
    err(`generating ${N} photos of ${W}×${H} in ${photos}…`);
    await generate(photos);
    const engine = await openEngine(root);
    const { handle, checkpoints } = engine;
    let progress = { done: 0, total: 0 };
    let ended: () => void = () => undefined;
    const importEnded = new Promise<void>((resolve) => (ended = resolve));
    engine.onEvent((e) => {
      if (e.type === 'import' && e.event.type === 'progress') progress = { done: e.event.done, total: e.event.total };
      if (e.type === 'import-state' && e.info.state !== 'running') ended();
    });

    const h = monitorEventLoopDelay({ resolution: 10 });
    const stalls: Stall[] = [];
    const TICK = 5;
    let last = performance.now();
    let lastSched = schedstat();
    const t0 = last;
    const ticker = setInterval(() => {
      const now = performance.now();
      const sched = schedstat();
      const late = now - last - TICK;
      if (late > 20) {
        // Linux: how much of the gap the thread spent waiting for a CPU (other processes' load), not blocked by us
        const waitMs = sched && lastSched ? (sched.waitNs - lastSched.waitNs) / 1e6 : 0;
        const cpuMs = sched && lastSched ? (sched.runNs - lastSched.runNs) / 1e6 : late;
        stalls.push({
          at: Math.round(now - t0),
          ms: Math.round(late),
          runqueueMs: Math.round(waitMs),
          cpuMs: Math.round(cpuMs),
          blockedMs: Math.round(late - waitMs),
          majorFaults: sched && lastSched ? sched.majorFaults - lastSched.majorFaults : 0,
        });
      }
      last = now;
      lastSched = sched;
    }, TICK);
    const rpcTimes: number[] = [];
    let calls = 0;
    const ui = setInterval(() => {
      const s = performance.now();
      void Promise.all([handle('queue', { limit: 50, offset: 0 }), handle('imports', {})]).then(() => {
        rpcTimes.push(performance.now() - s);
        calls++;
      });
    }, 100);
    const report = setInterval(
      () => err(`  ${progress.done}/${progress.total} photos, ${stalls.filter((x) => x.ms > 50).length} stalls > 50 ms`),
      10_000,
    );
    h.enable();
    const elu0 = performance.eventLoopUtilization();
    const start = performance.now();
    const r = await handle('startImport', { paths: [photos] });
    if (!r.ok) throw new Error(r.error.message);
    await importEnded;
    const elapsed = (performance.now() - start) / 1000;
    const elu = performance.eventLoopUtilization(elu0);
    h.disable();
    clearInterval(ticker);
    clearInterval(ui);
    clearInterval(report);
    const info = (await handle('imports', {})) as { ok: true; result: { done: number; failed: number; state: string }[] };
    const imp = info.result[0];
    await engine.close();

    rpcTimes.sort((a, b) => a - b);
    const over50 = stalls.filter((s) => s.ms > 50);
    // what the engine did on its thread: the gap less the time the OS kept the thread waiting for a CPU
    const blocked50 = stalls.filter((s) => s.blockedMs > 50);
    const result = {
      photos: N,
      size: `${W}x${H}`,
      host: args.host,
      imported: imp.done,
      failed: imp.failed,
      state: imp.state,
      seconds: Number(elapsed.toFixed(1)),
      photosPerSecond: Number((imp.done / elapsed).toFixed(1)),
      eventLoopDelayMs: {
        max: Number((h.max / 1e6).toFixed(1)),
        p99: Number((h.percentile(99) / 1e6).toFixed(1)),
        mean: Number((h.mean / 1e6).toFixed(1)),
      },
      eventLoopUtilization: Number(elu.utilization.toFixed(3)),
      stallsOver20ms: stalls.length,
      stallsOver50ms: over50.length,
      /** Stalls where the thread itself was busy or in a synchronous call (not waiting for a CPU) over 50 ms: the engine's own blocking. */
      blockedOver50ms: blocked50.length,
      longestBlocked: [...stalls].sort((a, b) => b.blockedMs - a.blockedMs).slice(0, 5),
      longestStalls: [...stalls].sort((a, b) => b.ms - a.ms).slice(0, 5),
      loadAverage: os.loadavg().map((x) => Number(x.toFixed(2))),
      uiCalls: calls,
      uiCallMs: {
        p50: Number((rpcTimes[Math.floor(rpcTimes.length * 0.5)] ?? 0).toFixed(1)),
        p99: Number((rpcTimes[Math.floor(rpcTimes.length * 0.99)] ?? 0).toFixed(1)),
        max: Number((rpcTimes.at(-1) ?? 0).toFixed(1)),
      },
      checkpoints,
      cores: os.availableParallelism(),
      node: process.version,
    };
    if (args.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      err(
        `${result.imported}/${N} photos (${result.failed} failed) in ${result.seconds} s, ${result.photosPerSecond} photos/s, ` +
          `${result.cores} cores, engine on ${args.host === 'thread' ? 'its own thread' : 'this thread'}, checkpoints ${checkpoints}`,
      );
      err(
        `event loop delay: max ${result.eventLoopDelayMs.max} ms, p99 ${result.eventLoopDelayMs.p99} ms, ` +
          `mean ${result.eventLoopDelayMs.mean} ms; utilization ${result.eventLoopUtilization}`,
      );
      err(
        `stalls (wall clock): ${result.stallsOver20ms} over 20 ms, ${result.stallsOver50ms} over 50 ms; ` +
          `longest ${JSON.stringify(result.longestStalls)}`,
      );
      err(
        `blocked by the engine (stall less run-queue wait; load average ${result.loadAverage.join(' ')}): ` +
          `${result.blockedOver50ms} over 50 ms; longest ${JSON.stringify(result.longestBlocked)}`,
      );
      err(
        `UI calls during the import: ${calls}, p50 ${result.uiCallMs.p50} ms, p99 ${result.uiCallMs.p99} ms, max ${result.uiCallMs.max} ms`,
      );
      err(
        result.blockedOver50ms === 0
          ? 'OK: the engine never blocked its thread over 50 ms'
          : 'FAIL: the engine blocked its thread over 50 ms',
      );
    }
    process.exitCode = result.blockedOver50ms === 0 ? 0 : 1;
  } finally {
    if (!args.keep) fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();
