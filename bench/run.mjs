// `npm run bench`: runs bench/bench.ts from source through tsx (no build step), like bin/kliq-audit.mjs.
import { register } from 'tsx/esm/api';

register();
await import('./bench.ts');
