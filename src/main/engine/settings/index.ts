/**
 * Settings and secrets for every host (desktop, serve, CLI) and the sync engine:
 *   loadSettings(dir) / readSettings / saveSettings   the typed settings file (settings.json)
 *   SecretStore: get/set/delete(name)                 EncryptedFileSecretStore (safeStorage), MemorySecretStore (serve/CLI)
 *   SettingsService                                   the host's service: view, save, sign-in, test, syncConfig(), onChange
 *   testConnection(settings, secrets)                 health + sign-in + an authenticated request, typed result
 */
export * from './file';
export * from './secrets';
export * from './connection';
export * from './service';
