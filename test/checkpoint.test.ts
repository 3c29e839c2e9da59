// WAL checkpoints in a worker thread (db/checkpoint.ts) on a real SQLite file: the host's connection stops
// auto-checkpointing, the worker's checkpoints move the WAL into the database file, and stopping puts
// SQLite's default back.
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { openDb } from '../src/main/engine/db';
import { WalCheckpointer } from '../src/main/engine/db/checkpoint';
import { EngineHost } from '../src/main/engine/host';
import { MemorySecretStore } from '../src/main/engine/settings';
import { tmpDir } from './tmp';

test('the worker checkpoints what the host wrote; the host connection does not; stop restores auto-checkpoints', async () => {
  const file = path.join(tmpDir(), 'ck.db');
  const db = openDb(file);
  const ck = new WalCheckpointer(db, { intervalMs: 3_600_000 }); // only on request in this test
  ck.start();
  try {
    expect(ck.active).toBe(true);
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    db.exec('CREATE TABLE t (x TEXT)');
    const ins = db.prepare('INSERT INTO t VALUES (?)');
    // far more than 1000 pages of WAL: SQLite's default would have checkpointed inside one of these commits
    for (let i = 0; i < 3000; i++) ins.run('x'.repeat(2000));
    const wal = `${file}-wal`;
    const dbBefore = fs.statSync(file).size;
    expect(fs.statSync(wal).size).toBeGreaterThan(1000 * 4096);
    const r = await ck.checkpointNow();
    expect(r).not.toBeNull();
    expect(r!.busy).toBe(0);
    expect(r!.checkpointed).toBe(r!.log);
    expect(r!.log).toBeGreaterThan(1000);
    expect(fs.statSync(file).size).toBeGreaterThan(dbBefore + 3000 * 2000);
  } finally {
    await ck.stop();
  }
  expect(ck.active).toBe(false);
  expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
  expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 3000 });
  db.close();
});

test('EngineHost.open moves checkpoints to the worker while it runs; an in-memory database keeps the default', async () => {
  const dir = tmpDir();
  const host = EngineHost.open(path.join(dir, 'h.db'), { user: 't', settings: { dir, secrets: new MemorySecretStore(), host: 'serve' } });
  host.start();
  expect(host.checkpoints.active).toBe(true);
  expect(host.db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
  await host.close();
  expect(host.checkpoints.active).toBe(false);

  const mem = openDb(':memory:');
  const ck = new WalCheckpointer(mem);
  ck.start();
  expect(ck.active).toBe(false);
  mem.close();
});
