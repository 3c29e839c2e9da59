/** Per-run leases (migration 005): only the work of runs that are gone is taken over. */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDb, type Db } from '../src/main/engine/db';
import { AuditStore } from '../src/main/engine/db/store';
import { tmpDir } from './helpers';

const iso = (ms: number) => new Date(ms).toISOString();
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!; // exited: no such process any more

function seed(db: Db, runId: string, host: string, pid: number, expiresInMs: number, obsId: string): void {
  const t = Date.now();
  db.prepare('INSERT INTO runs (id, host, pid, started_at, heartbeat_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)').run(
    runId,
    host,
    pid,
    iso(t),
    iso(t),
    iso(t + expiresInMs),
  );
  db.prepare(`INSERT INTO observations (id, source_path, status, created_at, updated_at) VALUES (?, ?, 'processing', ?, ?)`).run(
    obsId,
    `/photos/${obsId}.jpg`,
    iso(t),
    iso(t),
  );
  db.prepare(`INSERT INTO cv_jobs (id, observation_id, model, status, created_at, run_id) VALUES (?, ?, 'm', 'processing', ?, ?)`).run(
    `job_${obsId}`,
    obsId,
    iso(t),
    runId,
  );
  db.prepare('INSERT INTO photo_claims (observation_id, run_id, claimed_at) VALUES (?, ?, ?)').run(obsId, runId, iso(t));
}

describe('runs and claims', () => {
  it('recovers the work of a killed process and of an expired lease, never of a live run', () => {
    const db = openDb(path.join(tmpDir(), 'runs.db'));
    seed(db, 'run_live', os.hostname(), process.pid, 30_000, 'obs_live'); // this very process: alive
    seed(db, 'run_killed', os.hostname(), deadPid(), 30_000, 'obs_killed'); // lease valid, process gone
    seed(db, 'run_remote', 'another-host', 1, -1, 'obs_expired'); // another machine, lease over
    seed(db, 'run_remote_ok', 'another-host', 1, 30_000, 'obs_remote'); // another machine, lease holds
    const store = new AuditStore(db);
    store.beginRun();
    expect(store.recoverInterrupted()).toEqual({ jobs: 2, observations: 2 });
    const status = (id: string) => db.prepare('SELECT status FROM observations WHERE id = ?').pluck().get(id);
    expect([status('obs_live'), status('obs_killed'), status('obs_expired'), status('obs_remote')]).toEqual([
      'processing',
      'pending',
      'pending',
      'processing',
    ]);
    expect(db.prepare('SELECT id FROM runs ORDER BY id').pluck().all()).toEqual(expect.arrayContaining(['run_live', 'run_remote_ok']));
    // a photo held by a live run is refused; one held by a run that is gone is taken over
    expect(store.claim('obs_live')).toEqual({ claimed: false, by: 'run_live' });
    expect(store.claim('obs_remote')).toEqual({ claimed: false, by: 'run_remote_ok' });
    expect(store.claim('obs_killed')).toEqual({ claimed: true });
    store.endRun();
    expect(db.prepare('SELECT count(*) AS n FROM photo_claims WHERE observation_id = ?').pluck().get('obs_killed')).toBe(0);
    db.close();
  });

  it('jobs of no known run (made before runs existed) are recovered', () => {
    const db = openDb(path.join(tmpDir(), 'legacy.db'));
    const t = iso(Date.now());
    db.prepare(
      `INSERT INTO observations (id, source_path, status, created_at, updated_at) VALUES ('obs_1', '/a.jpg', 'processing', ?, ?)`,
    ).run(t, t);
    db.prepare(`INSERT INTO cv_jobs (id, observation_id, model, status, created_at) VALUES ('job_1', 'obs_1', 'm', 'processing', ?)`).run(
      t,
    );
    const store = new AuditStore(db);
    store.beginRun();
    expect(store.recoverInterrupted()).toEqual({ jobs: 1, observations: 1 });
    db.close();
  });
});
