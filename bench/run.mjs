// `npm run bench` / `npm run bench:review` / `npm run bench:watch`: run the benchmarks from source through tsx (no build step),
// like bin/kliq-audit.mjs.
import { register } from 'tsx/esm/api';

register();
const which = ['review', 'watch'].includes(process.argv[2]) ? process.argv.splice(2, 1)[0] : 'bench';
await import(`./${which}.ts`);
