/**
 * `kliq-audit`: the engine's headless host. Commands: audit, watch and folders (./folders-cli.ts), sync (./sync-cli.ts),
 * stats, models, serve.
 * stdout carries results (the --json document); everything for people goes to stderr.
 * Exit status: 0 all photos completed; 1 finished with failed photos; 2 usage/configuration error;
 * 130 cancelled with Ctrl+C (completed work is kept; the next run resumes).
 */
import fs from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { runAudit, AUDIT_DEFAULTS, type TilesOption } from './engine/audit';
import { dbEnvironmentError, openDb } from './engine/db';
import { AuditStore } from './engine/db/store';
import { defaultDbPath } from './engine/paths';
import { ensureModelFile, loadManifest } from './engine/models/manifest';
import { ConfigError, PathNotFoundError } from './engine/errors';
import { PROVIDER_CHOICES, type AuditEvent, type ProviderChoice } from '../shared/domain';
import path from 'node:path';
import { EngineHost } from './engine/host';
import { currentUser, projectRoot } from './engine/paths';
import { serve } from './serve';
import { syncCommand, syncTarget, type SyncCliOptions } from './sync-cli';
import { registerDatasetCommands } from './cli-export';
import { BuildingService } from './engine/buildings';
import { parsePriceTags, registerRetailCommands } from './cli-retail';
import { addFolderCommands, keptSettingsFor } from './folders-cli';
import { FolderStore } from './engine/db/folders';

export const EXIT = { ok: 0, photosFailed: 1, usage: 2, cancelled: 130 } as const;

const err = (line: string) => process.stderr.write(`${line}\n`);

function parseConf(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('must be a number between 0 and 1');
  return n;
}
function parsePositiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number ≥ 1');
  return n;
}
function parseTiles(v: string): TilesOption {
  if (v === 'off' || v === 'auto') return v;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 2 || n > 8)
    throw new InvalidArgumentError('use off, auto, or the number of tiles across the short side (2..8)');
  return n;
}
function collectMeta(v: string, prev: Record<string, string>): Record<string, string> {
  const i = v.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError('use KEY=VALUE');
  return { ...prev, [v.slice(0, i)]: v.slice(i + 1) };
}

interface AuditCliOptions {
  db: string;
  model?: string;
  provider: ProviderChoice;
  conf: number;
  iou: number;
  maxDet: number;
  tiles: TilesOption;
  location?: string;
  aisle?: string;
  visit?: string;
  building?: string;
  asset?: string;
  capturedBy?: string;
  meta: Record<string, string>;
  expect?: string;
  priceTags: 'auto' | 'on' | 'off';
  json: boolean;
  prefetch?: number;
  threads?: number;
  decodeThreads?: number;
  sync: boolean;
  api?: string;
  tenant?: string;
}

function progressRenderer(json: boolean) {
  const tty = process.stderr.isTTY === true;
  let bar: cliProgress.SingleBar | null = null;
  let lastLine = 0;
  let provider = '';
  return (e: AuditEvent) => {
    switch (e.type) {
      case 'scan':
        err(`found ${e.files} photo${e.files === 1 ? '' : 's'}`);
        for (const sk of e.skipped) err(`skipped folder ${sk.path}: ${sk.reason}`);
        if (tty && e.files > 0) {
          bar = new cliProgress.SingleBar(
            {
              format: ' {bar} {value}/{total} photos | {rate} photos/s | ETA {eta_h} | failed {failed} | {provider}',
              stream: process.stderr,
              hideCursor: true,
              etaBuffer: 50,
            },
            cliProgress.Presets.shades_classic,
          );
        }
        break;
      case 'model': {
        const fallback = e.fallback ? ` — fallback: ${e.fallback}` : '';
        err(`model ${e.model} (${e.inputSize.join('×')}) on ${e.provider.toUpperCase()}${fallback}`);
        provider = e.fallback ? `${e.provider.toUpperCase()} (fallback)` : e.provider.toUpperCase();
        bar?.start(0, 0, { rate: '0.0', failed: 0, eta_h: '…', provider });
        break;
      }
      case 'photo':
        if (e.status === 'failed' || e.note) {
          if (bar) bar.stop();
          err(e.status === 'failed' ? `failed: ${e.path}: ${e.error}` : `note: ${e.path}: ${e.note}`);
          if (bar) bar.start(0, 0);
        }
        break;
      case 'progress': {
        const eta = e.etaSeconds === null ? '…' : `${Math.ceil(e.etaSeconds)}s`;
        if (bar) {
          bar.setTotal(e.total);
          bar.update(e.done, { rate: e.photosPerSecond.toFixed(1), failed: e.failed, eta_h: eta, provider });
        } else if (Date.now() - lastLine > 2000 || e.done === e.total) {
          lastLine = Date.now();
          err(`${e.done}/${e.total} photos, ${e.photosPerSecond.toFixed(1)} photos/s, ETA ${eta}, failed ${e.failed}, ${provider}`);
        }
        break;
      }
      case 'cancelling':
        bar?.stop();
        bar = null;
        err(`cancelling: ${e.reason} (Ctrl+C again to quit at once)`);
        break;
      case 'done': {
        bar?.stop();
        const r = e.report;
        const c = r.counts;
        err(
          `${r.cancelled ? 'cancelled' : 'done'} in ${(r.elapsedMs / 1000).toFixed(1)}s: ${c.completed} audited, ` +
            `${c.cached} already done (no new inference), ` +
            `${c.failed} failed${c.cancelled ? `, ${c.cancelled} left for the next run` : ''}; ` +
            `${r.summary.totalProducts} detections, ${r.summary.uniqueSKUs} labels`,
        );
        if (!json && c.failed) err('Failed photos keep their error in the database; fix or remove them and run the same command again.');
        break;
      }
    }
  };
}

