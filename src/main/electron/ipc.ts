/**
 * IPC wiring: one ipcMain.handle per channel of the preload's contract, each behind a sender check.
 * Handlers stay thin; real work belongs to the engine (src/main/engine), not here.
 */
import { app, ipcMain, type IpcMainInvokeEvent } from 'electron';
import { KLIQ_IPC, type KliqChannel } from '../../preload/api';

/** Decides whether an invoke comes from our own window showing our own page. */
export type SenderCheck = (event: IpcMainInvokeEvent) => boolean;

function handle<T>(channel: KliqChannel, isTrusted: SenderCheck, fn: (event: IpcMainInvokeEvent) => T | Promise<T>): void {
  ipcMain.handle(channel, (event) => {
    if (!isTrusted(event)) {
      // Do not tell an untrusted caller anything beyond the refusal.
      throw new Error(`${channel}: refused (untrusted sender)`);
    }
    return fn(event);
  });
}

export function registerIpc(isTrusted: SenderCheck): void {
  handle(KLIQ_IPC.getVersion, isTrusted, () => app.getVersion());
}

export function unregisterIpc(): void {
  for (const channel of Object.values(KLIQ_IPC)) ipcMain.removeHandler(channel);
}
