/**
 * `kliq-audit sync` (and `audit --sync`): drains the database's outbox to the KLIQ API, with a progress
 * bar on a terminal, and ends with counts sent / already there / failed. The API key comes from the
 * KLIQ_API_KEY environment variable (never a flag: flags land in shell history).
 * Exit: 0 everything reached the server; 1 items failed for good (their reasons are listed); 2 usage or
 * credentials; 3 the API stayed unreachable (nothing lost: the items wait for the next sync); 130 Ctrl+C.
 */
import fs from 'node:fs';
import cliProgress from 'cli-progress';
import { ConfigError } from './engine/errors';
import { openDb } from './engine/db';
import { SyncEngine } from './engine/sync';
import type { SyncEvent } from '../kliq/events';

export const SYNC_EXIT = { ok: 0, failed: 1, usage: 2, stalled: 3, cancelled: 130 } as const;

export interface SyncCliOptions {
  db: string;
  api?: string;
  tenant?: string;
  concurrency?: number;
  /** Seconds to keep trying while nothing gets through (offline, 5xx) before giving up for now. */
  wait?: number;
  retryFailed?: boolean;
}

const err = (line: string) => process.stderr.write(`${line}\n`);

/** The API URL and tenant from flags or KLIQ_API_URL / KLIQ_TENANT, the key from KLIQ_API_KEY; a ConfigError naming what is missing. */
export function syncTarget(o: { api?: string; tenant?: string }) {
  const baseUrl = o.api ?? process.env.KLIQ_API_URL;
  const tenantId = o.tenant ?? process.env.KLIQ_TENANT;
  const apiKey = process.env.KLIQ_API_KEY;
  const missing = [
    !baseUrl && '--api URL (or KLIQ_API_URL)',
    !tenantId && '--tenant ID (or KLIQ_TENANT)',
    !apiKey && 'the API key in KLIQ_API_KEY (export KLIQ_API_KEY=… — never as a flag)',
  ].filter(Boolean);
  if (missing.length) throw new ConfigError(`sync needs ${missing.join(', ')}`);
  try {
    const u = new URL(baseUrl!);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('not http(s)');
  } catch {
    throw new ConfigError(`--api ${baseUrl} is not an http(s) URL (for example https://api.kliqpulse.com/v1)`);
  }
  return { target: { baseUrl: baseUrl!.replace(/\/+$/, ''), tenantId: tenantId! }, apiKey: apiKey! };
}

export async function syncCommand(o: SyncCliOptions): Promise<number> {
  const { target, apiKey } = syncTarget(o);
  if (!fs.existsSync(o.db)) throw new ConfigError(`no database at ${o.db}: run \`kliq-audit audit\` first, or pass the right --db.`);
  const db = openDb(o.db);
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      err('stopping: requests in flight finish or are retried next time (Ctrl+C again to quit at once)');
      controller.abort();
    } else {
      process.off('SIGINT', onSigint);
      process.kill(process.pid, 'SIGINT');
    }
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  try {
    const engine = new SyncEngine(db, {
      target,
      credentials: { apiKey },
      concurrency: o.concurrency,
      stallMs: (o.wait ?? 120) * 1000,
      signal: controller.signal,
    });
    if (o.retryFailed) {
      const n = engine.outbox.retryFailed();
      if (n) err(`retrying ${n} item${n === 1 ? '' : 's'} that had failed`);
    }
    const before = engine.outbox.counts();
    err(
      `syncing ${o.db} to tenant ${target.tenantId} at ${target.baseUrl}: ${before.pending} item${before.pending === 1 ? '' : 's'} to send`,
    );
    const render = renderer();
    let done: Extract<SyncEvent, { type: 'done' }> | null = null;
    for await (const e of engine.events()) {
      render(e);
      if (e.type === 'done') done = e;
    }
    if (!done) return SYNC_EXIT.failed;
    const c = done.counts;
    const sent = c.upload + c.observation + c.cvJob + c.labels;
    err(
      `${done.reason === 'drained' ? 'done' : (done.reason ?? 'stopped')} in ${(done.elapsedMs / 1000).toFixed(1)}s: ` +
        `${sent} sent (${c.upload} photos, ${c.observation} observations, ${c.cvJob} results, ${c.labels} label sets), ` +
        `${c.unchanged ?? 0} already there, ${c.failed} failed` +
        (done.pending ? `, ${done.pending} still waiting` : ''),
    );
    const failed = engine.outbox.failed(20);
    if (failed.length) {
      err(`items that failed (kept; fix the cause, then \`kliq-audit sync --retry-failed\`):`);
      for (const f of failed) err(`  #${f.id} ${f.kind} ${f.ref}: ${f.error}`);
      const total = engine.outbox.counts().failed;
      if (total > failed.length) err(`  … and ${total - failed.length} more (see the Sync screen)`);
    }
    const conflicts = engine.store.conflicts().length;
    if (conflicts) err(`${conflicts} label conflict${conflicts === 1 ? '' : 's'}: the server kept its labels; choose on the Sync screen`);
    switch (done.reason) {
      case 'auth':
        err('the KLIQ API refused the key (401): check KLIQ_API_KEY and --tenant');
        return SYNC_EXIT.usage;
      case 'cancelled':
        return SYNC_EXIT.cancelled;
      case 'stalled':
        err(
          `the KLIQ API could not be reached (or kept failing) for ${o.wait ?? 120}s; nothing is lost: run \`kliq-audit sync\` again later`,
        );
        return SYNC_EXIT.stalled;
      default:
        return engine.outbox.counts().failed > 0 ? SYNC_EXIT.failed : SYNC_EXIT.ok;
    }
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    db.close();
  }
}

function renderer() {
  const tty = process.stderr.isTTY === true;
  let bar: cliProgress.SingleBar | null = null;
  let lastLine = 0;
  let offline = false;
  return (e: SyncEvent) => {
    switch (e.type) {
      case 'progress':
        if (tty) {
          if (!bar) {
            bar = new cliProgress.SingleBar(
              { format: ' {bar} {value}/{total} items | {phase}', stream: process.stderr, hideCursor: true },
              cliProgress.Presets.shades_classic,
            );
            bar.start(e.total, e.done, { phase: e.phase });
          }
          bar.setTotal(e.total);
          bar.update(e.done, { phase: e.phase });
        } else if (Date.now() - lastLine > 2000 || e.done === e.total) {
          lastLine = Date.now();
          err(`${e.done}/${e.total} items`);
        }
        offline = false;
        break;
      case 'error':
        if (e.statusCode === 0) {
          if (offline) break;
          offline = true;
        }
        bar?.stop();
        bar = null;
        err(`${e.retryable ? 'will retry' : 'failed'}: ${e.kind ? `${e.kind} ${e.localId ?? ''}` : 'catalog'}: ${e.message}`);
        break;
      case 'item':
        break;
      case 'done':
        bar?.stop();
        bar = null;
        break;
    }
  };
}
