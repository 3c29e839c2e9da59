#!/usr/bin/env node
// Local KLIQ API server: runs the TypeScript sources directly through tsx, like bin/kliq-audit.mjs
// (the inference worker of CV jobs inherits the tsx loader).
import { register } from 'tsx/esm/api';

register();
await import('../src/api-server/main.ts');
