// `npm run bench` / `npm run bench:review` / `npm run bench:sync`: run the benchmarks from source through tsx (no build step),
// like bin/kliq-audit.mjs.
import { register } from 'tsx/esm/api';

register();
const which = { review: './review.ts', sync: './sync.ts' }[process.argv[2]];
if (which) process.argv.splice(2, 1);
await import(which ?? './bench.ts');
