import { ESLint } from 'eslint';
import { expect, test } from 'vitest';
import { ROOT } from './helpers';

// The layer rules of the architecture (README, "Architecture"), checked through the real eslint config.
const eslint = new ESLint({ cwd: ROOT });
const rejected = async (filePath: string, code: string) =>
  (await eslint.lintText(code, { filePath })).flatMap((r) => r.messages).some((m) => /no-restricted-(imports|syntax)/.test(m.ruleId ?? ''));

test.each([
  ['src/main/engine/audit.ts', "import 'electron';", true],
  ['src/main/engine/audit.ts', "await import('electron');", true],
  ['src/main/cli.ts', "import { app } from 'electron'; app;", true],
  ['src/kliq/client.ts', "import { net } from 'electron'; net;", true],
  ['src/shared/x.ts', "import fs from 'node:fs'; fs;", true],
  ['src/shared/x.ts', "import { runAudit } from '../main/engine/audit'; runAudit;", true],
  ['src/renderer/src/x.tsx', "import { runAudit } from '../../main/engine/audit'; runAudit;", true],
  ['src/renderer/src/x.tsx', "import fs from 'node:fs'; fs;", true],
  ['src/preload/x.ts', "import fs from 'fs'; fs;", true],
  ['src/main/electron/x.ts', "import { app } from 'electron'; app;", false],
  ['src/preload/x.ts', "import { ipcRenderer } from 'electron'; ipcRenderer;", false],
  ['src/main/engine/x.ts', "import fs from 'node:fs'; fs;", false],
  ['src/renderer/src/x.tsx', "import { summarize } from '../../shared/summary'; summarize;", false],
  // the KLIQ client stands alone (Node and browsers); the API server is its own program
  ['src/kliq/client.ts', "import crypto from 'node:crypto'; crypto;", true],
  ['src/kliq/client.ts', "import { runAudit } from '../main/engine/audit'; runAudit;", true],
  ['src/kliq/client.ts', "import { startApiServer } from '../api-server/server'; startApiServer;", true],
  ['src/kliq/client.ts', "import { summarize } from '../shared/summary'; summarize;", false],
  ['src/main/engine/x.ts', "import { startApiServer } from '../../api-server/server'; startApiServer;", true],
  ['src/main/cli.ts', "import { startApiServer } from '../api-server/server'; startApiServer;", true],
  ['src/main/serve.ts', "import { startApiServer } from '../api-server/server'; startApiServer;", true],
  ['src/main/electron/x.ts', "import { startApiServer } from '../../api-server/server'; startApiServer;", true],
  ['src/api-server/cv.ts', "import { runAudit } from '../main/engine/audit'; runAudit;", false],
  ['src/api-server/cv.ts', "import { openDb } from '../main/engine/db'; openDb;", false],
  ['src/api-server/cv.ts', "import { AuditStore } from '../main/engine/db/store'; AuditStore;", true],
  ['src/api-server/cv.ts', "import { InferenceWorker } from '../main/engine/inference/client'; InferenceWorker;", true],
  ['src/api-server/server.ts', "import { CvJobSchema } from '../kliq/wire'; CvJobSchema;", false],
])('%s: %s → rejected: %s', async (file, code, expected) => {
  expect(await rejected(file, code)).toBe(expected);
});
