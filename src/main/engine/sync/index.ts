export { SyncEngine, type SyncOptions, type SyncCredentials, type SyncSnapshot, type SyncState } from './engine';
export { SyncStore, type SyncTarget, type ConflictRow } from './store';
export { DEFAULT_LOCATION_NAME, sameLabels } from './send';
export { syncCatalog } from './catalog';
