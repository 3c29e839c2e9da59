import type { Database } from 'better-sqlite3';

/**
 * 011: the review queue's numbers kept up to date, so a click never scans 1 000 000 boxes (issue 13).
 * - observations.label_counts: JSON object label → boxes of the photo's current result (not deleted),
 *   kept with the other queue keys (db/queries.ts queueKeysSql).
 * - queue_photo_facets / queue_label_facets: photos (and boxes per label) per combination of review
 *   state, status, location, visit and model ('' stands for none in the key). Kept by triggers on
 *   observations, so every writer (the engine, a CLI audit in another process, an older build's
 *   queries through this schema) keeps them right in its own transaction.
 * - queue_version: a counter every change that can move a photo in or out of a queue, or along it,
 *   bumps (triggers); in-memory queue orders are valid while it stands still, whatever else is written
 *   (sync marking rows sent does not throw the queue away).
 * - observations_uncertain(_review): indexes in the 'uncertain' order itself (priority DESC, id ASC),
 *   so its first page is read from the index instead of sorting the whole queue.
 */
const DIMS = (r: 'NEW' | 'OLD') =>
  `${r}.review_status, ${r}.status, ifnull(${r}.location_id, ''), ifnull(${r}.visit_id, ''), ifnull(${r}.model, '')`;
const SAME = (r: 'NEW' | 'OLD') =>
  `review_status = ${r}.review_status AND status = ${r}.status AND location_id = ifnull(${r}.location_id, '')
   AND visit_id = ifnull(${r}.visit_id, '') AND model = ifnull(${r}.model, '')`;

const add = `
  INSERT INTO queue_photo_facets VALUES (${DIMS('NEW')}, 1)
    ON CONFLICT (review_status, status, location_id, visit_id, model) DO UPDATE SET photos = photos + 1;
  INSERT INTO queue_label_facets SELECT ${DIMS('NEW')}, j.key, 1, j.value FROM json_each(NEW.label_counts) j WHERE true
    ON CONFLICT (review_status, status, location_id, visit_id, model, label)
    DO UPDATE SET photos = photos + 1, boxes = boxes + excluded.boxes;`;
const sub = `
  UPDATE queue_photo_facets SET photos = photos - 1 WHERE ${SAME('OLD')};
  DELETE FROM queue_photo_facets WHERE ${SAME('OLD')} AND photos <= 0;
  UPDATE queue_label_facets SET photos = photos - 1,
    boxes = boxes - (SELECT j.value FROM json_each(OLD.label_counts) j WHERE j.key = queue_label_facets.label)
    WHERE ${SAME('OLD')} AND label IN (SELECT key FROM json_each(OLD.label_counts));
  DELETE FROM queue_label_facets WHERE ${SAME('OLD')} AND photos <= 0;`;
const bump = 'UPDATE queue_version SET v = v + 1;';

export function up(db: Database): void {
  db.exec(`
    ALTER TABLE observations ADD COLUMN label_counts TEXT NOT NULL DEFAULT '{}';
    UPDATE observations SET label_counts = coalesce((SELECT json_group_object(object_name, n) FROM
      (SELECT object_name, count(*) AS n FROM detections
       WHERE cv_job_id = observations.current_job_id AND deleted = 0 GROUP BY object_name ORDER BY object_name)), '{}')
    WHERE current_job_id IS NOT NULL;

    CREATE TABLE queue_version (id INTEGER PRIMARY KEY CHECK (id = 1), v INTEGER NOT NULL);
    INSERT INTO queue_version VALUES (1, 0);

    CREATE TABLE queue_photo_facets (
      review_status TEXT NOT NULL, status TEXT NOT NULL, location_id TEXT NOT NULL, visit_id TEXT NOT NULL, model TEXT NOT NULL,
      photos INTEGER NOT NULL,
      PRIMARY KEY (review_status, status, location_id, visit_id, model)
    ) WITHOUT ROWID;
    CREATE TABLE queue_label_facets (
      review_status TEXT NOT NULL, status TEXT NOT NULL, location_id TEXT NOT NULL, visit_id TEXT NOT NULL, model TEXT NOT NULL,
      label TEXT NOT NULL, photos INTEGER NOT NULL, boxes INTEGER NOT NULL,
      PRIMARY KEY (review_status, status, location_id, visit_id, model, label)
    ) WITHOUT ROWID;
    CREATE INDEX queue_label_facets_label ON queue_label_facets(label);
    INSERT INTO queue_photo_facets
      SELECT review_status, status, ifnull(location_id, ''), ifnull(visit_id, ''), ifnull(model, ''), count(*)
      FROM observations GROUP BY 1, 2, 3, 4, 5;
    INSERT INTO queue_label_facets
      SELECT o.review_status, o.status, ifnull(o.location_id, ''), ifnull(o.visit_id, ''), ifnull(o.model, ''),
        j.key, count(*), sum(j.value)
      FROM observations o, json_each(o.label_counts) j GROUP BY 1, 2, 3, 4, 5, 6;

    CREATE TRIGGER queue_facets_insert AFTER INSERT ON observations BEGIN ${add} ${bump} END;
    CREATE TRIGGER queue_facets_delete AFTER DELETE ON observations BEGIN ${sub} ${bump} END;
    CREATE TRIGGER queue_facets_update AFTER UPDATE OF review_status, status, location_id, visit_id, model, label_counts
      ON observations BEGIN ${sub} ${add} ${bump} END;
    -- what else a queue's membership or order reads (db/queries.ts queueWhere, QUEUE_ORDER)
    CREATE TRIGGER queue_version_observations AFTER UPDATE OF current_job_id, review_priority, created_at, source_path, asset_id
      ON observations BEGIN ${bump} END;
    CREATE TRIGGER queue_version_detections AFTER UPDATE OF attributes, deleted, object_name ON detections BEGIN ${bump} END;
    CREATE TRIGGER queue_version_locations AFTER UPDATE OF name ON locations BEGIN ${bump} END;
    CREATE TRIGGER queue_version_locations_new AFTER INSERT ON locations BEGIN ${bump} END;
    CREATE TRIGGER queue_version_assets AFTER UPDATE ON assets BEGIN ${bump} END;
    CREATE TRIGGER queue_version_assets_new AFTER INSERT ON assets BEGIN ${bump} END;
    CREATE TRIGGER queue_version_buildings AFTER UPDATE OF name ON buildings BEGIN ${bump} END;

    CREATE INDEX observations_uncertain ON observations(review_priority DESC, id);
    CREATE INDEX observations_uncertain_review ON observations(review_status, review_priority DESC, id);
  `);
}
