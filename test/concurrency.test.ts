/**
 * Imports beside the review never crash: a CLI audit of 400 photos runs while another connection (as
 * `serve` would) commits 20 edits a second to the same database. Before immediate transactions the
 * audit died with SQLITE_BUSY_SNAPSHOT ("This is a bug") as soon as an edit committed between its read
 * and its write.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { openDb } from '../src/main/engine/db';
import { runAudit } from '../src/main/engine/audit';
import { ReviewService } from '../src/main/engine/review';
import { GENERAL, ROOT, tmpDir } from './helpers';

/** n distinct small JPEGs (each its own sha256): the dog photo at slightly different sizes and qualities. */
async function makePhotos(dir: string, n: number): Promise<void> {
  const src = await sharp(path.join(GENERAL, 'dog.jpg')).resize(320).toBuffer();
  for (let i = 0; i < n; i++) {
    await sharp(src)
      .resize(300 + (i % 20))
      .jpeg({ quality: 60 + Math.floor(i / 20) })
      .toFile(path.join(dir, `p${String(i).padStart(3, '0')}.jpg`));
  }
}

describe('an audit beside edits', () => {
  it('a 400-photo audit while another connection edits 20 times a second: every photo completed, every edit kept', async () => {
    const dir = tmpDir();
    const photos = path.join(dir, 'photos');
    fs.mkdirSync(photos);
    await makePhotos(photos, 400);
    const dbFile = path.join(dir, 'shared.db');
    const db = openDb(dbFile);
    await runAudit({ paths: [GENERAL], db, provider: 'cpu' });
    const review = new ReviewService(db, { user: 'rep_jane' });
    const targets = db
      .prepare(`SELECT id FROM detections WHERE deleted = 0 AND source = 'model' ORDER BY id LIMIT 15`)
      .pluck()
      .all() as number[];
    expect(targets.length).toBe(15);

    const child = spawn(
      process.execPath,
      [path.join(ROOT, 'bin', 'kliq-audit.mjs'), 'audit', photos, '--db', dbFile, '--provider', 'cpu'],
      {
        cwd: ROOT,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let running = true;
    void exited.then(() => (running = false));

    let edits = 0;
    const failures: string[] = [];
    while (running) {
      const id = targets[edits % targets.length];
      const d = db.prepare('SELECT x, y, width, height, version FROM detections WHERE id = ?').get(id) as {
        x: number;
        y: number;
        width: number;
        height: number;
        version: number;
      };
      try {
        review.updateDetection({
          detectionId: id,
          version: d.version,
          boundingBox: { x: d.x + (edits % 2 ? -1 : 1), y: d.y, width: d.width, height: d.height },
        });
        edits++;
      } catch (err) {
        failures.push((err as Error).message);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const code = await exited;
    expect(stderr).not.toMatch(/This is a bug|SQLITE_BUSY/);
    expect(code, stderr).toBe(0);
    expect(failures).toEqual([]);
    expect(edits).toBeGreaterThan(40); // the audit ran long enough for edits to meet it
    const byStatus = db.prepare(`SELECT status, count(*) AS n FROM observations GROUP BY status`).all();
    expect(byStatus).toEqual([{ status: 'completed', n: 400 + 9 }]);
    expect(db.prepare(`SELECT count(*) AS n FROM corrections`).get()).toEqual({ n: edits });
    expect(db.prepare(`SELECT count(*) AS n FROM outbox WHERE kind = 'labels'`).get()).toEqual({ n: edits });
    db.close();
  });
});
