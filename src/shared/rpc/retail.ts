/**
 * The retail feature of the contract: the catalog (TrackedObjects), expected SKUs per location
 * (planogram-lite) and planogram compliance with its parts.
 */
import { z } from 'zod';
import { NameSchema, QuerySchema } from '../limits';
import { QueueFilterSchema } from './review';

export const CatalogRecordSchema = z.object({
  sku: z.string(),
  name: z.string(),
  brand: z.string().nullable(),
  category: z.string().nullable(),
  modelLabel: z.string().nullable(),
  expectedFacings: z.number().int().nullable(),
  shelfRow: z.number().int().nullable(),
});
export type CatalogRecord = z.infer<typeof CatalogRecordSchema>;

export const PlanogramEntrySchema = z.object({
  sku: NameSchema.min(1),
  expectedFacings: z.number().int().min(0).max(1000),
  /** 1 = top row; null: any row. */
  expectedRow: z.number().int().min(1).max(100).nullable(),
});
export const PlanogramRecordSchema = PlanogramEntrySchema.extend({ location: z.string(), name: z.string() });
export type PlanogramRecord = z.infer<typeof PlanogramRecordSchema>;

export const ComplianceItemSchema = z.object({
  sku: z.string(),
  name: z.string(),
  expectedFacings: z.number().int(),
  foundFacings: z.number().int(),
  expectedRow: z.number().int().nullable(),
  foundRows: z.array(z.number().int()),
  present: z.boolean(),
  facingsOk: z.boolean(),
  rowOk: z.boolean(),
  compliant: z.boolean(),
});
export const ComplianceSchema = z.object({
  score: z.number(),
  outOfStock: z.array(z.string()),
  items: z.array(ComplianceItemSchema),
});
export type ComplianceResult = z.infer<typeof ComplianceSchema>;
export const LocationComplianceSchema = ComplianceSchema.extend({ location: z.string(), photos: z.number().int() });
export type LocationCompliance = z.infer<typeof LocationComplianceSchema>;

export const retailMethods = {
  /** The whole catalog, searched by name, SKU, brand, category or model label. */
  catalogList: {
    params: z.object({ query: QuerySchema.default(''), limit: z.number().int().min(1).max(5000).default(500) }),
    result: z.array(CatalogRecordSchema),
  },
  /** Imports catalog CSV text (the page reads the file the auditor picks): all rows or none, each bad line named. */
  catalogImportCsv: {
    params: z.object({ csv: z.string().min(1).max(5_000_000) }),
    result: z.object({ imported: z.number().int(), created: z.number().int(), updated: z.number().int() }),
  },
  planogramLocations: {
    params: z.object({}).default({}),
    result: z.array(z.object({ name: z.string(), n: z.number().int() })),
  },
  planogram: {
    params: z.object({ location: NameSchema.min(1) }),
    result: z.array(PlanogramRecordSchema),
  },
  /** Replaces a location's expected SKUs (created when the location is new). */
  setPlanogram: {
    params: z.object({ location: NameSchema.min(1), rows: z.array(PlanogramEntrySchema).max(5000) }),
    result: z.array(PlanogramRecordSchema),
  },
  /** Compliance of the photos of a queue filter, per location with a planogram (photos of a location pooled). */
  compliance: {
    params: z.object({ filter: QueueFilterSchema.default({}) }),
    result: z.object({ locations: z.array(LocationComplianceSchema) }),
  },
} as const;
