/**
 * The review queue's orders and numbers, fast at 100 000 photos / 1 000 000 boxes (issue 13).
 *
 * Orders: a queue's whole order (its ids) is kept in memory once a page beyond the first ones was asked
 * for, valid while `queue_version` (bumped by triggers, migration 011, on whatever a queue reads) stands
 * still. An auditor's edit does not throw it away: the edited photo is taken out and put back where it
 * now belongs (its membership read for that one row, its place found by binary search over the order's
 * keys), so the first page after an edit is as fast as any. The first pages of a queue that is not kept
 * come straight from the indexes (LIMIT), with its total from the facet tables when the filter allows.
 *
 * Facets: photo and box counts per review state, status, location, visit, model and label come from
 * queue_photo_facets / queue_label_facets (kept by triggers), never from a scan of the boxes, for
 * filters over those columns (and a label). Other filters (confidence band, building, grade, name…)
 * are counted in SQL over the filtered photos' label_counts.
 */
import type { Db } from './index';
import { QUEUE_ORDER, QUEUE_ORDER_KEYS, queueWhere } from './queries';
import type { QueueFilter, QueueSort, Result } from '../../../shared/rpc';

type Counts = Result<'queueCounts'>;
type Prepared = ReturnType<Db['prepare']>;

/** The first pages are read from the indexes (LIMIT) when the queue's order is not kept yet. */
const DIRECT_PAGES_UP_TO = 500;
/** Queue orders kept (filters × sorts the auditor moves between). */
const MAX_ORDERS = 6;

/** Filters the facet tables answer: their columns, plus one label (queue_label_facets). */
const CUBE_KEYS = new Set(['status', 'review', 'location', 'visit', 'model']);

/** SQLite's order of two values of a column (NULL first, numbers, then text by bytes: the BINARY collation). */
export function sqlCompare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  const an = typeof a === 'number' || typeof a === 'bigint';
  const bn = typeof b === 'number' || typeof b === 'bigint';
  if (an && bn) return a < b ? -1 : a > b ? 1 : 0;
  if (an) return -1;
  if (bn) return 1;
  return Buffer.compare(Buffer.from(String(a)), Buffer.from(String(b)));
}

interface Order {
  version: number;
  filter: QueueFilter;
  sort: QueueSort;
  ids: string[];
}

export class QueueCache {
  private readonly orders = new Map<string, Order>();
  private readonly st = new Map<string, Prepared>();
  private readonly versionStmt;

  constructor(private readonly db: Db) {
    this.versionStmt = db.prepare<[], number>('SELECT v FROM queue_version').pluck();
  }

  /** The counter triggers bump on every change that can move a photo in a queue (any connection). */
  version(): number {
    return this.versionStmt.get() as number;
  }

