import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { removeTmpDirs } from './tmp';

// Everything a test file and its child processes put in the temp folder (its tmpDir() folders, ONNX
// Runtime's empty mat-debug-PID.log of every process that loads it, tsx's cache) goes in one folder,
// removed after the file, whatever its tests did. Readable by others: a test runs the CLI as nobody.
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kliq-run-'));
fs.chmodSync(root, 0o755);
process.env.TMPDIR = root;

afterAll(() => {
  removeTmpDirs();
  fs.rmSync(root, { recursive: true, force: true, maxRetries: 3 });
});
