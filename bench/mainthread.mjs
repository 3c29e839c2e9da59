// `npm run bench:mainthread`: the main-thread responsiveness benchmark from source through tsx (like bench/run.mjs).
import { register } from 'tsx/esm/api';

register();
await import('./mainthread.ts');
