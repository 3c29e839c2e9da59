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
  // engine layers: rpc → host → services → db / ingest / inference / models → geometry / errors
  ['src/main/engine/db/x.ts', "import { ReviewService } from '../review'; ReviewService;", true],
  ['src/main/engine/db/migrations/x.ts', "import { runAudit } from '../../audit'; runAudit;", true],
  ['src/main/engine/inference/x.ts', "import { EngineHost } from '../host'; EngineHost;", true],
  ['src/main/engine/review.ts', "import { EngineHost } from './host'; EngineHost;", true],
  ['src/main/engine/imports.ts', "import { createRpcHandler } from './rpc'; createRpcHandler;", true],
  ['src/main/engine/host.ts', "import { createRpcHandler } from './rpc'; createRpcHandler;", true],
  ['src/main/engine/geometry.ts', "import { ConfigError } from './errors'; ConfigError;", true],
  ['src/main/engine/db/x.ts', "import { iou } from '../geometry'; iou;", false],
  ['src/main/engine/review.ts', "import { Outbox } from './db/outbox'; Outbox;", false],
  ['src/main/engine/rpc.ts', "import { EngineHost } from './host'; EngineHost;", false],
  // the KLIQ client stands alone; nothing in main uses the local API server; the shell never imports the preload
  ['src/main/engine/sync/x.ts', "import { startApiServer } from '../../../api-server/server'; startApiServer;", true],
  ['src/main/electron/x.ts', "import { KLIQ_IPC } from '../../preload/api'; KLIQ_IPC;", true],
  ['src/main/electron/x.ts', "import { KLIQ_IPC } from '../../shared/ipc'; KLIQ_IPC;", false],
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
  ['src/api-server/x.ts', "import { KliqClient } from '../kliq/client'; KliqClient;", false],
])('%s: %s → rejected: %s', async (file, code, expected) => {
  expect(await rejected(file, code)).toBe(expected);
});
