/**
 * The desktop app's log: `logs/kliq-audit.log` in the user-data folder, rotated by size (1 MB, 3 old
 * files: .1 newest), every line redacted first (known secret values, Authorization headers, fields named
 * like a secret, JWTs). Help → Open logs folder opens the folder. Plain Node (no Electron, no new
 * dependency): tested in test/electron-shell.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { format } from 'node:util';

const MASK = '[redacted]';
const SECRET_FIELD = `(?:${[
  'api[_-]?key',
  'apikey',
  'password',
  'passwd',
  'secret',
  'client[_-]?secret',
  'access[_-]?token',
  'refresh[_-]?token',
  'token',
  'authorization',
].join('|')})`;
const PATTERNS: [RegExp, string][] = [
  // Authorization: Bearer xxx / Basic xxx
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, `$1 ${MASK}`],
  // "apiKey": "xxx", 'password': 'xxx'
  [new RegExp(String.raw`(["']?${SECRET_FIELD}["']?\s*[:=]\s*)(["'])(?:(?!\2).)*\2`, 'gi'), `$1$2${MASK}$2`],
  // apiKey=xxx in a query string or key=value text
  [new RegExp(String.raw`(\b${SECRET_FIELD}=)[^\s&"',;]+`, 'gi'), `$1${MASK}`],
  // a JWT anywhere
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, MASK],
];

/** `text` with the known secret values and anything shaped like a credential replaced by [redacted]. */
export function redact(text: string, secrets: Iterable<string | null | undefined> = []): string {
  let out = text;
  const known = [...secrets].filter((s): s is string => typeof s === 'string' && s.length >= 4).sort((a, b) => b.length - a.length);
  for (const s of known) out = out.split(s).join(MASK);
  for (const [re, to] of PATTERNS) out = out.replace(re, to);
  return out;
}

export interface RotatingLogOptions {
  /** Rotate when the file would grow past this. Default 1 MB. */
  maxBytes?: number;
  /** Old files kept (name.1 … name.N). Default 3. */
  keep?: number;
  /** Secret values to take out of every line (the SecretStore's current values). */
  secrets?: () => Iterable<string | null | undefined>;
  now?: () => Date;
}

export class RotatingLog {
  readonly file: string;
  private size: number;
  private readonly maxBytes: number;
  private readonly keep: number;

  constructor(
    readonly dir: string,
    private readonly o: RotatingLogOptions = {},
    name = 'kliq-audit.log',
  ) {
    fs.mkdirSync(dir, { recursive: true });
    this.file = path.join(dir, name);
    this.size = fs.statSync(this.file, { throwIfNoEntry: false })?.size ?? 0;
    this.maxBytes = o.maxBytes ?? 1024 * 1024;
    this.keep = o.keep ?? 3;
  }

  write(level: 'info' | 'warn' | 'error', ...args: unknown[]): void {
    const when = (this.o.now?.() ?? new Date()).toISOString();
    const text = redact(format(...args), this.o.secrets?.() ?? []).replace(/\r?\n/g, '\n    ');
    const line = `${when} ${level.toUpperCase().padEnd(5)} ${text}\n`;
    const bytes = Buffer.byteLength(line);
    if (this.size > 0 && this.size + bytes > this.maxBytes) this.rotate();
    try {
      fs.appendFileSync(this.file, line, { mode: 0o600 });
      this.size += bytes;
    } catch {
      /* a log that cannot be written must not take the app down */
    }
  }

  info(...args: unknown[]): void {
    this.write('info', ...args);
  }
  warn(...args: unknown[]): void {
    this.write('warn', ...args);
  }
  error(...args: unknown[]): void {
    this.write('error', ...args);
  }

  /** name → name.1 → … → name.keep (the oldest dropped). */
  private rotate(): void {
    try {
      fs.rmSync(`${this.file}.${this.keep}`, { force: true });
      for (let i = this.keep - 1; i >= 1; i--) {
        if (fs.existsSync(`${this.file}.${i}`)) fs.renameSync(`${this.file}.${i}`, `${this.file}.${i + 1}`);
      }
      if (this.keep >= 1) fs.renameSync(this.file, `${this.file}.1`);
      else fs.rmSync(this.file, { force: true });
    } catch {
      /* rotation is best effort */
    }
    this.size = 0;
  }
}

/** Copies console.log/warn/error into the log (redacted), keeping the console output. */
export function teeConsole(log: RotatingLog): () => void {
  const orig = { log: console.log, warn: console.warn, error: console.error };
  console.log = (...a: unknown[]) => {
    log.info(...a);
    orig.log(...a);
  };
  console.warn = (...a: unknown[]) => {
    log.warn(...a);
    orig.warn(...a);
  };
  console.error = (...a: unknown[]) => {
    log.error(...a);
    orig.error(...a);
  };
  return () => Object.assign(console, orig);
}
