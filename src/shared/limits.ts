/**
 * Limits on every free-text field, enforced at the contract (zod) so an oversized value is refused
 * with a clear message before it reaches the database, and by the CLI for its own options.
 */
import { z } from 'zod';

export const LIMITS = {
  /** A label (objectName), a catalog name, a location or visit name. */
  label: 200,
  /** A flag reason. */
  reason: 500,
  /** A metadata key and value (`--meta KEY=VALUE`, aisle, captured_by…). */
  metaKey: 100,
  metaValue: 1000,
  /** A file or folder path. */
  path: 4096,
  /** Ids the engine made (obs_…, imp_…) or the client made (clientEditId). */
  id: 100,
  /** A search query. */
  query: 200,
} as const;

const tooLong = (what: string, n: number) => `${what} has at most ${n} characters`;

/** Trimmed, non-empty, at most LIMITS.label characters. */
export const LabelSchema = z.string().trim().min(1, 'a label cannot be empty').max(LIMITS.label, tooLong('a label', LIMITS.label));
export const NameSchema = z.string().max(LIMITS.label, tooLong('a name', LIMITS.label));
export const IdSchema = z.string().min(1).max(LIMITS.id, tooLong('an id', LIMITS.id));
export const PathSchema = z.string().min(1).max(LIMITS.path, tooLong('a path', LIMITS.path));
export const ReasonSchema = z.string().max(LIMITS.reason, tooLong('a reason', LIMITS.reason));
export const QuerySchema = z.string().max(LIMITS.query, tooLong('a search', LIMITS.query));

/** A problem with a free-text value given outside the contract (CLI options), or null when it is fine. */
export function checkText(what: 'label' | 'metaKey' | 'metaValue' | 'path', value: string): string | null {
  return value.length > LIMITS[what] ? `${value.slice(0, 20)}…: ${tooLong(`a ${what}`, LIMITS[what])}` : null;
}
