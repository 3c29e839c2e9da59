/**
 * Electron main-process entry (built to out/main/index.js). Everything Electron-specific lives in
 * ./electron; the engine (./engine) stays Electron-free and is shared with the CLI (./cli.ts).
 */
import { startApp } from './electron/app';

startApp();
