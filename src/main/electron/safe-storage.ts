/**
 * The thin adapter from Electron's safeStorage to the engine's Encryptor (src/main/engine/settings):
 * the engine never imports Electron; its secret store logic is tested with a stand-in.
 */
import { safeStorage } from 'electron';
import type { Encryptor } from '../engine/settings';

export function safeStorageEncryptor(): Encryptor {
  return {
    isEncryptionAvailable: () => safeStorage.isEncryptionAvailable(),
    encryptString: (plain) => safeStorage.encryptString(plain),
    decryptString: (cipher) => safeStorage.decryptString(cipher),
    // Linux only; elsewhere the OS keychain is always there
    selectedBackend: () => (process.platform === 'linux' ? safeStorage.getSelectedStorageBackend() : 'os'),
  };
}
