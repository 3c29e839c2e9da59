#!/usr/bin/env node
// KLIQ Audit command line: runs the TypeScript sources directly through tsx, so `npm ci` is the only
// set-up step (no build). The inference worker inherits the tsx loader (see engine/inference/client.ts).
import { register } from 'tsx/esm/api';

register();
await import('../src/main/cli.ts');
