/**
 * Helpers for the UI test: the built renderer, a real audited database, `kliq-audit serve` as a child
 * process, and headless Debian Chromium driven by playwright-core.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { chromium, type Browser } from 'playwright-core';
import { ROOT } from './helpers';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const CLI = path.join(ROOT, 'bin', 'kliq-audit.mjs');

/** Builds main, preload and renderer (electron-vite) when out/renderer/index.html is missing. */
export function ensureRendererBuilt(): void {
  if (fs.existsSync(path.join(ROOT, 'out', 'renderer', 'index.html'))) return;
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 240_000,
  });
}

/** A real audit (CPU, tiles 2 so the shelves have many boxes) into `db`. */
export function auditInto(db: string, photos: string, extra: string[] = []): void {
  execFileSync(process.execPath, [CLI, 'audit', photos, '--db', db, '--provider', 'cpu', '--tiles', '2', ...extra], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 240_000,
  });
}

export interface Served {
  url: string;
  origin: string;
  port: number;
  token: string;
  proc: ChildProcess;
  stderr: () => string;
  stop(): Promise<void>;
}

/** `kliq-audit serve --port 0` (or `port`): resolves with the URL it prints as its first stdout line. */
export async function startServe(db: string, user: string, opts: { port?: number; args?: string[] } = {}): Promise<Served> {
  const args = ['serve', '--db', db, '--port', String(opts.port ?? 0), '--user', user, '--provider', 'cpu', ...(opts.args ?? [])];
  const proc = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const lines = readline.createInterface({ input: proc.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve printed no URL in 60 s; stderr:\n${err}`)), 60_000);
    lines.once('line', (l) => {
      clearTimeout(timer);
      resolve(l.trim());
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code}) before printing its URL; stderr:\n${err}`));
    });
  });
  const url = new URL(first);
  return {
    url: first,
    origin: url.origin,
    port: Number(url.port),
    token: url.searchParams.get('token') ?? '',
    proc,
    stderr: () => err,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        proc.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        proc.kill('SIGTERM');
      }),
  };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}
