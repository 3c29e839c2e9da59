import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A fresh temporary folder. Apart from helpers.ts, which needs ../shared: unit tests also run in Stryker's sandbox. */
export function tmpDir(prefix = 'kliq-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
