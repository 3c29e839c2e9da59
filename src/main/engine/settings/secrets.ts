/**
 * Secrets (API key, refresh token, client secret): never in SQLite, the settings file or a log.
 * - Desktop: EncryptedFileSecretStore with Electron's safeStorage as the Encryptor (the thin adapter is
 *   src/main/electron/safe-storage.ts): each secret encrypted with the OS keychain's key (Keychain,
 *   DPAPI, Secret Service / KWallet), the ciphertexts in `secrets.enc.json` (0600) beside the settings.
 *   On Linux without a keyring safeStorage falls back to 'basic_text' (a fixed key: obfuscation, not
 *   protection): then secrets stay in memory for the session and the store says so, until the auditor
 *   allows the weak storage (settings.secrets.allowWeakStorage).
 * - serve and the CLI: MemorySecretStore, seeded from the environment (KLIQ_API_KEY, KLIQ_CLIENT_SECRET).
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { SECRET_NAMES, type SecretName } from '../../../shared/settings';
import { InvalidRequestError } from '../errors';
import { writeAtomic } from './file';

export const SECRETS_FILE = 'secrets.enc.json';

export interface SecretStoreStatus {
  /** os-keychain: encrypted with the OS keychain's key; weak: basic_text, allowed by the auditor; memory: not kept. */
  kind: 'os-keychain' | 'weak' | 'memory';
  /** Kept across restarts. */
  persisted: boolean;
  /** What the auditor should know (no keyring, a secret that could not be decrypted…); null when all is well. */
  warning: string | null;
  /** Secrets could be kept (weakly protected) if the auditor agrees. */
  canAllowWeak: boolean;
}

/** What the sync engine and the settings use: get/set/delete a secret by name. */
export interface SecretStore {
  get(name: SecretName): Promise<string | null>;
  set(name: SecretName, value: string): Promise<void>;
  delete(name: SecretName): Promise<void>;
  status(): SecretStoreStatus;
}

/** The shape of Electron's safeStorage (injected: the engine never imports Electron). */
export interface Encryptor {
  isEncryptionAvailable(): boolean;
  encryptString(plain: string): Buffer;
  decryptString(cipher: Buffer): string;
  /** Linux only: safeStorage.getSelectedStorageBackend() ('basic_text', 'gnome_libsecret', 'kwallet5', …). */
  selectedBackend?(): string;
}

function checkName(name: string): SecretName {
  if (!(SECRET_NAMES as readonly string[]).includes(name)) throw new InvalidRequestError(`unknown secret ${name}`);
  return name as SecretName;
}

/** Secrets held in this process only (serve, the CLI, tests). */
export class MemorySecretStore implements SecretStore {
  private readonly values = new Map<SecretName, string>();

  constructor(
    initial: Partial<Record<SecretName, string | undefined>> = {},
    private readonly note: string | null = null,
  ) {
    for (const [k, v] of Object.entries(initial)) if (v) this.values.set(checkName(k), v);
  }

  async get(name: SecretName): Promise<string | null> {
    return this.values.get(checkName(name)) ?? null;
  }
  async set(name: SecretName, value: string): Promise<void> {
    this.values.set(checkName(name), value);
  }
  async delete(name: SecretName): Promise<void> {
    this.values.delete(checkName(name));
  }
  status(): SecretStoreStatus {
    return { kind: 'memory', persisted: false, warning: this.note, canAllowWeak: false };
  }
}

/** The secrets serve and the CLI take from their environment. */
export function secretsFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<Record<SecretName, string>> {
  const out: Partial<Record<SecretName, string>> = {};
  if (env.KLIQ_API_KEY) out.apiKey = env.KLIQ_API_KEY;
  if (env.KLIQ_CLIENT_SECRET) out.clientSecret = env.KLIQ_CLIENT_SECRET;
  return out;
}

const SecretsFileSchema = z.object({
  version: z.literal(1),
  /** base64 of the encryptor's output, per secret name */
  secrets: z.record(z.string(), z.string()),
});

export const NO_KEYRING_WARNING =
  'No OS keyring was found (Secret Service or KWallet): secrets are kept in memory until you quit. ' +
  'Install and unlock a keyring (gnome-keyring, KWallet) and restart, or allow weak storage: then they are kept ' +
  'encrypted with a fixed key, which any program running as you can undo.';

/**
 * Secrets encrypted by an Encryptor (Electron safeStorage), their ciphertexts in one file. When the
 * encryptor is weak ('basic_text') or unavailable, secrets stay in memory (status() says so) unless
 * `allowWeak()` (the auditor's consent, from the settings) is true and encryption is available.
 */
