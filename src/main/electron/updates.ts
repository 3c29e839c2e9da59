/**
 * Auto-update (electron-updater), behind the `autoUpdate` setting, off by default. `updatePlan` decides
 * whether to check (a plain function, tested); `startAutoUpdate` does it in the packaged app: check at
 * start, download in the background, install on quit. A build has an update feed only when its release
 * was built with a `publish` target (electron-builder writes resources/app-update.yml then; README
 * "Desktop app and installers"): without one, nothing is checked and the log says why.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface UpdatePlan {
  check: boolean;
  reason: string;
}

export function updatePlan(o: { autoUpdate: boolean; isPackaged: boolean; resourcesPath: string; env: NodeJS.ProcessEnv }): UpdatePlan {
  if (!o.autoUpdate) return { check: false, reason: 'auto-update is off (Settings → Updates)' };
  if (!o.isPackaged) return { check: false, reason: 'not a packaged app (npm run dev): no updates' };
  if (o.env.KLIQ_NO_UPDATE === '1') return { check: false, reason: 'KLIQ_NO_UPDATE=1' };
  if (!fs.existsSync(path.join(o.resourcesPath, 'app-update.yml'))) {
    return { check: false, reason: 'this build has no update feed (built without a publish target)' };
  }
  return { check: true, reason: 'checking for updates' };
}

export async function startAutoUpdate(
  plan: UpdatePlan,
  log: { info(s: string): void; warn(s: string): void; error(s: string): void },
): Promise<void> {
  log.info(`updates: ${plan.reason}`);
  if (!plan.check) return;
  try {
    const { autoUpdater } = await import('electron-updater');
    autoUpdater.logger = {
      info: (m) => log.info(`updates: ${String(m)}`),
      warn: (m) => log.warn(`updates: ${String(m)}`),
      error: (m) => log.error(`updates: ${String(m)}`),
      debug: () => {},
    };
    autoUpdater.autoDownload = true;
    autoUpdater.autoInstallOnAppQuit = true;
    await autoUpdater.checkForUpdatesAndNotify();
  } catch (err) {
    // offline, or the feed is down: the app works as it is; the next start tries again
    log.warn(`updates: the check failed (${err instanceof Error ? err.message : String(err)}); the next start tries again`);
  }
}
