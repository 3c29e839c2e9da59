/**
 * Packaging, as far as it can be checked here: `electron-builder --linux dir --x64` with the real
 * electron-builder.yml, against a stand-in Electron (the Electron zip cannot be downloaded on these
 * machines). The stand-in is a shell script carrying Electron's fuse wire, so the fuses are really
 * flipped. Everything else is the real thing: the built out/, production node_modules with their native
 * binaries, the file filters, asar packing and unpacking, the afterPack native-module check.
 * Overrides: electronDist (the stand-in), directories.output (a temp folder), npmRebuild=false (offline,
 * @electron/rebuild cannot get Electron's headers; see README).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { listPackage } from '@electron/asar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPackagedApp, classifyAddon, electronModuleVersion } from '../scripts/native-abi.mjs';
import { ROOT, tmpDir } from './helpers';
import { ensureRendererBuilt } from './ui-helpers';

const ELECTRON_VERSION: string = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', 'electron', 'package.json'), 'utf8')).version;
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
/** Budget for the unpacked Linux app's resources/ folder (app.asar + app.asar.unpacked), measured 75 MB. */
const RESOURCES_BUDGET_MB = 90;

/** @electron/fuses' sentinel; the wire follows it: version 1, length, then one byte per fuse ('0' off, '1' on). */
const FUSE_SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
/** FuseV1Options order (@electron/fuses). */
const FUSES = [
  'RunAsNode',
  'EnableCookieEncryption',
  'EnableNodeOptionsEnvironmentVariable',
  'EnableNodeCliInspectArguments',
  'EnableEmbeddedAsarIntegrityValidation',
  'OnlyLoadAppFromAsar',
  'LoadBrowserProcessSpecificV8Snapshot',
  'GrantFileProtocolExtraPrivileges',
] as const;
/** An unpacked Electron's defaults. */
const ELECTRON_DEFAULT_FUSES = '10110001';

/** A stand-in for an unpacked Electron for linux x64: an `electron` executable with a fuse wire, `version`, `LICENSE`. */
function makeStandInElectron(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const script = `#!/bin/sh\necho "stand-in Electron: the real binary cannot be downloaded here" >&2\nexit 1\n`;
  const wire = Buffer.concat([
    Buffer.from(`# ${FUSE_SENTINEL}`, 'latin1'),
    Buffer.from([1, FUSES.length]),
    Buffer.from(`${ELECTRON_DEFAULT_FUSES}\n`),
  ]);
  fs.writeFileSync(path.join(dir, 'electron'), Buffer.concat([Buffer.from(script), wire]), { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'version'), ELECTRON_VERSION);
  fs.writeFileSync(path.join(dir, 'LICENSE'), 'stand-in\n');
}

function readFuses(executable: string): Record<string, boolean> {
  const bin = fs.readFileSync(executable);
  const at = bin.indexOf(FUSE_SENTINEL);
  expect(at, 'fuse sentinel in the packaged executable').toBeGreaterThanOrEqual(0);
  const wire = at + FUSE_SENTINEL.length;
  return Object.fromEntries(FUSES.map((name, i) => [name, bin[wire + 2 + i] === 0x31]));
}

interface BuilderRun {
  code: number | null;
  output: string;
  ms: number;
}

/** `electron-builder --linux dir --x64` (the real config) with the stand-in, into `outDir`. */
function runBuilder(electronDist: string, outDir: string, env: NodeJS.ProcessEnv): Promise<BuilderRun> {
  const cli = path.join(ROOT, 'node_modules', 'electron-builder', 'cli.js');
  const args = ['--linux', 'dir', '--x64', `-c.electronDist=${electronDist}`, `-c.directories.output=${outDir}`, '-c.npmRebuild=false'];
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [cli, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    proc.stdout.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
    proc.on('error', reject);
    proc.on('close', (code) => resolve({ code, output, ms: Date.now() - started }));
  });
}

/** Files under `dir`, relative with '/', and their total size in bytes. */
function walk(dir: string): { files: string[]; bytes: number } {
  const files: string[] = [];
  let bytes = 0;
  const visit = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) visit(child);
      else {
        files.push(child);
        bytes += fs.lstatSync(path.join(dir, child)).size;
      }
    }
  };
  visit('');
  return { files, bytes };
}

/** Package names (with scope) in node_modules paths, at any depth. */
function packagesIn(paths: string[]): Set<string> {
  const names = new Set<string>();
  for (const p of paths) for (const m of p.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)) names.add(m[1]);
  return names;
}

const MB = (bytes: number) => Math.round(bytes / 1e5) / 10;
const envWithout = (name: string): NodeJS.ProcessEnv => Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== name));