async function auditCommand(paths: string[], o: AuditCliOptions, given = { location: false, visit: false, tiles: false }): Promise<number> {
  for (const p of paths) if (!fs.existsSync(p)) throw new PathNotFoundError(`${p}: no such file or folder`);
  if (o.sync) syncTarget(o); // missing API settings are a usage error before the audit, not after it
  const code = await auditOnly(paths, o, given);
  if (!o.sync || code === EXIT.cancelled) return code;
  const synced = await syncCommand({ db: o.db, api: o.api, tenant: o.tenant });
  return code !== EXIT.ok ? code : synced;
}

async function auditOnly(
  paths: string[],
  o: AuditCliOptions,
  given: { location: boolean; visit: boolean; tiles: boolean },
): Promise<number> {
  const db = openDb(o.db);
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) controller.abort();
    else {
      err('quitting now; photos in flight go back to pending on the next run');
      // process.exit() could abort in native teardown while a photo is in the model ("terminate called
      // after throwing an instance of 'Napi::Error'"): run the 'exit' handlers (the write queue's flush),
      // then die by SIGINT, which shells report as 130
      process.emit('exit', EXIT.cancelled);
      process.off('SIGINT', onSigint);
      process.kill(process.pid, 'SIGINT');
    }
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  try {
    // a re-import of kept import folders uses their settings where no option gives them
    const kept = keptSettingsFor(new FolderStore(db), paths, given);
    const keptText = Object.entries(kept).filter(([, v]) => v !== undefined);
    if (keptText.length) err(`using the import folder's kept settings: ${keptText.map(([k, v]) => `${k} ${v}`).join(', ')}`);
    const metadata: Record<string, string> = { ...o.meta };
    if (o.aisle) metadata.aisle = o.aisle;
    const visit = o.visit ?? kept.visit;
    if (visit) metadata.visit_id = visit;
    // BuildingScan: the building, asset and visit are found or created by name (see BuildingService.resolvePlace)
    if (o.building || o.asset || visit) {
      const place = new BuildingService(db, { user: currentUser() }).resolvePlace({ ...o, visit });
      if (place.assetId) metadata.asset_id = place.assetId;
    }
    if (o.capturedBy) metadata.captured_by = o.capturedBy;
    const report = await runAudit({
      paths,
      db,
      model: o.model,
      provider: o.provider,
      confThreshold: o.conf,
      iouThreshold: o.iou,
      maxDetections: o.maxDet,
      tiles: kept.tiles ?? o.tiles,
      location: o.location ?? kept.location,
      metadata,
      expectedLabels: o.expect
        ? o.expect
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : undefined,
      priceTags: o.priceTags,
      prefetch: o.prefetch,
      intraOpThreads: o.threads,
      decodeThreads: o.decodeThreads,
      collect: o.json,
      signal: controller.signal,
      onEvent: progressRenderer(o.json),
      modelLog: err,
    });
    if (o.json) {
      const { photos, summary, model, provider, providerFallback, counts, cancelled, elapsedMs } = report;
      process.stdout.write(
        `${JSON.stringify({ photos, summary, model, provider, providerFallback, counts, cancelled, elapsedMs }, null, 2)}\n`,
      );
    }
    if (report.cancelled) return EXIT.cancelled;
    return report.counts.failed > 0 ? EXIT.photosFailed : EXIT.ok;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    db.close();
  }
}

