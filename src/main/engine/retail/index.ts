/**
 * Retail (ShelfSignal): the pure analytics live in src/shared/retail.ts (rows, positions, facings,
 * price tags per product, compliance); this folder holds what needs the machine: the catalog and
 * planograms in SQLite (./catalog.ts), OCR of price tags in a worker (./ocr.ts), and the refresh of a
 * photo's stored attributes after an edit (./store.ts).
 */
export { retailAttributes, compliance, parsePrice, shelfRows, shelfPosition, skuResolver } from '../../../shared/retail';
export type { CatalogItem, PriceTagRead, RetailAttributes, PlanogramRow, Compliance, ComplianceItem } from '../../../shared/retail';
export { CatalogService, parseCatalogCsv } from './catalog';
export { PriceTagReader, OCR_SCALE } from './ocr';
export { RetailStore } from './store';
