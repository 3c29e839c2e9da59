/**
 * electron-builder `afterPack` hook (electron-builder.yml): runs on every packaged app folder, before
 * the fuses are flipped, signing and the installer. Packaging fails here, loudly, when a native module
 * cannot load in the target Electron (wrong NODE_MODULE_VERSION, wrong platform or CPU, missing).
 * See scripts/native-abi.mjs.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { checkPackagedApp, formatProblems } from './native-abi.mjs';

const require = createRequire(import.meta.url);

/** electron-builder's Arch enum (builder-util): the values it passes in `context.arch`. */
const ARCH = { 0: 'ia32', 1: 'x64', 2: 'armv7l', 3: 'arm64', 4: 'universal' };

export default async function afterPack(context) {
  const opts = {
    appOutDir: context.appOutDir,
    // electron-builder fills config.electronVersion (pinned in electron-builder.yml) before packing.
    electronVersion:
      context.packager.config.electronVersion ?? JSON.parse(fs.readFileSync(require.resolve('electron/package.json'), 'utf8')).version,
    platform: context.electronPlatformName,
    arch: ARCH[context.arch] ?? String(context.arch),
  };
  if (process.env.KLIQ_SKIP_ABI_CHECK === '1') {
    console.warn(
      `  • KLIQ_SKIP_ABI_CHECK=1: native module check skipped for ${opts.platform} ${opts.arch} (layout tests only, never a release)`,
    );
    return;
  }
  const result = checkPackagedApp(opts);
  if (result.problems.length) throw new Error(formatProblems(result, opts));
  const target = `${opts.platform} ${opts.arch}`;
  console.log(`  • native modules fit Electron ${opts.electronVersion} (NODE_MODULE_VERSION ${result.moduleVersion}) on ${target}`);
}
