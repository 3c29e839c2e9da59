#!/usr/bin/env node
/**
 * Packaging check: can the packaged app load its native modules under the target Electron?
 *
 * For every native file in a packaged app folder (electron-builder's appOutDir):
 *   - `.node` addons: N-API (exports `napi_register_module_v1` / `node_api_module_get_api_version_v1`
 *     or imports `napi_module_register`: ABI-stable, loads in any Electron) or built against one
 *     NODE_MODULE_VERSION (exports `node_register_module_v<N>`), which must equal the target
 *     Electron's. Anything else (NODE_MODULE static registration, not an addon at all) cannot be
 *     checked and is refused too.
 *   - `.node`, `.so`, `.dll`, `.dylib`: the binary format and CPU must be the target's (ELF/PE/Mach-O,
 *     x64/arm64), so a Linux better-sqlite3 never ends up in a Windows installer.
 *   - the addons the app needs for that platform and arch are present (see REQUIRED_ADDONS).
 *
 * The symbols are found by searching the file for their ASCII names: they are in the dynamic symbol
 * table (ELF), the export table (PE) or the export trie (Mach-O), uncompressed in all three.
 *
 * Used by scripts/after-pack.mjs (electron-builder `afterPack`), and on its own:
 *   node scripts/native-abi.mjs <appOutDir> [--electron 45.4.1] [--platform linux] [--arch x64]
 * Plain Node, no TypeScript: electron-builder loads it as is. Never bundled into the app.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

// napi_register_module_v1 (NAPI_MODULE / NAPI_MODULE_INIT today), node_api_module_get_api_version_v1
// (Node-API 9+), napi_module_register (the static registration older N-API headers compiled to).
const NAPI_SYMBOLS = ['napi_register_module_v1', 'node_api_module_get_api_version_v1', 'napi_module_register'];
const NODE_REGISTER = /node_register_module_v(\d+)/;
const NATIVE_FILE = /\.(node|dll|dylib)$|\.so(\.\d+)*$/;

/**
 * The addons the app cannot run without, per target (paths relative to app.asar.unpacked, `*` = any
 * file name part). sharp's and onnxruntime's are per platform and arch: a build for a target whose
 * binaries are not installed (or do not exist, like onnxruntime-node for darwin x64) must fail here.
 */
export const REQUIRED_ADDONS = [
  'node_modules/better-sqlite3/build/Release/better_sqlite3.node',
  'node_modules/@img/sharp-${platform}-${arch}/lib/sharp-${platform}-${arch}-*.node',
  'node_modules/onnxruntime-node/bin/napi-v6/${platform}/${arch}/onnxruntime_binding.node',
];

/**
 * What a `.node` file is, from its bytes.
 * @param {Buffer} buf
 * @returns {{ kind: 'napi' } | { kind: 'abi', moduleVersion: number } | { kind: 'unknown' }}
 */
export function classifyAddon(buf) {
  const text = buf.toString('latin1');
  const abi = NODE_REGISTER.exec(text);
  // A module exporting node_register_module_v<N> is loaded through it (Node tries that symbol first).
  if (abi) return { kind: 'abi', moduleVersion: Number(abi[1]) };
  if (NAPI_SYMBOLS.some((s) => text.includes(s))) return { kind: 'napi' };
  return { kind: 'unknown' };
}

/**
 * Platform and CPU of a native binary, from its header (ELF, PE or Mach-O; fat Mach-O = 'universal').
 * @param {Buffer} buf the first bytes of the file (4 KiB is enough)
 * @returns {{ platform: 'linux' | 'win32' | 'darwin' | null, arch: string | null }}
 */
