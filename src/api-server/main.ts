/**
 * `npm run api-server -- --port N [--db FILE] [--seed-tenant ID --seed-key KEY [--seed-user EMAIL:PASSWORD]
 * [--seed-client ID:SECRET]]... [--fault-rate 0.2] [--latency-ms M] [--rate-limit N] [--token-ttl S]`
 * Prints `listening on http://127.0.0.1:N` once ready; Ctrl+C (SIGINT) or SIGTERM closes it cleanly.
 */
import { parseArgs } from 'node:util';
import { startApiServer, type SeedTenant } from './server';

const USAGE = `usage: kliq-api-server --port N [--db FILE]
         [--seed-tenant ID --seed-key KEY [--seed-user EMAIL:PASSWORD] [--seed-client ID:SECRET]]...
         [--fault-rate 0..1] [--fault-seed N] [--latency-ms M] [--rate-limit N] [--token-ttl SECONDS] [--provider cpu|auto|cuda|dml]`;

function fail(message: string): never {
  process.stderr.write(`kliq-api-server: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function number(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) fail(`--${name} must be a number in ${min}..${max}`);
  return n;
}

let parsed;
try {
  parsed = parseArgs({
    args: process.argv.slice(2),
    tokens: true,
    options: {
      port: { type: 'string' },
      db: { type: 'string' },
      'seed-tenant': { type: 'string', multiple: true },
      'seed-key': { type: 'string', multiple: true },
      'seed-user': { type: 'string', multiple: true },
      'seed-client': { type: 'string', multiple: true },
      'fault-rate': { type: 'string' },
      'fault-seed': { type: 'string' },
      'latency-ms': { type: 'string' },
      'rate-limit': { type: 'string' },
      'token-ttl': { type: 'string' },
      provider: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
} catch (err) {
  fail((err as Error).message);
}
const { values, tokens } = parsed;
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

// --seed-key, --seed-user and --seed-client belong to the --seed-tenant before them
const tenants: SeedTenant[] = [];
for (const t of tokens ?? []) {
  if (t.kind !== 'option' || !t.name.startsWith('seed-')) continue;
  const value = t.value ?? '';
  if (t.name === 'seed-tenant') {
    if (!/^[A-Za-z0-9_-]{1,100}$/.test(value)) fail(`--seed-tenant ${value}: letters, digits, _ and - only`);
    tenants.push({ id: value, users: [], clients: [] });
    continue;
  }
  const tenant = tenants[tenants.length - 1];
  if (!tenant) fail(`--${t.name} must follow a --seed-tenant`);
  if (t.name === 'seed-key') {
    if (tenant.apiKey) fail(`one --seed-key per --seed-tenant`);
    if (value.length < 6) fail('--seed-key: 6 characters at least');
    tenant.apiKey = value;
  } else {
    const at = value.indexOf(':');
    if (at < 1 || at === value.length - 1) fail(`--${t.name} ${value}: expected NAME:SECRET`);
    if (t.name === 'seed-user') tenant.users!.push({ email: value.slice(0, at), password: value.slice(at + 1) });
    else tenant.clients!.push({ id: value.slice(0, at), secret: value.slice(at + 1) });
  }
}
const provider = values.provider ?? 'cpu';
if (!['auto', 'cpu', 'cuda', 'dml'].includes(provider)) fail('--provider must be auto, cpu, cuda or dml');
const tokenTtl = number('token-ttl', values['token-ttl'], 1, 30 * 86_400);

try {
  const server = await startApiServer({
    port: number('port', values.port, 0, 65535) ?? 8787,
    db: values.db ?? 'kliq-api-server.db',
    tenants,
    faultRate: number('fault-rate', values['fault-rate'], 0, 1),
    faultSeed: number('fault-seed', values['fault-seed'], 0, 2 ** 31),
    latencyMs: number('latency-ms', values['latency-ms'], 0, 600_000),
    rateLimitPerSecond: number('rate-limit', values['rate-limit'], 1, 1_000_000),
    accessTokenTtlMs: tokenTtl === undefined ? undefined : tokenTtl * 1000,
    provider: provider as 'auto' | 'cpu' | 'cuda' | 'dml',
  });
  process.stdout.write(`listening on ${server.url}\n`);
  let stopping = false;
  const stop = () => {
    if (stopping) process.exit(130);
    stopping = true;
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} catch (err) {
  fail((err as Error).message);
}
