// `npm run bench` / `npm run bench:review`: run the benchmarks from source through tsx (no build step),
// like bin/kliq-audit.mjs.
import { register } from 'tsx/esm/api';

register();
const review = process.argv[2] === 'review';
if (review) process.argv.splice(2, 1);
await import(review ? './review.ts' : './bench.ts');
