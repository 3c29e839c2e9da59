import { afterAll } from 'vitest';
import { removeTmpDirs } from './helpers';

// every test file removes the temporary folders it made, whatever its tests did
afterAll(() => removeTmpDirs());
