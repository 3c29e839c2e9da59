/**
 * The BuildingScan feature of the contract: buildings → assets → visits (the drill-down), the photo's
 * asset and visit, and the auditor's condition grades (per detection, per asset).
 */
import { z } from 'zod';
import { CONDITIONS } from '../condition';
import { IdSchema } from '../limits';
import { ReviewDetectionSchema } from './review';

const ConditionSchema = z.enum(CONDITIONS);
const ConditionCounts = z.object({ good: z.number().int(), fair: z.number().int(), poor: z.number().int(), critical: z.number().int() });

export const AssetInfoSchema = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.string().nullable(),
  buildingId: z.string(),
  building: z.string(),
  condition: ConditionSchema.nullable(),
  conditionAt: z.string().nullable(),
  conditionBy: z.string().nullable(),
});
export type AssetInfo = z.infer<typeof AssetInfoSchema>;

export const buildingMethods = {
  /** Every building, with how many assets, photos and visits it has and its assets' grades. */
  buildings: {
    params: z.object({}),
    result: z.array(
      z.object({
        id: z.string(),
        name: z.string(),
        address: z.string().nullable(),
        assets: z.number().int(),
        photos: z.number().int(),
        visits: z.number().int(),
        conditions: ConditionCounts,
      }),
    ),
  },
  /** The assets of one building, with their grade, photos and visits. */
  buildingAssets: {
    params: z.object({ buildingId: IdSchema }),
    result: z.array(
      AssetInfoSchema.extend({
        photos: z.number().int(),
        visits: z.number().int(),
        lastVisit: z.string().nullable(),
      }),
    ),
  },
  /** The visits that photographed one asset, newest first, with the grades of the boxes found then. */
  assetVisits: {
    params: z.object({ assetId: IdSchema }),
    result: z.array(
      z.object({
        visit: z.string(),
        photos: z.number().int(),
        boxes: z.number().int(),
        firstAt: z.string(),
        lastAt: z.string(),
        conditions: ConditionCounts,
      }),
    ),
  },
  /** The asset and visit of a photo (null when it has none). */
  photoContext: {
    params: z.object({ observationId: IdSchema }),
    result: z.object({ asset: AssetInfoSchema.nullable(), visit: z.string().nullable() }),
  },
  /** Grades a box (null clears it): its attributes.condition, an edit like any other (version checked, correction + outbox). */
  setDetectionCondition: {
    params: z.object({
      detectionId: z.number().int(),
      version: z.number().int(),
      condition: ConditionSchema.nullable(),
      clientEditId: IdSchema.optional(),
    }),
    result: ReviewDetectionSchema,
  },
  /** Grades the asset a photo shows (null clears it); recorded as a correction of that photo. */
  setAssetCondition: {
    params: z.object({ observationId: IdSchema, condition: ConditionSchema.nullable(), clientEditId: IdSchema.optional() }),
    result: AssetInfoSchema,
  },
} as const;
