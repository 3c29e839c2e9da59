/**
 * The settings file: `settings.json` in the user-data folder (userDataDir(), KLIQ_AUDIT_HOME in tests),
 * validated with AppSettingsSchema (src/shared/settings.ts). Never holds a secret.
 * - Missing: the defaults (the file is written on the first save).
 * - Unreadable, not JSON, invalid, or from a newer version: a ConfigError naming the file, the problem
 *   and what to do; nothing is changed on disk. Saving over such a file first keeps it as
 *   `settings.json.bad-<time>` (never lost).
 * - Written atomically: a temporary file in the same folder, fsynced, renamed over the old one (a crash
 *   leaves the old file or the new one, never half of one), mode 0600.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AppSettingsSchema, SETTINGS_VERSION, defaultSettings, type AppSettings } from '../../../shared/settings';
import { ConfigError } from '../errors';

export const SETTINGS_FILE = 'settings.json';

export function settingsPath(dir: string): string {
  return path.join(dir, SETTINGS_FILE);
}

export type SettingsRead =
  | { state: 'missing'; file: string; settings: AppSettings }
  | { state: 'ok'; file: string; settings: AppSettings }
  | { state: 'bad'; file: string; settings: AppSettings; error: ConfigError };

/** Reads the settings file; a bad one gives the defaults along with the error (nothing is written). */
export function readSettings(dir: string): SettingsRead {
  const file = settingsPath(dir);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { state: 'missing', file, settings: defaultSettings() };
    return bad(file, `cannot be read (${code ?? (err as Error).message}): check its permissions`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return bad(file, `is not valid JSON (${(err as Error).message}): fix it, or move it away to start from the defaults`);
  }
  if (json && typeof json === 'object' && 'version' in json && typeof json.version === 'number' && json.version > SETTINGS_VERSION)
    return bad(
      file,
      `was written by a newer KLIQ Audit (settings version ${json.version}, this one reads ${SETTINGS_VERSION}): ` +
        'update the app, or move the file away to start from the defaults',
    );
  const parsed = AppSettingsSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(the whole file)'}: ${i.message}`).join('; ');
    return bad(file, `has invalid settings (${issues}): fix them, or move the file away to start from the defaults`);
  }
  return { state: 'ok', file, settings: parsed.data };
}

function bad(file: string, what: string): SettingsRead {
  return { state: 'bad', file, settings: defaultSettings(), error: new ConfigError(`the settings file ${file} ${what}`) };
}

/** The settings, for the engine's services (sync): throws the ConfigError of a bad file. */
export function loadSettings(dir: string): AppSettings {
  const r = readSettings(dir);
  if (r.state === 'bad') throw r.error;
  return r.settings;
}

/**
 * Validates and writes the settings atomically. When the file on disk is bad (a hand edit gone wrong,
 * a newer version's), it is first copied to `settings.json.bad-<time>`, whose path is returned.
 */
export function saveSettings(dir: string, settings: AppSettings): { file: string; keptBadCopy: string | null } {
  const valid = AppSettingsSchema.parse(settings);
  fs.mkdirSync(dir, { recursive: true });
  const file = settingsPath(dir);
  let keptBadCopy: string | null = null;
  if (readSettings(dir).state === 'bad' && fs.existsSync(file)) {
    keptBadCopy = `${file}.bad-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    fs.copyFileSync(file, keptBadCopy, fs.constants.COPYFILE_EXCL);
  }
  writeAtomic(file, `${JSON.stringify(valid, null, 2)}\n`);
  return { file, keptBadCopy };
}

/** Temp file in the same folder, fsync, rename over `file`, fsync the folder (where the platform allows it). */
export function writeAtomic(file: string, text: string, mode = 0o600): void {
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  const fd = fs.openSync(tmp, 'wx', mode);
  try {
    fs.writeFileSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  if (process.platform !== 'win32') {
    try {
      const dfd = fs.openSync(path.dirname(file), 'r');
      try {
        fs.fsyncSync(dfd);
      } finally {
        fs.closeSync(dfd);
      }
    } catch {
      /* some file systems refuse a directory fsync: the rename is still atomic */
    }
  }
}
