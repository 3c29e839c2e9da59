import type { CvSummary } from './domain';

/**
 * The seed's CV summary for one photo.
 *
 * - totalProducts: number of detections kept (after the confidence threshold and NMS).
 * - uniqueSKUs: number of distinct `objectName`s among them.
 * - outOfStock: the expected labels with no detection, in the order given; null without an expected list.
 * - complianceScore: share of expected labels that were detected, |expected ∩ detected| / |expected|,
 *   rounded to 4 decimals; null without an expected list (1 when the list is empty).
 */
export function summarize(detections: readonly { objectName: string }[], expected?: readonly string[] | null): CvSummary {
  const seen = new Set(detections.map((d) => d.objectName));
  if (!expected) {
    return { totalProducts: detections.length, uniqueSKUs: seen.size, outOfStock: null, complianceScore: null };
  }
  const wanted = [...new Set(expected)];
  const missing = wanted.filter((label) => !seen.has(label));
  const score = wanted.length === 0 ? 1 : (wanted.length - missing.length) / wanted.length;
  return {
    totalProducts: detections.length,
    uniqueSKUs: seen.size,
    outOfStock: missing,
    complianceScore: Math.round(score * 10000) / 10000,
  };
}

/**
 * Summary of a batch, accumulated photo by photo (constant memory): totals over all photos, distinct
 * labels over all photos; outOfStock = expected labels detected in no photo of the batch;
 * complianceScore = mean of the per-photo scores.
 */
export class BatchSummary {
  private total = 0;
  private readonly labels = new Set<string>();
  private scoreSum = 0;
  private scored = 0;

  constructor(private readonly expected?: readonly string[] | null) {}

  add(labels: Iterable<string>, count: number, summary: CvSummary | null): void {
    this.total += count;
    for (const l of labels) this.labels.add(l);
    if (summary?.complianceScore != null) {
      this.scoreSum += summary.complianceScore;
      this.scored++;
    }
  }

  result(): CvSummary {
    const base = { totalProducts: this.total, uniqueSKUs: this.labels.size };
    if (!this.expected) return { ...base, outOfStock: null, complianceScore: null };
    const wanted = [...new Set(this.expected)];
    const missing = wanted.filter((l) => !this.labels.has(l));
    const score = this.scored ? this.scoreSum / this.scored : wanted.length ? (wanted.length - missing.length) / wanted.length : 1;
    return { ...base, outOfStock: missing, complianceScore: Math.round(score * 10000) / 10000 };
  }
}