describe('electron-builder --dir, linux x64, stand-in Electron', () => {
  let work: string;
  let dist: string;
  let app: string;
  let resources: string;
  let asarFiles: string[];
  let unpacked: string[];
  let run: BuilderRun;

  beforeAll(async () => {
    ensureRendererBuilt();
    work = tmpDir('kliq-packaging-');
    dist = path.join(work, 'electron-dist');
    makeStandInElectron(dist);
    // KLIQ_SKIP_ABI_CHECK=1: only here, for the layout; better-sqlite3 is built for Node on this machine
    // (see the next test for the check itself).
    run = await runBuilder(dist, path.join(work, 'release'), { ...process.env, KLIQ_SKIP_ABI_CHECK: '1' });
    if (run.code !== 0) throw new Error(`electron-builder failed (${run.code}):\n${run.output}`);
    app = path.join(work, 'release', 'linux-unpacked');
    resources = path.join(app, 'resources');
    asarFiles = listPackage(path.join(resources, 'app.asar'), { isPack: false }).map((f) => f.replace(/\\/g, '/').replace(/^\//, ''));
    unpacked = walk(path.join(resources, 'app.asar.unpacked')).files;
  }, 240_000);

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('produces linux-unpacked with the app executable, app.asar and the built app inside it', () => {
    expect(fs.statSync(path.join(app, 'kliq-audit')).mode & 0o111).not.toBe(0);
    expect(asarFiles).toEqual(
      expect.arrayContaining([
        'package.json',
        'out/main/index.js',
        'out/main/worker.js',
        'out/main/engine-thread.js',
        'out/preload/index.cjs',
        'out/renderer/index.html',
        'out/renderer/favicon.svg',
      ]),
    );
    // Nothing else of the repository: no sources, tests, docs, build resources or scripts.
    const top = new Set(asarFiles.map((f) => f.split('/')[0]));
    expect([...top].sort()).toEqual(['models', 'node_modules', 'out', 'package.json']);
  });

  it('ships models/manifest.json and no model: the app fetches its model on first use, checked by sha256', () => {
    expect(asarFiles).toContain('models/manifest.json');
    // the detector is fetched; price-tag OCR (its packages and models) is left out of the installers (README "Retail")
    expect([...asarFiles, ...unpacked].filter((f) => f.endsWith('.onnx'))).toEqual([]);
    expect(
      [...asarFiles, ...unpacked].filter((f) => /node_modules\/(ppu-paddle-ocr|ppu-ocv|@techstark|@napi-rs|@gutenye)\//.test(f)),
    ).toEqual([]);
    expect(fs.existsSync(path.join(resources, 'models'))).toBe(false);
  });

  it("unpacks the native modules from the asar, with only linux x64's binaries", () => {
    const nm = (p: string) => `node_modules/${p}`;
    expect(unpacked).toContain(nm('better-sqlite3/build/Release/better_sqlite3.node'));
    expect(unpacked).toContainEqual(expect.stringMatching(/^node_modules\/@img\/sharp-linux-x64\/lib\/sharp-linux-x64-[\d.]+\.node$/));
    expect(unpacked).toContainEqual(expect.stringMatching(/^node_modules\/@img\/sharp-libvips-linux-x64\/lib\/libvips-cpp\.so/));
    expect(unpacked).toContain(nm('sharp/package.json'));
    expect(unpacked).toContain(nm('onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node'));
    expect(unpacked).toContain(nm('onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1'));
    const ortTargets = new Set(
      unpacked.filter((f) => f.startsWith(nm('onnxruntime-node/bin/'))).map((f) => f.split('/').slice(4, 6).join('/')),
    );
    expect([...ortTargets]).toEqual(['linux/x64']);
    // .node files inside the asar proper could not be loaded
    expect(asarFiles.filter((f) => f.endsWith('.node') && !unpacked.includes(f))).toEqual([]);
  });

  it("leaves out dev dependencies, the CLI's tsx and esbuild, and better-sqlite3's sources and build intermediates", () => {
    const packages = packagesIn([...asarFiles, ...unpacked]);
    expect(Object.keys(PKG.devDependencies).filter((d) => packages.has(d))).toEqual([]);
    for (const name of [
      'electron',
      'electron-builder',
      'vite',
      'vitest',
      'typescript',
      'eslint',
      'playwright-core',
      'react',
      'tsx',
      'esbuild',
    ]) {
      expect(packages.has(name), name).toBe(false);
    }
    expect([...packages].filter((p) => p.startsWith('@esbuild/'))).toEqual([]);
    const sqlite = unpacked.filter((f) => f.startsWith('node_modules/better-sqlite3/'));
    expect(sqlite.filter((f) => /\/(deps|src|obj|obj\.target)\/|test_extension|\.a$|\.mk$|Makefile/.test(f))).toEqual([]);
    // The production dependencies the built main process imports are all there.
    for (const dep of ['better-sqlite3', 'sharp', 'onnxruntime-node', 'onnxruntime-common', 'exifr', 'zod', 'ws', 'bindings']) {
      expect(packages.has(dep), dep).toBe(true);
    }
  });

  it('flips the fuses: no RunAsNode, NODE_OPTIONS or inspect flags; ASAR integrity; the app only from the ASAR', () => {
    const fuses = readFuses(path.join(app, 'kliq-audit'));
    expect(fuses).toMatchObject({
      RunAsNode: false,
      EnableNodeOptionsEnvironmentVariable: false,
      EnableNodeCliInspectArguments: false,
      EnableEmbeddedAsarIntegrityValidation: true,
      OnlyLoadAppFromAsar: true,
    });
  });

  it(`stays within the size budget (resources/ under ${RESOURCES_BUDGET_MB} MB)`, () => {
    const total = walk(resources).bytes;
    const asar = fs.statSync(path.join(resources, 'app.asar')).size;
    const unpackedBytes = walk(path.join(resources, 'app.asar.unpacked')).bytes;
    console.log(
      `linux-unpacked resources: ${MB(total)} MB (app.asar ${MB(asar)} MB, app.asar.unpacked ${MB(unpackedBytes)} MB); ` +
        `electron-builder --dir took ${(run.ms / 1000).toFixed(1)} s`,
    );
    expect(MB(total)).toBeLessThan(RESOURCES_BUDGET_MB);
  });

  it('the packaged addons pass the native check except for better-sqlite3, which must be rebuilt for Electron', () => {
    const result = checkPackagedApp({ appOutDir: app, electronVersion: ELECTRON_VERSION, platform: 'linux', arch: 'x64' });
    const sqlite = classifyAddon(
      fs.readFileSync(path.join(resources, 'app.asar.unpacked/node_modules/better-sqlite3/build/Release/better_sqlite3.node')),
    );
    const needsRebuild = sqlite.kind === 'abi' && sqlite.moduleVersion !== electronModuleVersion(ELECTRON_VERSION);
    expect(result.problems).toEqual(needsRebuild ? [expect.stringContaining('better_sqlite3.node: not N-API')] : []);
    const short = (f: string) => f.replace(/^resources\/app\.asar\.unpacked\/node_modules\//, '').replace(/-[\d.]+\.node$/, '.node');
    expect(result.addons.map((a) => [short(a.file), a.kind]).sort()).toEqual([
      ['@img/sharp-linux-x64/lib/sharp-linux-x64.node', 'napi'],
      ['better-sqlite3/build/Release/better_sqlite3.node', 'abi'],
      ['onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node', 'napi'],
    ]);
  });

  it('fails packaging loudly when better-sqlite3 is not built for the target Electron (no KLIQ_SKIP_ABI_CHECK)', async () => {
    const local = classifyAddon(fs.readFileSync(path.join(ROOT, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node')));
    const mismatch = local.kind === 'abi' && local.moduleVersion !== electronModuleVersion(ELECTRON_VERSION);
    const second = await runBuilder(dist, path.join(work, 'release-checked'), envWithout('KLIQ_SKIP_ABI_CHECK'));
    if (!mismatch) {
      expect(second.code, second.output).toBe(0);
      return;
    }
    expect(second.code).not.toBe(0);
    expect(second.output).toContain(`Native modules do not fit Electron ${ELECTRON_VERSION}`);
    expect(second.output).toMatch(/better_sqlite3\.node: not N-API, built for NODE_MODULE_VERSION \d+/);
    expect(second.output).toContain('npx @electron/rebuild -f -w better-sqlite3');
  }, 240_000);
});

describe('electron-builder.yml: the installers asked for (validated by the run above, which loads the whole file)', () => {
  // js-yaml comes with electron-builder (no types: the shape is asserted below)
  const yaml = createRequire(import.meta.url)('js-yaml') as { load(text: string): unknown };
  const config = yaml.load(fs.readFileSync(path.join(ROOT, 'electron-builder.yml'), 'utf8')) as Record<string, Record<string, unknown>>;
  const targets = (platform: string) =>
    (config[platform].target as (string | { target: string; arch: string[] })[]).map((t) => (typeof t === 'string' ? { target: t } : t));

  it('Windows: NSIS per user (no admin) and portable; Linux: AppImage and deb; macOS: dmg (arm64, see README)', () => {
    expect(targets('win')).toEqual([
      { target: 'nsis', arch: ['x64'] },
      { target: 'portable', arch: ['x64'] },
    ]);
    expect(config.nsis).toMatchObject({ oneClick: false, perMachine: false, allowElevation: false });
    expect(targets('linux')).toEqual([{ target: 'AppImage' }, { target: 'deb' }]);
    expect(targets('mac')).toEqual([{ target: 'dmg', arch: ['arm64'] }]);
  });

  it('rebuilds native modules for Electron, checks them after packing, unpacks them, and sets the fuses', () => {
    expect(config.npmRebuild).toBe(true);
    expect(config.afterPack).toBe('./scripts/after-pack.mjs');
    expect(config.asarUnpack).toEqual(expect.arrayContaining(['node_modules/better-sqlite3/**', 'node_modules/onnxruntime-node/**']));
    expect(config.electronFuses).toMatchObject({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
    });
    expect(config.electronVersion).toBe(ELECTRON_VERSION);
  });
});
