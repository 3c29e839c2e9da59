/**
 * The packaging check (scripts/native-abi.mjs, run by electron-builder's afterPack): real addons from
 * node_modules, laid out the way a packaged app has them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import afterPack from '../scripts/after-pack.mjs';
import { binaryTarget, checkPackagedApp, classifyAddon, electronModuleVersion } from '../scripts/native-abi.mjs';
import { ROOT, tmpDir } from './helpers';

const NM = path.join(ROOT, 'node_modules');
const BETTER_SQLITE3 = path.join(NM, 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
const ORT = (platform: string, arch: string) =>
  path.join(NM, 'onnxruntime-node', 'bin', 'napi-v6', platform, arch, 'onnxruntime_binding.node');
const SHARP_DIR = path.join(NM, '@img', `sharp-linux-x64`, 'lib');
const SHARP = path.join(
  SHARP_DIR,
  fs.readdirSync(SHARP_DIR).find((f) => f.endsWith('.node'))!,
);
const ELECTRON_VERSION: string = JSON.parse(fs.readFileSync(path.join(NM, 'electron', 'package.json'), 'utf8')).version;
const ELECTRON_ABI = Number(fs.readFileSync(path.join(NM, 'electron', 'abi_version'), 'utf8'));

const head = (file: string) => fs.readFileSync(file).subarray(0, 4096);

/** A minimal ELF x86-64 shared object header followed by `symbols` (enough for the check). */
function fakeElf(symbols: string[]): Buffer {
  const h = Buffer.alloc(64);
  h.writeUInt32BE(0x7f454c46, 0);
  h[4] = 2; // 64-bit
  h[5] = 1; // little-endian
  h.writeUInt16LE(3, 16); // ET_DYN
  h.writeUInt16LE(62, 18); // x86-64
  return Buffer.concat([h, Buffer.from(`\0${symbols.join('\0')}\0`, 'latin1')]);
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A packaged app folder (linux-unpacked layout) holding the given files, relative to app.asar.unpacked. */
function appDir(files: Record<string, string | Buffer>): string {
  const dir = tmpDir('kliq-abi-');
  dirs.push(dir);
  for (const [rel, src] of Object.entries(files)) {
    const dest = path.join(dir, 'resources', 'app.asar.unpacked', rel);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    if (typeof src === 'string') fs.copyFileSync(src, dest);
    else fs.writeFileSync(dest, src);
  }
  return dir;
}

const linuxX64App = (betterSqlite3: string | Buffer) =>
  appDir({
    'node_modules/better-sqlite3/build/Release/better_sqlite3.node': betterSqlite3,
    'node_modules/@img/sharp-linux-x64/lib/sharp-linux-x64-0.35.5.node': SHARP,
    'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node': ORT('linux', 'x64'),
  });

describe('native module check (scripts/native-abi.mjs)', () => {
  it("knows the target Electron's NODE_MODULE_VERSION (node-abi agrees with the electron package)", () => {
    expect(electronModuleVersion(ELECTRON_VERSION)).toBe(ELECTRON_ABI);
    expect(electronModuleVersion('45.4.1')).toBe(150);
    expect(electronModuleVersion('37.0.0')).toBe(136); // not the installed one: node-abi's table
  });

  it('reads the module version of better-sqlite3 (not N-API) and sees N-API in onnxruntime-node and sharp', () => {
    const sqlite = classifyAddon(fs.readFileSync(BETTER_SQLITE3));
    expect(sqlite.kind).toBe('abi');
    // npm ci builds it for the Node that ran the install (Node 20 → 115), not for Electron
    expect(sqlite).toEqual({ kind: 'abi', moduleVersion: Number(process.versions.modules) });
    expect(classifyAddon(fs.readFileSync(ORT('linux', 'x64')))).toEqual({ kind: 'napi' });
    expect(classifyAddon(fs.readFileSync(ORT('win32', 'x64')))).toEqual({ kind: 'napi' });
    expect(classifyAddon(fs.readFileSync(SHARP))).toEqual({ kind: 'napi' });
    expect(classifyAddon(fakeElf(['node_register_module_v150']))).toEqual({ kind: 'abi', moduleVersion: 150 });
    expect(classifyAddon(fakeElf(['sqlite3_extension_init']))).toEqual({ kind: 'unknown' });
    expect(classifyAddon(fakeElf(['napi_module_register']))).toEqual({ kind: 'napi' }); // older N-API headers
    expect(classifyAddon(fakeElf(['node_module_register']))).toEqual({ kind: 'unknown' }); // NODE_MODULE: version in data
  });

  it('reads platform and CPU from ELF, PE and Mach-O headers', () => {
    expect(binaryTarget(head(BETTER_SQLITE3))).toEqual({ platform: 'linux', arch: 'x64' });
    expect(binaryTarget(head(ORT('linux', 'arm64')))).toEqual({ platform: 'linux', arch: 'arm64' });
    expect(binaryTarget(head(ORT('win32', 'x64')))).toEqual({ platform: 'win32', arch: 'x64' });
    expect(binaryTarget(head(ORT('win32', 'arm64')))).toEqual({ platform: 'win32', arch: 'arm64' });
    expect(binaryTarget(head(ORT('darwin', 'arm64')))).toEqual({ platform: 'darwin', arch: 'arm64' });
    expect(binaryTarget(Buffer.from('not a binary'))).toEqual({ platform: null, arch: null });
  });

  it.skipIf(Number(process.versions.modules) === ELECTRON_ABI)(
    'refuses better-sqlite3 built for Node when packaging for Electron, and says what to do',
    () => {
      const opts = { appOutDir: linuxX64App(BETTER_SQLITE3), electronVersion: ELECTRON_VERSION, platform: 'linux', arch: 'x64' };
      const result = checkPackagedApp(opts);
      expect(result.moduleVersion).toBe(ELECTRON_ABI);
      expect(result.problems).toHaveLength(1);
      expect(result.problems[0]).toContain('better_sqlite3.node: not N-API, built for NODE_MODULE_VERSION ' + process.versions.modules);
      expect(result.problems[0]).toContain(`Electron ${ELECTRON_VERSION} needs ${ELECTRON_ABI}`);
      expect(result.addons.filter((a) => a.kind === 'napi')).toHaveLength(2);
    },
  );

  it('accepts the app once better-sqlite3 is built for the target Electron (N-API modules as they are)', () => {
    const opts = {
      appOutDir: linuxX64App(fakeElf([`node_register_module_v${ELECTRON_ABI}`])),
      electronVersion: ELECTRON_VERSION,
      platform: 'linux',
      arch: 'x64',
    };
    expect(checkPackagedApp(opts).problems).toEqual([]);
  });

  it("refuses another platform's or CPU's binaries, unknown .node files and missing addons", () => {
    const dir = appDir({
      'node_modules/better-sqlite3/build/Release/better_sqlite3.node': fakeElf([`node_register_module_v${ELECTRON_ABI}`]),
      'node_modules/better-sqlite3/build/Release/test_extension.node': fakeElf(['sqlite3_extension_init']),
      'node_modules/@img/sharp-linux-x64/lib/sharp-linux-x64-0.35.5.node': SHARP,
      'node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/onnxruntime_binding.node': ORT('linux', 'arm64'),
      'node_modules/onnxruntime-node/bin/napi-v6/win32/x64/onnxruntime_binding.node': ORT('win32', 'x64'),
    });
    const problems = checkPackagedApp({ appOutDir: dir, electronVersion: ELECTRON_VERSION, platform: 'linux', arch: 'x64' }).problems;
    expect(problems).toEqual([
      expect.stringMatching(/test_extension\.node: exports neither napi_register_module_v1 nor node_register_module_v<N>/),
      expect.stringMatching(/linux\/arm64\/onnxruntime_binding\.node: built for linux arm64, the target is linux x64/),
      expect.stringMatching(/win32\/x64\/onnxruntime_binding\.node: built for win32 x64, the target is linux x64/),
      expect.stringMatching(/^missing node_modules\/onnxruntime-node\/bin\/napi-v6\/linux\/x64\/onnxruntime_binding\.node/),
    ]);
    // The same folder packaged for Windows: the Linux addons are refused, sharp for win32 is missing.
    const win = checkPackagedApp({ appOutDir: dir, electronVersion: ELECTRON_VERSION, platform: 'win32', arch: 'x64' }).problems;
    expect(win).toContainEqual(expect.stringMatching(/better_sqlite3\.node: built for linux x64, the target is win32 x64/));
    expect(win).toContainEqual(expect.stringMatching(/^missing node_modules\/@img\/sharp-win32-x64\//));
  });

  it('fails packaging from the afterPack hook unless KLIQ_SKIP_ABI_CHECK=1', async () => {
    const context = {
      appOutDir: linuxX64App(fakeElf(['node_register_module_v115'])),
      electronPlatformName: 'linux',
      arch: 1, // electron-builder's Arch.x64
      packager: { config: { electronVersion: ELECTRON_VERSION } },
    };
    const saved = process.env.KLIQ_SKIP_ABI_CHECK;
    try {
      delete process.env.KLIQ_SKIP_ABI_CHECK;
      await expect(afterPack(context)).rejects.toThrow(/NODE_MODULE_VERSION 115[\s\S]*npx @electron\/rebuild -f -w better-sqlite3/);
      process.env.KLIQ_SKIP_ABI_CHECK = '1';
      await expect(afterPack(context)).resolves.toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env.KLIQ_SKIP_ABI_CHECK;
      else process.env.KLIQ_SKIP_ABI_CHECK = saved;
    }
  });
});
