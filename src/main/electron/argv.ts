/**
 * Folders and photos handed to the app on its command line: the first launch's, and a second launch's
 * (the single-instance lock hands its argv and working directory to the first). Plain function, no
 * Electron: tested in test/electron-shell.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';

const PHOTO_EXT = /\.(jpe?g|png|webp|tiff?|heic|heif|bmp|gif|avif)$/i;

export type PathKind = 'dir' | 'file' | null;

export function statKind(p: string): PathKind {
  const st = fs.statSync(p, { throwIfNoEntry: false });
  return st?.isDirectory() ? 'dir' : st?.isFile() ? 'file' : null;
}

/**
 * The folders and photo files named in `argv`, absolute (relative ones from `cwd`, the launching shell's),
 * existing, without duplicates, in order. Skipped: the executable (argv[0]), in development the app path
 * Electron was given (`electron .`), switches (`--flag`, `--flag=value`, and Chromium's), URLs, and
 * anything that is neither a folder nor a photo file.
 */
export function foldersFromArgv(
  argv: readonly string[],
  cwd: string,
  opts: { isPackaged: boolean; appPath?: string; kind?: (p: string) => PathKind } = { isPackaged: true },
): string[] {
  const kind = opts.kind ?? statKind;
  // packaged: [exe, ...args]; development: [electron, appPath, ...args]
  const args = argv.slice(opts.isPackaged ? 1 : 2);
  const appPath = opts.appPath ? path.resolve(opts.appPath) : null;
  const out: string[] = [];
  let afterDashes = false;
  for (const a of args) {
    if (!a) continue;
    if (!afterDashes && a === '--') {
      afterDashes = true;
      continue;
    }
    if (!afterDashes && a.startsWith('-')) continue;
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(a)) continue;
    const abs = path.resolve(cwd, a);
    if (appPath && abs === appPath) continue;
    const k = kind(abs);
    if (k === 'dir' || (k === 'file' && PHOTO_EXT.test(abs))) if (!out.includes(abs)) out.push(abs);
  }
  return out;
}