export class EncryptedFileSecretStore implements SecretStore {
  readonly file: string;
  /** Secrets set while they could not be persisted: written when they can be. */
  private readonly memory = new Map<SecretName, string>();
  private decryptFailed: SecretName[] = [];
  private fileProblem: string | null = null;

  constructor(
    dir: string,
    private readonly encryptor: Encryptor,
    private readonly allowWeak: () => boolean = () => false,
  ) {
    this.file = path.join(dir, SECRETS_FILE);
  }

  private available(): boolean {
    try {
      return this.encryptor.isEncryptionAvailable();
    } catch {
      return false;
    }
  }

  private weakBackend(): boolean {
    const b = this.encryptor.selectedBackend?.();
    return b === 'basic_text' || b === 'unknown';
  }

  /** Where a set() goes now. */
  private mode(): 'persist' | 'memory' {
    if (!this.available()) return 'memory';
    if (this.weakBackend() && !this.allowWeak()) return 'memory';
    return 'persist';
  }

  status(): SecretStoreStatus {
    const available = this.available();
    const weak = available && this.weakBackend();
    let warning: string | null = null;
    if (!available) warning = 'The OS cannot encrypt secrets here (no keychain): they are kept in memory until you quit.';
    else if (weak && !this.allowWeak()) warning = NO_KEYRING_WARNING;
    else if (weak) warning = 'No OS keyring: secrets are kept encrypted with a fixed key (weak storage, as you allowed).';
    if (this.decryptFailed.length)
      warning = [warning, `Could not decrypt the stored ${this.decryptFailed.join(', ')} (the keychain changed?): enter it again.`]
        .filter(Boolean)
        .join(' ');
    if (this.fileProblem) warning = [warning, this.fileProblem].filter(Boolean).join(' ');
    const persisted = this.mode() === 'persist';
    return { kind: !persisted ? 'memory' : weak ? 'weak' : 'os-keychain', persisted, warning, canAllowWeak: available && weak };
  }

  private readFile(): Record<string, string> {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
    const parsed = SecretsFileSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(`${this.file} is not a secrets file of this app`);
    return parsed.data.secrets;
  }

  /** The file's content, or {} with the problem remembered (a damaged file is replaced on the next set, after a copy). */
  private entries(): Record<string, string> {
    try {
      const e = this.readFile();
      this.fileProblem = null;
      return e;
    } catch (err) {
      this.fileProblem = `The secrets file cannot be read (${(err as Error).message}): enter the secrets again.`;
      return {};
    }
  }

  async get(name: SecretName): Promise<string | null> {
    checkName(name);
    const mem = this.memory.get(name);
    if (mem !== undefined) return mem;
    if (!this.available()) return null;
    const b64 = this.entries()[name];
    if (!b64) return null;
    try {
      const value = this.encryptor.decryptString(Buffer.from(b64, 'base64'));
      this.decryptFailed = this.decryptFailed.filter((n) => n !== name);
      return value;
    } catch {
      if (!this.decryptFailed.includes(name)) this.decryptFailed.push(name);
      return null;
    }
  }

  async set(name: SecretName, value: string): Promise<void> {
    checkName(name);
    if (this.mode() === 'memory') {
      this.memory.set(name, value);
      return;
    }
    this.memory.delete(name);
    this.write({ [name]: value });
    this.decryptFailed = this.decryptFailed.filter((n) => n !== name);
  }

  async delete(name: SecretName): Promise<void> {
    checkName(name);
    this.memory.delete(name);
    this.decryptFailed = this.decryptFailed.filter((n) => n !== name);
    const entries = this.entries();
    if (!(name in entries)) return;
    delete entries[name];
    this.writeEntries(entries);
  }

  /** Writes the secrets held in memory to the file once they can be (the auditor allowed weak storage). */
  async flush(): Promise<void> {
    if (this.mode() !== 'persist' || !this.memory.size) return;
    const pending = Object.fromEntries(this.memory);
    this.memory.clear();
    this.write(pending);
  }

  private write(plain: Partial<Record<SecretName, string>>): void {
    let entries: Record<string, string>;
    try {
      entries = this.readFile();
    } catch {
      // keep the damaged file aside rather than lose it
      fs.copyFileSync(this.file, `${this.file}.bad-${new Date().toISOString().replace(/[:.]/g, '-')}`);
      entries = {};
    }
    for (const [k, v] of Object.entries(plain)) entries[k] = this.encryptor.encryptString(v!).toString('base64');
    this.writeEntries(entries);
    this.fileProblem = null;
  }

  private writeEntries(entries: Record<string, string>): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    writeAtomic(this.file, `${JSON.stringify({ version: 1, secrets: entries }, null, 2)}\n`);
  }
}
