/**
 * BuildingScan condition grades, worst last. Set by the auditor per detection (its
 * `attributes.condition`) and per asset; no local model grades them (see the README).
 */
export const CONDITIONS = ['good', 'fair', 'poor', 'critical'] as const;
export type Condition = (typeof CONDITIONS)[number];

export function isCondition(v: unknown): v is Condition {
  return typeof v === 'string' && (CONDITIONS as readonly string[]).includes(v);
}

/** The grade in a detection's attributes (JSON text or object), or null. */
export function conditionOf(attributes: string | Record<string, unknown> | null | undefined): Condition | null {
  if (!attributes) return null;
  let a: unknown = attributes;
  if (typeof attributes === 'string') {
    try {
      a = JSON.parse(attributes);
    } catch {
      return null;
    }
  }
  const c = (a as Record<string, unknown> | null)?.condition;
  return isCondition(c) ? c : null;
}
