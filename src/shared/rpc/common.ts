import { z } from 'zod';

/** `[{ name, n }]`: a count per name (labels, locations, error reasons…). */
export const Counted = z.array(z.object({ name: z.string(), n: z.number().int() }));

/** The result of a command that returns nothing else. */
export const ok = z.object({ ok: z.literal(true) });
