/**
 * The labels behind Review's number keys (issue 13): a set made once from the most used labels and kept,
 * so the keys never change meaning while the auditor works; a location's own set; the auditor's edits.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDb } from '../src/main/engine/db';
import { queueKeysSql } from '../src/main/engine/db/queries';
import { ReviewService } from '../src/main/engine/review';
import { tmpDir } from './tmp';

function setup() {
  const db = openDb(path.join(tmpDir(), 'keys.db'));
  const t = '2026-12-01T00:00:00.000Z';
  db.prepare("INSERT INTO locations (id, name, created_at, updated_at) VALUES ('l1', 'Store 1', ?, ?)").run(t, t);
  const boxes: Record<string, string[]> = { a: ['cup', 'cup', 'cup', 'dog'], b: ['cup', 'bottle', 'bottle'], c: ['person'] };
  for (const [i, labels] of Object.entries(boxes)) {
    db.prepare(
      `INSERT INTO observations
         (id, location_id, sha256, source_path, bytes, mime_type, width, height, metadata, status, created_at, updated_at)
       VALUES (?, 'l1', ?, ?, 1, 'image/jpeg', 100, 100, '{}', 'completed', ?, ?)`,
    ).run(`obs_${i}`, `sha_${i}`, `/p/${i}.jpg`, t, t);
    db.prepare(
      `INSERT INTO cv_jobs (id, observation_id, model, status, provider, summary, created_at)
       VALUES (?, ?, 'm', 'completed', 'cpu', '{}', ?)`,
    ).run(`job_${i}`, `obs_${i}`, t);
    for (const l of labels)
      db.prepare(
        `INSERT INTO detections (cv_job_id, observation_id, object_name, confidence, x, y, width, height)
         VALUES (?, ?, ?, 0.9, 1, 1, 5, 5)`,
      ).run(`job_${i}`, `obs_${i}`, l);
    db.prepare('UPDATE observations SET current_job_id = ? WHERE id = ?').run(`job_${i}`, `obs_${i}`);
  }
  db.exec(`UPDATE observations SET ${queueKeysSql('observations.current_job_id')}`);
  return { db, review: new ReviewService(db, { user: 'rep', modelLabels: ['person', 'zebra'] }) };
}

describe('number keys', () => {
  it('the default set is made once from the most used labels (then the model’s), and kept as counts move', () => {
    const { db, review } = setup();
    const first = review.labelKeys({ location: null });
    expect(first).toEqual({ labels: ['cup', 'bottle', 'dog', 'person', 'zebra'], scope: 'default' });
    // the auditor relabels until bottle is the most used: the keys stay as they were
    for (const d of review.photo({ observationId: 'obs_a' }).detections.filter((x) => x.objectName === 'cup'))
      review.updateDetection({ detectionId: d.id, version: d.version, objectName: 'bottle' });
    expect(review.labelKeys({ location: 'Store 1' })).toEqual(first);
    db.close();
  });

  it('a location has its own set when given one; dropping it falls back to the default', () => {
    const { db, review } = setup();
    const def = review.labelKeys({ location: null });
    expect(review.setLabelKeys({ location: 'Store 1', labels: ['bottle', 'price tag'] })).toEqual({
      labels: ['bottle', 'price tag'],
      scope: 'location',
    });
    expect(review.labelKeys({ location: 'Store 1' }).labels).toEqual(['bottle', 'price tag']);
    expect(review.labelKeys({ location: 'Store 2' })).toEqual(def);
    expect(review.setLabelKeys({ location: 'Store 1', labels: [] })).toEqual(def);
    db.close();
  });

  it('refuses a label on two keys and an empty default set, and changes nothing then', () => {
    const { db, review } = setup();
    const def = review.labelKeys({ location: null });
    expect(() => review.setLabelKeys({ location: null, labels: ['cup', 'cup'] })).toThrow(/one key only/);
    expect(() => review.setLabelKeys({ location: null, labels: [] })).toThrow(/at least one/);
    expect(review.labelKeys({ location: null })).toEqual(def);
    db.close();
  });
});