  private prepared(sql: string): Prepared {
    let s = this.st.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.st.set(sql, s);
    }
    return s;
  }

  /** A page of a queue and its total. */
  page(filter: QueueFilter, sort: QueueSort, offset: number, limit: number): { ids: string[]; total: number } {
    const key = `${sort}:${JSON.stringify(filter)}`;
    const v = this.version();
    let o = this.orders.get(key);
    if (o && o.version !== v) {
      this.orders.delete(key);
      o = undefined;
    }
    if (!o && offset + limit <= DIRECT_PAGES_UP_TO) {
      const total = this.cubeTotal(filter);
      if (total !== null) {
        const w = queueWhere(filter);
        const ids = this.prepared(`SELECT o.id FROM observations o ${w.sql} ORDER BY ${QUEUE_ORDER[sort]} LIMIT @limit OFFSET @offset`)
          .pluck()
          .all({ ...w.params, limit, offset }) as string[];
        return { ids, total };
      }
    }
    if (!o) {
      o = { version: v, filter, sort, ids: this.computeOrder(filter, sort) };
      if (this.orders.size >= MAX_ORDERS) this.orders.delete(this.orders.keys().next().value!);
    } else this.orders.delete(key); // re-inserted below: most recently used last
    this.orders.set(key, o);
    return { ids: o.ids.slice(offset, offset + limit), total: o.ids.length };
  }

  private computeOrder(filter: QueueFilter, sort: QueueSort): string[] {
    const w = queueWhere(filter);
    return this.prepared(`SELECT o.id FROM observations o ${w.sql} ORDER BY ${QUEUE_ORDER[sort]}`).pluck().all(w.params) as string[];
  }

  /**
   * After an edit of one photo in one transaction that took the queue version from `before` to `after`:
   * the orders that were current at `before` take the photo out and put it back where it now belongs,
   * and are current at `after`. Call inside the edit's transaction (nobody else writes meanwhile).
   */
  patch(observationId: string, before: number, after: number): void {
    if (before === after) return;
    for (const [key, o] of this.orders) {
      if (o.version !== before) {
        this.orders.delete(key);
        continue;
      }
      const cols = QUEUE_ORDER_KEYS[o.sort];
      const keyOf = this.prepared(`SELECT ${cols.map((c) => c.col).join(', ')} FROM observations WHERE id = ?`).raw();
      // the filter for this one row: its sets as subqueries correlated to it (not every job with the label)
      const w = queueWhere(o.filter, { perRow: true });
      const member = this.prepared(
        `SELECT 1 FROM observations o WHERE o.id = @__id${w.sql ? ` AND ${w.sql.slice('WHERE '.length)}` : ''}`,
      ).get({ ...w.params, __id: observationId });
      const at = o.ids.indexOf(observationId);
      if (at >= 0) o.ids.splice(at, 1);
      if (member) {
        const mine = keyOf.get(observationId) as unknown[];
        const cmp = (id: string) => {
          const theirs = keyOf.get(id) as unknown[];
          for (let i = 0; i < cols.length; i++) {
            const c = sqlCompare(mine[i], theirs[i]);
            if (c) return cols[i].desc ? -c : c;
          }
          return 0;
        };
        let lo = 0;
        let hi = o.ids.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (cmp(o.ids[mid]) > 0) lo = mid + 1;
          else hi = mid;
        }
        o.ids.splice(lo, 0, observationId);
      }
      o.version = after;
    }
  }

  /** The facet tables' WHERE for a filter, or null when the filter reads something they do not hold. */
  private cubeWhere(filter: QueueFilter, withLabel: boolean): { sql: string; params: Record<string, unknown> } | null {
    const parts: string[] = [];
    const params: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(filter)) {
      if (v === undefined) continue;
      if (k === 'label' && withLabel) continue;
      if (!CUBE_KEYS.has(k)) return null;
    }
    if (filter.review) parts.push('review_status = @review');
    if (filter.status) parts.push('status = @status');
    if (filter.location) parts.push(`location_id = ifnull((SELECT id FROM locations WHERE name = @location), char(0))`);
    if (filter.visit) parts.push('visit_id = @visit');
    if (filter.model) parts.push('model = @model');
    if (withLabel && filter.label) parts.push('label = @label');
    const keys = ['review', 'status', 'location', 'visit', 'model', 'label'] as const;
    for (const k of keys) if (filter[k] !== undefined && (k !== 'label' || withLabel)) params[k] = filter[k];
    return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
  }

  /** Photos in a queue, from the facet tables; null when the filter needs SQL. */
  cubeTotal(filter: QueueFilter): number | null {
    if (filter.label !== undefined) {
      const w = this.cubeWhere(filter, true);
      if (!w) return null;
      return this.prepared(`SELECT ifnull(sum(photos), 0) FROM queue_label_facets ${w.sql}`).pluck().get(w.params) as number;
    }
    const w = this.cubeWhere(filter, false);
    if (!w) return null;
    return this.prepared(`SELECT ifnull(sum(photos), 0) FROM queue_photo_facets ${w.sql}`).pluck().get(w.params) as number;
  }

  /** Counts per facet of the photos a filter selects. */
  counts(filter: QueueFilter): Counts {
    const hasLabel = filter.label !== undefined;
    const w = this.cubeWhere(filter, hasLabel);
    let combos: unknown[][];
    let labels: { name: string; n: number }[];
    if (w) {
      // photos per (review, status, location, visit, model): of the label's rows when a label is filtered
      combos = this.prepared(
        `SELECT review_status, status, nullif(location_id, ''), nullif(visit_id, ''), nullif(model, ''), photos
         FROM ${hasLabel ? 'queue_label_facets' : 'queue_photo_facets'} ${w.sql}`,
      )
        .raw()
        .all(w.params) as unknown[][];
      labels = hasLabel
        ? this.coLabels(filter)
        : (this.prepared(
            `SELECT label AS name, sum(photos) AS n FROM queue_label_facets ${w.sql} GROUP BY label HAVING n > 0 ORDER BY 2 DESC, 1`,
          ).all(w.params) as { name: string; n: number }[]);
    } else {
      const q = queueWhere(filter);
      combos = this.prepared(
        `SELECT review_status, status, location_id, visit_id, model, count(*) FROM observations o ${q.sql} GROUP BY 1, 2, 3, 4, 5`,
      )
        .raw()
        .all(q.params) as unknown[][];
      labels = this.coLabels(filter);
    }
    return this.tally(combos, labels);
  }

  /** Photos per label among the photos a filter selects (SQL over their label_counts). */
  private coLabels(filter: QueueFilter): { name: string; n: number }[] {
    const q = queueWhere(filter);
    return this.prepared(
      `SELECT j.key AS name, count(*) AS n FROM observations o, json_each(o.label_counts) j ${q.sql} GROUP BY j.key ORDER BY 2 DESC, 1`,
    ).all(q.params) as { name: string; n: number }[];
  }

  private tally(combos: unknown[][], labels: { name: string; n: number }[]): Counts {
    const byReview = { unreviewed: 0, reviewed: 0, flagged: 0 };
    const byStatus = { pending: 0, processing: 0, completed: 0, failed: 0 };
    const loc = new Map<string, number>();
    const visit = new Map<string, number>();
    const model = new Map<string, number>();
    const add = (m: Map<string, number>, k: unknown, n: number) => {
      if (k !== null && k !== undefined) m.set(k as string, (m.get(k as string) ?? 0) + n);
    };
    for (const [r, s, l, v, m, n] of combos as [keyof typeof byReview, keyof typeof byStatus, unknown, unknown, unknown, number][]) {
      byReview[r] += n;
      byStatus[s] += n;
      add(loc, l, n);
      add(visit, v, n);
      add(model, m, n);
    }
    const names = new Map(
      (this.prepared('SELECT id, name FROM locations').raw().all() as [string, string][]).filter(([id]) => loc.has(id)),
    );
    const named = (m: Map<string, number>, rename?: Map<string, string>) => {
      const merged = new Map<string, number>();
      for (const [k, n] of m) {
        const name = rename ? rename.get(k) : k;
        if (name !== undefined) merged.set(name, (merged.get(name) ?? 0) + n);
      }
      return [...merged].map(([name, n]) => ({ name, n })).sort((a, b) => b.n - a.n || sqlCompare(a.name, b.name));
    };
    return {
      total: byReview.unreviewed + byReview.reviewed + byReview.flagged,
      byReview,
      byStatus,
      locations: named(loc, names),
      visits: named(visit),
      models: named(model),
      labels,
    };
  }

  /** Photos and boxes per label of a queue (the Summary), from the facet tables; null when the filter needs SQL. */
  boxesPerLabel(filter: QueueFilter): { photos: number; labelCounts: { name: string; n: number }[] } | null {
    if (filter.label !== undefined) return null; // boxes of the other labels on those photos: SQL
    const w = this.cubeWhere(filter, false);
    if (!w) return null;
    const labelCounts = this.prepared(
      `SELECT label AS name, sum(boxes) AS n FROM queue_label_facets ${w.sql} GROUP BY label HAVING n > 0 ORDER BY 2 DESC, 1`,
    ).all(w.params) as { name: string; n: number }[];
    return { photos: this.cubeTotal(filter)!, labelCounts };
  }

  /** Boxes per label over every photo's current result (the label picker's "uses"). */
  labelUses(): Map<string, number> {
    const rows = this.prepared('SELECT label, sum(boxes) FROM queue_label_facets GROUP BY label').raw().all() as [string, number][];
    return new Map(rows);
  }
}