export function binaryTarget(buf) {
  if (buf.length >= 20 && buf.readUInt32BE(0) === 0x7f454c46) {
    const le = buf[5] === 1;
    const machine = le ? buf.readUInt16LE(18) : buf.readUInt16BE(18);
    return { platform: 'linux', arch: { 3: 'ia32', 40: 'armv7l', 62: 'x64', 183: 'arm64' }[machine] ?? `elf-machine-${machine}` };
  }
  if (buf.length >= 0x40 && buf.toString('latin1', 0, 2) === 'MZ') {
    const pe = buf.readUInt32LE(0x3c);
    if (pe + 6 <= buf.length && buf.readUInt32BE(pe) === 0x50450000) {
      const machine = buf.readUInt16LE(pe + 4);
      return { platform: 'win32', arch: { 0x14c: 'ia32', 0x8664: 'x64', 0xaa64: 'arm64' }[machine] ?? `pe-machine-${machine}` };
    }
    return { platform: 'win32', arch: null };
  }
  if (buf.length >= 8) {
    const magic = buf.readUInt32LE(0);
    if (magic === 0xfeedfacf || magic === 0xfeedface) {
      const cpu = buf.readUInt32LE(4);
      return { platform: 'darwin', arch: { 0x01000007: 'x64', 0x0100000c: 'arm64' }[cpu] ?? `macho-cpu-${cpu}` };
    }
    if (buf.readUInt32BE(0) === 0xcafebabe) return { platform: 'darwin', arch: 'universal' };
  }
  return { platform: null, arch: null };
}

/**
 * NODE_MODULE_VERSION of an Electron release (node-abi's table; Electron's own `abi_version` file when
 * the installed electron package is that version).
 * @param {string} electronVersion
 * @returns {number}
 */
export function electronModuleVersion(electronVersion) {
  try {
    const dir = path.dirname(require.resolve('electron/package.json'));
    const installed = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
    const file = path.join(dir, 'abi_version');
    if (installed === electronVersion && fs.existsSync(file)) return Number(fs.readFileSync(file, 'utf8').trim());
  } catch {
    // no electron package here: node-abi below
  }
  const nodeAbi = require('node-abi');
  return Number(nodeAbi.getAbi(electronVersion, 'electron'));
}

/** "Node 20" for 115, when node-abi knows it. */
function describeModuleVersion(moduleVersion) {
  const known = [];
  try {
    const nodeAbi = require('node-abi');
    for (const t of nodeAbi.allTargets)
      if (Number(t.abi) === moduleVersion) known.push(`${t.runtime === 'node' ? 'Node' : 'Electron'} ${t.target.replace(/\.0\.0$/, '')}`);
  } catch {
    // node-abi missing: the number alone
  }
  return known.length ? `${moduleVersion} (${known.slice(0, 3).join(', ')})` : String(moduleVersion);
}

/** Every regular file under `dir` (symlinks are not followed), relative paths with '/'. */
function walk(dir, rel = '', out = []) {
  for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const child = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) walk(dir, child, out);
    else if (entry.isFile()) out.push(child);
  }
  return out;
}

