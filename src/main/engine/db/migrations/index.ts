import type { Database } from 'better-sqlite3';
import * as m001 from './001_initial';
import * as m002 from './002_review';
import * as m003 from './003_outbox_failed';
import * as m004 from './004_review_trust';
import * as m005 from './005_runs';
import * as m006 from './006_sync';
import * as m008 from './008_retail';
import * as m009 from './009_buildings_export';
import * as m010 from './010_import_folders';
import * as m011 from './011_queue_facets';
import * as m012 from './012_detection_verified';
import * as m013 from './013_detections_band_index';

export interface Migration {
  version: number;
  name: string;
  up(db: Database): void;
}

/** Forward-only, in order; `PRAGMA user_version` holds the last applied version. Never edit a shipped one. */
export const migrations: Migration[] = [
  { version: 1, name: '001_initial', up: m001.up },
  { version: 2, name: '002_review', up: m002.up },
  { version: 3, name: '003_outbox_failed', up: m003.up },
  { version: 4, name: '004_review_trust', up: m004.up },
  { version: 5, name: '005_runs', up: m005.up },
  { version: 6, name: '006_sync', up: m006.up },
  { version: 8, name: '008_retail', up: m008.up },
  { version: 9, name: '009_buildings_export', up: m009.up },
  { version: 10, name: '010_import_folders', up: m010.up },
  { version: 11, name: '011_queue_facets', up: m011.up },
  { version: 12, name: '012_detection_verified', up: m012.up },
  { version: 13, name: '013_detections_band_index', up: m013.up },
];