function statsCommand(o: { db: string; json: boolean }): number {
  if (!fs.existsSync(o.db)) throw new ConfigError(`no database at ${o.db}: run \`kliq-audit audit\` first, or pass the right --db.`);
  const db = openDb(o.db);
  try {
    const s = new AuditStore(db).stats();
    if (o.json) process.stdout.write(`${JSON.stringify(s)}\n`);
    else {
      process.stdout.write(
        `observations: ${s.observations} (pending ${s.byStatus.pending}, processing ${s.byStatus.processing}, ` +
          `completed ${s.byStatus.completed}, failed ${s.byStatus.failed})\ndetections: ${s.detections}\n`,
      );
    }
    return EXIT.ok;
  } finally {
    db.close();
  }
}

async function modelsCommand(names: string[], o: { list: boolean }): Promise<number> {
  const manifest = loadManifest();
  if (o.list) {
    for (const m of manifest.models) {
      process.stdout.write(
        [
          m.name + (m.name === manifest.default ? ' (default)' : ''),
          m.format,
          m.inputSize.join('x'),
          `${m.labels.length} labels`,
          m.file,
        ].join('\t') + '\n',
      );
    }
    return EXIT.ok;
  }
  const wanted = names.length ? names : manifest.models.map((m) => m.name);
  for (const name of wanted) {
    const entry = manifest.models.find((m) => m.name === name);
    if (!entry) throw new ConfigError(`unknown model "${name}"; the manifest has: ${manifest.models.map((m) => m.name).join(', ')}`);
    const file = await ensureModelFile(entry, { log: err });
    err(`ok ${entry.name}: ${file} (sha256 verified)`);
  }
  return EXIT.ok;
}

interface ServeCliOptions {
  db: string;
  port: number;
  user: string;
  provider?: ProviderChoice;
  newToken: boolean;
  api?: string;
  tenant?: string;
}

