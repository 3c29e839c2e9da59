/**
 * Retail commands of the CLI: `catalog import|list`, `planogram import|show`. Imports are checked whole
 * first: a bad row is reported with its line number and nothing is written (exit 2).
 */
import fs from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { openDb, type Db } from './engine/db';
import { defaultDbPath } from './engine/paths';
import { ConfigError, InvalidRequestError, PathNotFoundError } from './engine/errors';
import { RetailStore } from './engine/retail/store';

const out = (line: string) => process.stdout.write(`${line}\n`);
const err = (line: string) => process.stderr.write(`${line}\n`);

export function parsePriceTags(v: string): 'auto' | 'on' | 'off' {
  if (v === 'auto' || v === 'on' || v === 'off') return v;
  throw new InvalidArgumentError('use auto, on or off');
}

function readCsvFile(file: string): string {
  if (!fs.existsSync(file)) throw new PathNotFoundError(`${file}: no such file`);
  return fs.readFileSync(file, 'utf8');
}

/** Runs with the database open; a refused import (bad rows) becomes a usage error (exit 2). */
function withDb<T>(file: string, mustExist: boolean, fn: (db: Db) => T): T {
  if (mustExist && !fs.existsSync(file))
    throw new ConfigError(`no database at ${file}: import a catalog or audit first, or pass the right --db.`);
  const db = openDb(file);
  try {
    return fn(db);
  } catch (e) {
    if (e instanceof InvalidRequestError) throw new ConfigError(e.message);
    throw e;
  } finally {
    db.close();
  }
}

export function registerRetailCommands(program: Command, setExit: (code: number) => void): void {
  const catalog = program.command('catalog').description('the SKU catalog (TrackedObjects): import from CSV, list');
  catalog
    .command('import')
    .description(
      'import SKUs from a CSV file (header: name, sku, brand, category, model label, expected facings, shelf row); updates by SKU',
    )
    .argument('<file>', 'CSV file')
    .option('--db <file>', 'SQLite database', defaultDbPath())
    .action((file: string, o: { db: string }) => {
      const csv = readCsvFile(file);
      const r = withDb(o.db, false, (db) => {
        const store = new RetailStore(db);
        const res = store.catalog.importCatalogCsv(csv);
        store.refreshAll();
        return res;
      });
      err(`imported ${r.imported} SKU${r.imported === 1 ? '' : 's'} (${r.created} new, ${r.updated} updated) into ${o.db}`);
      setExit(0);
    });
  catalog
    .command('list')
    .description('list the catalog (tab-separated: sku, name, brand, category, model label, expected facings, shelf row)')
    .option('--db <file>', 'SQLite database', defaultDbPath())
    .option('--search <text>', 'only entries whose name, SKU, brand, category or model label contain it', '')
    .option('--json', 'print JSON', false)
    .action((o: { db: string; search: string; json: boolean }) => {
      const rows = withDb(o.db, true, (db) => new RetailStore(db).catalog.list(o.search, 100_000));
      if (o.json) out(JSON.stringify(rows, null, 2));
      else
        for (const r of rows)
          out([r.sku, r.name, r.brand ?? '', r.category ?? '', r.modelLabel ?? '', r.expectedFacings ?? '', r.shelfRow ?? ''].join('\t'));
      setExit(0);
    });

  const planogram = program.command('planogram').description('expected SKUs per location (planogram-lite): import from CSV, show');
  planogram
    .command('import')
    .description('import expected SKUs (header: location, sku, expected facings, expected shelf row); replaces each named location’s list')
    .argument('<file>', 'CSV file')
    .option('--db <file>', 'SQLite database', defaultDbPath())
    .option('--location <name>', 'the location of every row (then the file needs no location column)')
    .action((file: string, o: { db: string; location?: string }) => {
      const csv = readCsvFile(file);
      const r = withDb(o.db, true, (db) => new RetailStore(db).catalog.importPlanogramCsv(csv, o.location));
      err(`imported ${r.rows} expected SKU${r.rows === 1 ? '' : 's'} for ${r.locations.join(', ')}`);
      setExit(0);
    });
  planogram
    .command('show')
    .description('print a location’s expected SKUs (sku, name, expected facings, expected row)')
    .requiredOption('--location <name>', 'location')
    .option('--db <file>', 'SQLite database', defaultDbPath())
    .option('--json', 'print JSON', false)
    .action((o: { db: string; location: string; json: boolean }) => {
      const rows = withDb(o.db, true, (db) => new RetailStore(db).catalog.planogram(o.location));
      if (o.json) out(JSON.stringify(rows, null, 2));
      else for (const r of rows) out([r.sku, r.name, r.expectedFacings, r.expectedRow ?? 'any'].join('\t'));
      setExit(0);
    });
}
