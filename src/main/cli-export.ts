/**
 * The CLI's dataset commands: `export` (YOLO, COCO, VOC for retraining) and `import-labels` (a COCO
 * file applied back as corrections). Registered by cli.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { openDb } from './engine/db';
import { currentUser, defaultDbPath } from './engine/paths';
import { ConfigError } from './engine/errors';
import { EXPORT_DEFAULTS, runExport } from './engine/export';
import { importCocoLabels } from './engine/export/import-coco';
import { CONDITIONS, type Condition } from '../shared/condition';
import { EXPORT_FORMATS, type ExportFormat, type QueueFilter } from '../shared/rpc';

const err = (line: string) => process.stderr.write(`${line}\n`);

interface ExportCliOptions {
  db: string;
  format: ExportFormat;
  out: string;
  reviewedOnly: boolean;
  since?: string;
  split: number;
  seed: number;
  images: 'copy' | 'link';
  force: boolean;
  location?: string;
  visit?: string;
  building?: string;
  asset?: string;
  condition?: Condition;
  label?: string;
  model?: string;
  json: boolean;
}

function parseSplit(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 1)
    throw new InvalidArgumentError('the share of photos for training: above 0, at most 1 (e.g. 0.8)');
  return n;
}
function parseSeed(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 2 ** 31) throw new InvalidArgumentError('a whole number from 0 to 2147483648');
  return n;
}

function needDb(file: string): void {
  if (!fs.existsSync(file)) throw new ConfigError(`no database at ${file}: run \`kliq-audit audit\` first, or pass the right --db.`);
}

async function exportCommand(o: ExportCliOptions): Promise<number> {
  needDb(o.db);
  const db = openDb(o.db);
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  const tty = process.stderr.isTTY === true && !o.json;
  const bar = tty
    ? new cliProgress.SingleBar(
        { format: ' {bar} {value}/{total} photos', stream: process.stderr, hideCursor: true },
        cliProgress.Presets.shades_classic,
      )
    : null;
  let last = 0;
  try {
    const filter: QueueFilter = {};
    for (const k of ['location', 'visit', 'building', 'asset', 'condition', 'label', 'model'] as const)
      if (o[k]) Object.assign(filter, { [k]: o[k] });
    const report = await runExport(
      db,
      { ...o, filter },
      {
        signal: controller.signal,
        onProgress: (p) => {
          if (bar) {
            if (p.done === 0) bar.start(p.total, 0);
            else bar.update(p.done);
          } else if (Date.now() - last > 2000 || p.done === p.total) {
            last = Date.now();
            err(`${p.done}/${p.total} photos`);
          }
        },
      },
    );
    bar?.stop();
    for (const s of report.skipped) err(`left out: ${s.sourcePath}: ${s.reason}`);
    if (report.cancelled) {
      err(`cancelled: nothing was written (${report.out} is as it was)`);
      return 130;
    }
    if (report.movedAside) err(`what ${report.out} held was moved to ${report.movedAside}`);
    err(
      `exported ${report.images} photo${report.images === 1 ? '' : 's'} (${report.train} train, ${report.val} val), ` +
        `${report.boxes} boxes, ` +
        `${o.format.toUpperCase()} into ${report.out}${report.skipped.length ? `; ${report.skipped.length} left out (above)` : ''}`,
    );
    if (o.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  } finally {
    bar?.stop();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    db.close();
  }
}

function importLabelsCommand(files: string[], o: { db: string; format: 'coco'; user: string; images?: string; json: boolean }): number {
  needDb(o.db);
  for (const f of files) if (!fs.existsSync(f)) throw new ConfigError(`${f}: no such file`);
  const db = openDb(o.db);
  try {
    const r = importCocoLabels(
      db,
      files.map((f) => path.resolve(f)),
      { user: o.user, imagesDir: o.images },
    );
    for (const u of r.unmatched) err(`not imported: ${u.image} (${path.basename(u.file)}): ${u.reason}`);
    err(
      `${r.matched}/${r.images} photos matched; boxes: ${r.added} added, ${r.updated} changed, ${r.deleted} deleted, ` +
        `${r.unchanged} unchanged; ${r.graded} grades set (each change is a correction by ${o.user})`,
    );
    if (o.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    return r.unmatched.length ? 1 : 0;
  } finally {
    db.close();
  }
}

export function registerDatasetCommands(program: Command, setExit: (code: number) => void): void {
  program
    .command('export')
    .description('write the audited photos and their corrected boxes as a dataset for retraining (YOLO, COCO or Pascal VOC)')
    .option('--db <file>', 'SQLite database', defaultDbPath())
    .addOption(new Option('--format <format>', 'dataset format').choices(EXPORT_FORMATS).makeOptionMandatory())
    .requiredOption('--out <dir>', 'output folder: new or empty (see --force)')
    .option('--reviewed-only', 'only photos the auditor accepted (reviewed)', false)
    .option('--since <date>', 'only photos audited or edited since this date (YYYY-MM-DD, UTC, or an ISO time)')
    .option('--split <ratio>', 'share of photos in train, the rest in val', parseSplit, EXPORT_DEFAULTS.split)
    .option('--seed <n>', 'seed of the train/val split (same seed, same split)', parseSeed, EXPORT_DEFAULTS.seed)
    .addOption(new Option('--images <mode>', 'copy the photos, or link to them (symbolic links)').choices(['copy', 'link']).default('copy'))
    .option('--force', 'when --out is not empty, move what it holds to OUT.bak-TIME first (nothing is deleted)', false)
    .option('--location <name>', 'only photos of this location')
    .option('--visit <name>', 'only photos of this visit')
    .option('--building <name>', 'only photos of assets of this building')
    .option('--asset <id>', 'only photos of this asset (its id)')
    .addOption(new Option('--condition <grade>', 'only photos with a box or asset of this grade').choices(CONDITIONS))
    .option('--label <name>', 'only photos with a box of this label')
    .option('--model <name>', 'only photos audited with this model')
    .option('--json', 'print the report as JSON on stdout', false)
    .action(async (o: ExportCliOptions) => setExit(await exportCommand(o)));

  program
    .command('import-labels')
    .description('apply COCO annotation files (e.g. an export, edited elsewhere) to the audited photos, as corrections')
    .argument('<file...>', 'COCO JSON files (an export has annotations/instances_train.json and instances_val.json)')
    .option('--db <file>', 'SQLite database', defaultDbPath())
    .addOption(new Option('--format <format>', 'annotation format').choices(['coco']).default('coco'))
    .option('--user <name>', 'who the corrections are recorded as', currentUser())
    .option('--images <dir>', 'folder of the images, when the file has no sha256 per image and the images are not beside it')
    .option('--json', 'print the report as JSON on stdout', false)
    .action((files: string[], o: { db: string; format: 'coco'; user: string; images?: string; json: boolean }) =>
      setExit(importLabelsCommand(files, o)),
    );
}
