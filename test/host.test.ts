import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { EngineHost } from '../src/main/engine/host';
import { createRpcHandler, handlersFor } from '../src/main/engine/rpc';
import {
  ConfigError,
  DbWriteError,
  EngineError,
  InvalidRequestError,
  NotFoundError,
  PathNotFoundError,
  PhotoError,
  errorCode,
} from '../src/main/engine/errors';
import { ERROR_CODES, RpcError } from '../src/shared/errors';
import { methods } from '../src/shared/rpc';
import { GENERAL, tmpDir } from './helpers';

describe('EngineHost: the composition root', () => {
  it('opens the database, starts, and on close lets the import in flight write its photos, then closes the database', async () => {
    const file = path.join(tmpDir(), 'host.db');
    const host = EngineHost.open(file, { user: 'rep_jane', provider: 'cpu' }).start();
    expect(host.review.catalog({ query: 'dog', limit: 5 }).map((e) => e.label)).toContain('dog'); // the default model's labels
    const photos = ['dog.jpg', 'person.jpg', 'giraffe.jpg', 'eagle.jpg', 'fruits.jpg'].map((f) => path.join(GENERAL, f));
    const firstPhoto = new Promise<void>((resolve) =>
      host.onEvent((e) => {
        if (e.type === 'import' && e.event.type === 'photo') resolve();
      }),
    );
    const { importId } = host.imports.startImport({ paths: photos });
    await firstPhoto; // mid-import: one photo done, others in flight
    await host.close({ timeoutMs: 60_000 });
    expect(host.db.open).toBe(false);
    expect(host.imports.list().find((i) => i.importId === importId)!.state).toBe('cancelled');
    const db = new Database(file, { readonly: true });
    const byStatus = Object.fromEntries(
      (db.prepare('SELECT status, count(*) AS n FROM observations GROUP BY status').all() as { status: string; n: number }[]).map((r) => [
        r.status,
        r.n,
      ]),
    );
    db.close();
    expect(byStatus.completed).toBeGreaterThanOrEqual(1); // what finished was written before the database closed
    expect(byStatus.processing).toBeUndefined(); // nothing left half-done
    await host.close(); // twice is fine
  });

  it('warmQueue reads the default queue before the first request, and never throws', async () => {
    const host = EngineHost.open(path.join(tmpDir(), 'warm.db'), { user: 'x' }).start();
    const asked: string[] = [];
    const review = host.review;
    const queue = review.queue.bind(review);
    const counts = review.queueCounts.bind(review);
    review.queue = (p) => (asked.push(`queue ${JSON.stringify(p.filter)} ${p.sort} ${p.offset}+${p.limit}`), queue(p));
    review.queueCounts = (p) => (asked.push(`counts ${JSON.stringify(p.filter)}`), counts(p));
    host.warmQueue();
    expect(asked).toEqual(['queue {"review":"unreviewed"} uncertain 0+100', 'counts {"review":"unreviewed"}']);
    host.db.close(); // a database that cannot answer: the first real request says so, not the warm-up
    expect(() => host.warmQueue()).not.toThrow();
    await host.close();
  });

  it('a host built on a database it did not open leaves it open', async () => {
    const owner = EngineHost.open(path.join(tmpDir(), 'shared.db'));
    const guest = new EngineHost(owner.db, { user: 'x' }).start();
    await guest.close();
    expect(owner.db.open).toBe(true);
    await owner.close();
    expect(owner.db.open).toBe(false);
  });
});

describe('errors: one module, stable codes on the wire', () => {
  it('every engine error carries a code listed in src/shared/errors.ts', () => {
    const all: EngineError[] = [
      new ConfigError('c'),
      new PathNotFoundError('p'),
      new NotFoundError('n'),
      new InvalidRequestError('i'),
      new PhotoError('ph'),
      new DbWriteError('d'),
    ];
    expect(all.map((e) => e.code)).toEqual(['config', 'path-not-found', 'not-found', 'bad-request', 'photo', 'db-write']);
    for (const e of all) expect(Object.keys(ERROR_CODES)).toContain(errorCode(e));
    expect(errorCode(new Error('boom'))).toBe('failed');
    expect(new RpcError('no-such-code', 'x').code).toBe('failed');
    expect(new RpcError('not-found', 'x').code).toBe('not-found');
  });

  it('the RPC handler sends each error with its code', async () => {
    const host = EngineHost.open(path.join(tmpDir(), 'codes.db'));
    const handle = createRpcHandler(host);
    expect(await handle('photo', { observationId: 'obs_none' })).toMatchObject({ ok: false, error: { code: 'not-found' } });
    expect(await handle('startImport', { paths: ['/no/such/folder'] })).toMatchObject({ ok: false, error: { code: 'path-not-found' } });
    expect(await handle('updateDetection', { detectionId: 'x' })).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    await host.close({ timeoutMs: 30_000 });
  });

  it('the handler table has exactly the contract’s methods', () => {
    const host = EngineHost.open(path.join(tmpDir(), 't.db'));
    expect(Object.keys(handlersFor(host)).sort()).toEqual(Object.keys(methods).sort());
    void host.close();
  });
});
