import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

export const APP_NAME = 'KLIQ Audit';
export const DB_FILE_NAME = 'kliq-audit.db';

/**
 * The app's user-data folder, computed the way Electron's `app.getPath('userData')` does for
 * productName "KLIQ Audit", so the CLI and the desktop app open the same database.
 * KLIQ_AUDIT_HOME overrides it (tests, portable installs).
 */
export function userDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.KLIQ_AUDIT_HOME) return path.resolve(env.KLIQ_AUDIT_HOME);
  const home = os.homedir();
  if (platform === 'win32') return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), APP_NAME);
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', APP_NAME);
  return path.join(env.XDG_CONFIG_HOME ?? path.join(home, '.config'), APP_NAME);
}

export function defaultDbPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(userDataDir(env), DB_FILE_NAME);
}

/** The folder holding package.json (the repository in development, the app folder when packaged). */
export function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'models', 'manifest.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the KLIQ Audit project folder (package.json with models/manifest.json)');
    dir = up;
  }
}

/**
 * The name of the user running the engine (corrections.who by default). A user id without an entry in
 * the password database (containers that run as an arbitrary id) has no name: $USER, else `uid-N`.
 */
export function currentUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER || `uid-${process.getuid?.() ?? 'unknown'}`;
  }
}
