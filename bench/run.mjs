// `npm run bench` / `bench:review` / `bench:sync` / `bench:watch`: run the benchmarks from source through tsx (no build step),
// like bin/kliq-audit.mjs.
import { register } from 'tsx/esm/api';

register();
const which = ['review', 'watch', 'sync'].includes(process.argv[2]) ? process.argv.splice(2, 1)[0] : 'bench';
await import(`./${which}.ts`);
