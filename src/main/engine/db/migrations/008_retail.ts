import type { Database } from 'better-sqlite3';

/**
 * 008: retail (ShelfSignal).
 * - catalog: the TrackedObjects fields beyond name and SKU: brand, category, the model label that maps
 *   to the SKU, expected facings, shelf row (1 = top), updated_at.
 * - planogram: expected SKUs per location (planogram-lite): SKU, expected facings, expected row.
 * - price_tags: price tags read by OCR on a photo, per CV job (photo pixels, parsed price, raw text).
 */
export function up(db: Database): void {
  db.exec(`
    ALTER TABLE catalog ADD COLUMN brand TEXT;
    ALTER TABLE catalog ADD COLUMN category TEXT;
    ALTER TABLE catalog ADD COLUMN model_label TEXT;
    ALTER TABLE catalog ADD COLUMN expected_facings INTEGER CHECK (expected_facings IS NULL OR expected_facings >= 0);
    ALTER TABLE catalog ADD COLUMN shelf_row INTEGER CHECK (shelf_row IS NULL OR shelf_row >= 1);
    ALTER TABLE catalog ADD COLUMN updated_at TEXT;
    CREATE INDEX catalog_model_label ON catalog(model_label);

    CREATE TABLE planogram (
      location_id       TEXT NOT NULL REFERENCES locations(id) ON DELETE CASCADE,
      sku               TEXT NOT NULL REFERENCES catalog(sku) ON UPDATE CASCADE ON DELETE CASCADE,
      expected_facings  INTEGER NOT NULL DEFAULT 1 CHECK (expected_facings >= 0),
      shelf_row         INTEGER CHECK (shelf_row IS NULL OR shelf_row >= 1),
      updated_at        TEXT NOT NULL,
      PRIMARY KEY (location_id, sku)
    );

    CREATE TABLE price_tags (
      id          INTEGER PRIMARY KEY,
      cv_job_id   TEXT NOT NULL REFERENCES cv_jobs(id) ON DELETE CASCADE,
      x           REAL NOT NULL,
      y           REAL NOT NULL,
      width       REAL NOT NULL,
      height      REAL NOT NULL,
      price       TEXT NOT NULL,
      text        TEXT NOT NULL,
      confidence  REAL
    );
    CREATE INDEX price_tags_job ON price_tags(cv_job_id);
  `);
}
