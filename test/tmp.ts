import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// Apart from helpers.ts, which needs ../shared: unit tests also run in Stryker's sandbox.
const made: string[] = [];

/** A new temporary folder, removed after the test file (test/setup.ts calls removeTmpDirs in afterAll). */
export function tmpDir(prefix = 'kliq-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Removes every folder tmpDir() made in this test file. */
export function removeTmpDirs(): void {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}
