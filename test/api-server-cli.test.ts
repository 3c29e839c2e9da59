// `npm run api-server` as a child process: the bin prints `listening on http://127.0.0.1:N` once ready,
// serves seeded tenants, closes cleanly on SIGTERM, keeps its state across restarts, refuses bad flags.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { AuthenticationError, KliqClient } from '../src/kliq';
import { ROOT, tmpDir } from './helpers';

const BIN = path.join(ROOT, 'bin/kliq-api-server.mjs');

function launch(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /^listening on (http:\/\/127\.0\.0\.1:(\d+))$/m.exec(out);
      if (m) resolve({ child, url: m[1] });
    });
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.on('exit', (code) => reject(new Error(`exited ${code} before listening: ${out}${err}`)));
  });
}

const stop = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    child.on('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });

test('the bin listens on 127.0.0.1, serves two seeded tenants, stops on SIGTERM and keeps its state across a restart', async () => {
  const dir = tmpDir('kliq-api-cli-');
  const db = path.join(dir, 'api.db');
  const args = ['--port', '0', '--db', db, '--seed-tenant', 't_one', '--seed-key', 'key_one_00000', '--seed-user', 'ann@one.test:pw1'];
  args.push('--seed-tenant', 't_two', '--seed-key', 'key_two_00000');
  try {
    const first = await launch(args);
    const one = new KliqClient({ baseUrl: `${first.url}/v1`, apiKey: 'key_one_00000' });
    expect(await one.health()).toBe(true);
    const loc = await one.forTenant('t_one').locations.create({ name: 'From the CLI' });
    const user = new KliqClient({ baseUrl: `${first.url}/v1` });
    await user.auth.getToken('ann@one.test', 'pw1');
    expect((await user.forTenant('t_one').locations.list()).data.map((l) => l.id)).toEqual([loc.id]);
    const two = new KliqClient({ baseUrl: `${first.url}/v1`, apiKey: 'key_two_00000' }).forTenant('t_two');
    expect((await two.locations.list()).data).toEqual([]);
    expect(await stop(first.child)).toBe(0);

    const second = await launch(['--port', '0', '--db', db]);
    const again = new KliqClient({ baseUrl: `${second.url}/v1`, apiKey: 'key_one_00000' }).forTenant('t_one');
    expect((await again.locations.get(loc.id)).name).toBe('From the CLI');
    await expect(
      new KliqClient({ baseUrl: `${second.url}/v1`, apiKey: 'nope_nope_nope' }).forTenant('t_one').locations.list(),
    ).rejects.toThrow(AuthenticationError);
    expect(await stop(second.child)).toBe(0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('bad flags exit 2 with the usage', async () => {
  const runs = [['--seed-key', 'key_without_tenant'], ['--fault-rate', '2'], ['--bogus']].map(async (args) => {
    const child = spawn(process.execPath, [BIN, '--port', '0', '--db', ':memory:', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    return { code, err };
  });
  for (const { code, err } of await Promise.all(runs)) {
    expect(code).toBe(2);
    expect(err).toMatch(/usage: kliq-api-server/);
  }
});
