/**
 * The catalog both ways, as a reconciliation at the start of each sync (SKUs are few and change rarely,
 * so they need no outbox): pull the tenant's tracked objects (a local SKU learns its remote id, a remote
 * SKU missing here is added), then push local SKUs the server does not have. Matching is by SKU code;
 * entries without a SKU (model labels) stay local.
 */
import crypto from 'node:crypto';
import type { TenantClient } from '../../../kliq/client';
import { immediate, type Db } from '../db';

export interface CatalogSyncCounts {
  pulled: number;
  pushed: number;
}

export async function syncCatalog(db: Db, tenant: TenantClient, signal?: AbortSignal): Promise<CatalogSyncCounts> {
  const local = new Map(
    (
      db.prepare('SELECT id, sku, remote_id FROM catalog WHERE sku IS NOT NULL').all() as {
        id: string;
        sku: string;
        remote_id: string | null;
      }[]
    ).map((r) => [r.sku, r]),
  );
  const remote: { id: string; sku: string; name: string }[] = [];
  for await (const t of tenant.catalog.listAll({ limit: 100 })) {
    if (signal?.aborted) return { pulled: 0, pushed: 0 };
    remote.push({ id: t.id, sku: t.sku, name: t.name });
  }
  const now = new Date().toISOString();
  let pulled = 0;
  immediate(db, () => {
    const setRemote = db.prepare('UPDATE catalog SET remote_id = ? WHERE id = ? AND remote_id IS NULL');
    const insert = db.prepare('INSERT INTO catalog (id, remote_id, sku, name, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING');
    for (const r of remote) {
      const l = local.get(r.sku);
      if (l) {
        if (!l.remote_id) setRemote.run(r.id, l.id);
      } else pulled += insert.run(`cat_${crypto.randomUUID().replace(/-/g, '')}`, r.id, r.sku, r.name, now).changes;
    }
  });
  const known = new Set(remote.map((r) => r.sku));
  let pushed = 0;
  const toPush = db.prepare('SELECT id, sku, name FROM catalog WHERE sku IS NOT NULL AND remote_id IS NULL').all() as {
    id: string;
    sku: string;
    name: string;
  }[];
  for (const c of toPush) {
    if (signal?.aborted) break;
    if (known.has(c.sku)) continue;
    const created = await tenant.catalog.create({ sku: c.sku, name: c.name }, { idempotencyKey: `catalog:${c.sku}`, signal });
    db.prepare('UPDATE catalog SET remote_id = ? WHERE id = ?').run(created.id, c.id);
    pushed++;
  }
  return { pulled, pushed };
}