function globToRegExp(glob) {
  return new RegExp(`(^|/)${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
}

/**
 * Checks a packaged app folder. Returns the findings; `problems` is empty when the app can load
 * every native file on the target.
 * @param {{ appOutDir: string, electronVersion: string, platform: string, arch: string }} opts
 *   platform: 'linux' | 'win32' | 'darwin' | 'mas'; arch: 'x64' | 'arm64' | …
 */
export function checkPackagedApp(opts) {
  const platform = opts.platform === 'mas' ? 'darwin' : opts.platform;
  const { arch, electronVersion } = opts;
  const moduleVersion = electronModuleVersion(electronVersion);
  const files = walk(opts.appOutDir).filter((f) => NATIVE_FILE.test(f));
  /** @type {{ file: string, kind: string, moduleVersion?: number, platform: string | null, arch: string | null }[]} */
  const addons = [];
  const problems = [];
  for (const rel of files) {
    const full = path.join(opts.appOutDir, rel);
    const isAddon = rel.endsWith('.node');
    const fd = fs.openSync(full, 'r');
    const head = Buffer.alloc(4096);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    fs.closeSync(fd);
    const bin = binaryTarget(head.subarray(0, n));
    // Only addons and libraries that are real binaries: a text file named *.so.1 is none of our business.
    if (!isAddon && bin.platform === null) continue;
    if (bin.platform !== platform || (bin.arch !== arch && bin.arch !== 'universal')) {
      problems.push(`${rel}: built for ${bin.platform ?? 'an unknown format'} ${bin.arch ?? ''}, the target is ${platform} ${arch}.`);
    }
    if (!isAddon) continue;
    const kind = classifyAddon(fs.readFileSync(full));
    addons.push({ file: rel, ...kind, ...bin });
    if (kind.kind === 'abi' && kind.moduleVersion !== moduleVersion) {
      problems.push(
        `${rel}: not N-API, built for NODE_MODULE_VERSION ${describeModuleVersion(kind.moduleVersion)}; ` +
          `Electron ${electronVersion} needs ${moduleVersion}. The packaged app would fail when it loads it.`,
      );
    } else if (kind.kind === 'unknown') {
      problems.push(
        `${rel}: exports neither napi_register_module_v1 nor node_register_module_v<N>: its ABI cannot be checked ` +
          '(a statically registered addon, or not a Node addon at all: exclude it from the app `files`).',
      );
    }
  }
  for (const pattern of REQUIRED_ADDONS) {
    const glob = pattern.replaceAll('${platform}', platform).replaceAll('${arch}', arch);
    const re = globToRegExp(glob);
    if (!files.some((f) => re.test(f)))
      problems.push(`missing ${glob} (under app.asar.unpacked): the app needs it on ${platform} ${arch}.`);
  }
  return { moduleVersion, addons, problems };
}

/** The error message packaging fails with: the problems, and what to do. */
export function formatProblems(result, opts) {
  const target = `${opts.platform} ${opts.arch}`;
  return [
    `Native modules do not fit Electron ${opts.electronVersion} (NODE_MODULE_VERSION ${result.moduleVersion}) on ${target}:`,
    ...result.problems.map((p) => `  - ${p}`),
    'Fix (see README, "Desktop app and installers"):',
    "  - a non-N-API addon (better-sqlite3) must be rebuilt against the target Electron's headers: build the installers on a",
    "    machine with network access, where electron-builder's npmRebuild (@electron/rebuild) downloads them, or run",
    `    \`npx @electron/rebuild -f -w better-sqlite3 -v ${opts.electronVersion}\` before packaging (or install the prebuilt`,
    `    for electron-v${result.moduleVersion}-${opts.platform}-${opts.arch}), then package again;`,
    "  - build each platform's installers on that platform (sharp and onnxruntime install only the host's binaries);",
    '  - KLIQ_SKIP_ABI_CHECK=1 skips this check: only for the stand-in layout test (test/packaging.test.ts), never for a release.',
  ].join('\n');
}

// CLI: node scripts/native-abi.mjs <appOutDir> [--electron V] [--platform P] [--arch A]
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name, fallback) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : fallback;
  };
  const appOutDir = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
  if (!appOutDir) {
    console.error('usage: node scripts/native-abi.mjs <appOutDir> [--electron 45.4.1] [--platform linux] [--arch x64]');
    process.exit(2);
  }
  const electronVersion = opt('electron', JSON.parse(fs.readFileSync(require.resolve('electron/package.json'), 'utf8')).version);
  const opts = { appOutDir, electronVersion, platform: opt('platform', process.platform), arch: opt('arch', process.arch) };
  const result = checkPackagedApp(opts);
  for (const a of result.addons)
    console.log(`${a.kind === 'napi' ? 'N-API' : `ABI ${a.moduleVersion ?? '?'}`}\t${a.platform} ${a.arch}\t${a.file}`);
  if (result.problems.length) {
    console.error(formatProblems(result, opts));
    process.exit(1);
  }
  console.log(`ok: every native module loads under Electron ${electronVersion} (NODE_MODULE_VERSION ${result.moduleVersion})`);
}