async function serveCommand(o: ServeCliOptions): Promise<number> {
  const sync = o.api || o.tenant ? syncTarget(o) : null;
  const host = EngineHost.open(o.db, {
    user: o.user,
    provider: o.provider,
    // without --api, the settings' sync (Settings screen)
    sync: sync ? { target: sync.target, credentials: { apiKey: sync.apiKey } } : undefined,
  }).start();
  if (sync) err(`syncing in the background to tenant ${sync.target.tenantId} at ${sync.target.baseUrl}`);
  host.warmQueue();
  const served = await serve({ host, rendererDir: path.join(projectRoot(), 'out', 'renderer'), port: o.port, newToken: o.newToken });
  process.stdout.write(`${served.url}\n`);
  err(`KLIQ Audit UI on ${served.url} (database ${o.db}, user ${o.user}); Ctrl+C to stop`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  err('stopping: finishing imports in flight');
  await served.close();
  await host.close({ timeoutMs: 10_000 });
  return EXIT.ok;
}

export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('kliq-audit')
    .description('Batch audit of field photos with local object detection (KLIQ Audit)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('audit')
    .description('detect objects in photo folders/files and store observations, CV jobs and detections in SQLite')
    .argument('<path...>', 'photo files or folders (scanned recursively for .jpg/.jpeg/.png)')
    .option('--db <file>', 'SQLite database', defaultDbPath())
    .option('--model <name|file>', 'model name from models/manifest.json, or an .onnx file (default: the manifest default)')
    .addOption(new Option('--provider <name>', 'execution provider').choices(PROVIDER_CHOICES).default(AUDIT_DEFAULTS.provider))
    .option('--conf <0..1>', 'confidence threshold', parseConf, AUDIT_DEFAULTS.confThreshold)
    .option('--iou <0..1>', 'NMS IoU threshold', parseConf, AUDIT_DEFAULTS.iouThreshold)
    .option('--max-det <n>', 'maximum detections per photo', parsePositiveInt, AUDIT_DEFAULTS.maxDetections)
    .option(
      '--tiles <off|auto|n>',
      'tiled inference for large photos such as shelves: n overlapping tiles across the short side, plus the whole photo; ' +
        'auto = 2 when the short side is ≥ 2× the model input',
      parseTiles,
      AUDIT_DEFAULTS.tiles,
    )
    .option('--location <name>', 'location of these photos (created when new)')
    .option('--aisle <name>', 'metadata: aisle')
    .option('--visit <name>', 'the visit (inspection round) of these photos: created when new; metadata.visit_id')
    .option('--building <name>', 'BuildingScan: the building of --asset (created when new)')
    .option('--asset <name|id>', 'BuildingScan: the asset these photos show (a new one needs --building)')
    .option('--captured-by <name>', 'metadata: who took the photos')
    .option('--meta <key=value>', 'metadata: any key (repeatable)', collectMeta, {})
    .option('--expect <labels>', 'comma-separated labels expected in every photo (enables outOfStock and complianceScore)')
    .option('--price-tags <auto|on|off>', 'read price tags by OCR (auto: when --tiles is on)', parsePriceTags, 'auto')
    .option('--prefetch <n>', 'photos decoded ahead of the model (default: cores + 1)', parsePositiveInt)
    .option('--threads <n>', 'ONNX Runtime intra-op threads (default: cores)', parsePositiveInt)
    .option('--decode-threads <n>', 'libvips threads per photo decode (default: 1)', parsePositiveInt)
    .option('--json', 'print one JSON document on stdout (diagnostics stay on stderr)', false)
    .option('--sync', 'then sync the database to the KLIQ API (see sync; key from KLIQ_API_KEY)', false)
    .option('--api <url>', 'with --sync: KLIQ API base URL (or KLIQ_API_URL)')
    .option('--tenant <id>', 'with --sync: tenant id (or KLIQ_TENANT)')
    .action(async (paths: string[], o: AuditCliOptions, cmd: Command) => {
      const given = (name: string) => cmd.getOptionValueSource(name) === 'cli';
      setExit(await auditCommand(paths, o, { location: given('location'), visit: given('visit'), tiles: given('tiles') }));
    });

  addFolderCommands(program, setExit, () => progressRenderer(false));

  program
    .command('sync')
    .description(
      'send photos, observations, CV results and corrected labels to the KLIQ API, each exactly once (key from KLIQ_API_KEY); ' +
        'exit 0 all sent, 1 items failed, 2 usage/credentials, 3 API unreachable (nothing lost)',
    )
    .option('--db <file>', 'SQLite database', defaultDbPath())
    .option('--api <url>', 'KLIQ API base URL, e.g. https://api.kliqpulse.com/v1 (or KLIQ_API_URL)')
    .option('--tenant <id>', 'tenant id (or KLIQ_TENANT)')
    .option('--concurrency <n>', 'requests in flight (default 4)', parsePositiveInt)
    .option('--wait <seconds>', 'how long to keep retrying while nothing gets through (default 120)', parsePositiveInt)
    .option('--retry-failed', 'try items that failed for good again (after fixing their cause)', false)
    .action(async (o: SyncCliOptions) => setExit(await syncCommand(o)));

  program
    .command('stats')
    .description('count observations by status and detections in a database')
    .option('--db <file>', 'SQLite database', defaultDbPath())
    .option('--json', 'print JSON', false)
    .action((o: { db: string; json: boolean }) => setExit(statsCommand(o)));

  program
    .command('serve')
    .description('serve the review UI and the engine on 127.0.0.1 (prints the URL, with the token kept in the database, first)')
    .option('--db <file>', 'SQLite database', defaultDbPath())
    .option(
      '--port <n>',
      'port (0 = a free one)',
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number (0 for a free one)');
        return n;
      },
      0,
    )
    .option('--user <name>', 'who the corrections are recorded as', currentUser())
    .addOption(
      new Option('--provider <name>', "execution provider for imports (default: the Settings screen's, auto)").choices(PROVIDER_CHOICES),
    )
    .option('--new-token', 'replace the token kept in the database (pages opened with the old URL stop working)', false)
    .option('--api <url>', 'sync to this KLIQ API in the background while the auditor works (key from KLIQ_API_KEY)')
    .option('--tenant <id>', 'with --api: tenant id (or KLIQ_TENANT)')
    .action(async (o: ServeCliOptions) => setExit(await serveCommand(o)));

  program
    .command('models')
    .description('fetch the models listed in models/manifest.json (from a mirror folder or the source URL) and verify sha256')
    .argument('[name...]', 'model names (default: all)')
    .option('--list', 'list the manifest', false)
    .action(async (names: string[], o: { list: boolean }) => setExit(await modelsCommand(names, o)));

  registerDatasetCommands(program, setExit);
  registerRetailCommands(program, setExit);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram((c) => (code = c));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? EXIT.ok : EXIT.usage; // --help / --version exit 0
    }
    if (e instanceof ConfigError || e instanceof PathNotFoundError) {
      err(`kliq-audit: ${(e as Error).message}`);
      return EXIT.usage;
    }
    // the machine, not a bug: full disk, read-only or damaged database, a lock held too long
    const env = dbEnvironmentError(e);
    if (env) {
      err(`kliq-audit: ${env.message}`);
      return EXIT.usage;
    }
    err(`kliq-audit: unexpected error: ${(e as Error).stack ?? String(e)}`);
    err('This is a bug: please report it with the command you ran. Completed photos are saved; running the same command again resumes.');
    return EXIT.photosFailed;
  }
}

process.exitCode = await main(process.argv.slice(2));
