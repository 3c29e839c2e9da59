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
 * are counted in SQL over the filtered photos' label_counts. A filter's counts are kept like the orders,
 * and an edit does not throw them away either: what the edited photo counted for before the edit is
 * taken out and what it counts for after is put in (the same SQL, for that one photo), so the counts
 * after an edit are as fast for a confidence band as for the review state.
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
/** Facet counts kept (filters the auditor moves between). */
const MAX_COUNTS = 50;
/** Photos sampled to tell whether a confidence band or a name search holds most of a queue (QueueCache.complementCounts). */
const COMPLEMENT_SAMPLE = 256;

/** Filters the facet tables answer: their columns, plus one label (queue_label_facets). */
const CUBE_KEYS = new Set(['status', 'review', 'location', 'visit', 'model']);

/**
 * A photo's facets as counted, from `observations o`, the way the facet tables key them (migration 011:
 * ifnull(x, '') in TEXT columns): '' is none like NULL, and a value is its text. So the counts of a
 * filter the facet tables answer and of one counted in SQL agree, and so do a photo's part of them.
 */
const FACETS = `o.review_status, o.status, nullif(CAST(o.location_id AS TEXT), ''), nullif(CAST(o.visit_id AS TEXT), ''),
  nullif(CAST(o.model AS TEXT), '')`;

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

interface KeptCounts {
  version: number;
  filter: QueueFilter;
  value: Counts;
}

/**
 * An edit of some photos in one write transaction, as the kept orders and counts follow it: the queue
 * version before and after it, and for each kept count that was current before it, the part those
 * photos made of it before and after (QueueCache.beginEdit, endEdit, then patch once committed).
 */
export interface QueueEdit {
  ids: string[];
  before: number;
  /** null until endEdit: an edit never ended (rolled back, or not of these photos) patches nothing. */
  after: number | null;
  parts: Map<string, { filter: QueueFilter; before: Counts; after: Counts | null }>;
}

/** Rows of a Counted list ordered as counts() orders them: photos (more first), then name as SQLite orders it. */
const byCount = (rows: { name: string; n: number }[]) => rows.sort((a, b) => b.n - a.n || sqlCompare(a.name, b.name));

/** A key of a label_counts object (as SQLite's json_group_object writes it: a JSON string, then `:`). */
const LABEL_KEY = /"((?:[^"\\]|\\.)*)":/g;

/**
 * Photos per label of photos given by their label_counts (JSON object label → boxes), ordered as counts()
 * orders them. The keys are read with a pattern, not JSON.parse (half the time over ~100 000 photos): a
 * value is a number, so every `"…":` is a key; one with an escape is unescaped as a JSON string.
 */
function photosPerLabel(labelCounts: string[]): { name: string; n: number }[] {
  const n = new Map<string, number>();
  for (const json of labelCounts) {
    LABEL_KEY.lastIndex = 0;
    for (let m = LABEL_KEY.exec(json); m; m = LABEL_KEY.exec(json)) {
      const label = m[1].includes('\\') ? (JSON.parse(`"${m[1]}"`) as string) : m[1];
      n.set(label, (n.get(label) ?? 0) + 1);
    }
  }
  return byCount([...n].map(([name, k]) => ({ name, n: k })));
}

/** Counts of no photo. */
function noCounts(): Counts {
  return {
    total: 0,
    byReview: { unreviewed: 0, reviewed: 0, flagged: 0 },
    byStatus: { pending: 0, processing: 0, completed: 0, failed: 0 },
    locations: [],
    visits: [],
    models: [],
    labels: [],
  };
}

/** `value` with the counts `minus` taken out and `plus` put in; a name whose photos drop to none disappears. */
export function patchCounts(value: Counts, minus: Counts, plus: Counts): Counts {
  const each = <T extends Record<string, number>>(v: T, m: T, p: T) =>
    Object.fromEntries(Object.keys(v).map((k) => [k, v[k] - m[k] + p[k]])) as T;
  const list = (v: Counts['labels'], m: Counts['labels'], p: Counts['labels']) => {
    const n = new Map(v.map((r) => [r.name, r.n]));
    for (const r of m) n.set(r.name, (n.get(r.name) ?? 0) - r.n);
    for (const r of p) n.set(r.name, (n.get(r.name) ?? 0) + r.n);
    return byCount([...n].filter(([, k]) => k > 0).map(([name, k]) => ({ name, n: k })));
  };
  return {
    total: value.total - minus.total + plus.total,
    byReview: each(value.byReview, minus.byReview, plus.byReview),
    byStatus: each(value.byStatus, minus.byStatus, plus.byStatus),
    locations: list(value.locations, minus.locations, plus.locations),
    visits: list(value.visits, minus.visits, plus.visits),
    models: list(value.models, minus.models, plus.models),
    labels: list(value.labels, minus.labels, plus.labels),
  };
}

export class QueueCache {
  private readonly orders = new Map<string, Order>();
  private readonly kept = new Map<string, KeptCounts>();
  private readonly st = new Map<string, Prepared>();
  private readonly versionStmt;
  /**
   * A confidence band or a name search is counted by its complement when more than this share of a sample
   * of the photos it filters is in it (complementCounts); tests set it to -1 (always when it can) or 1 (never).
   */
  complementAbove = 0.5;

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
   * In a write transaction (immediate: nobody else writes until it ends), before it changes the photos
   * `ids`: the queue version, and the part those photos make of each kept count current at it.
   */
  beginEdit(ids: string[]): QueueEdit {
    const unique = [...new Set(ids)];
    const before = this.version();
    const parts: QueueEdit['parts'] = new Map();
    for (const [key, k] of this.kept) {
      if (k.version === before) parts.set(key, { filter: k.filter, before: this.sqlCounts(k.filter, unique), after: null });
    }
    return { ids: unique, before, after: null, parts };
  }

  /**
   * In the same transaction, after its writes: the version after, and the part the photos make of each
   * of those counts now. The writes must change nothing a queue reads but these photos' rows and boxes
   * (not a location's name, an asset or a building, which other photos' membership reads).
   */
  endEdit(e: QueueEdit): void {
    e.after = this.version();
    for (const p of e.parts.values()) p.after = this.sqlCounts(p.filter, e.ids);
  }

  /**
   * Once the edit's transaction committed (`endEdit` was called in it): the kept counts that were current
   * before it take the photos' part before out and put their part after in, and the kept orders (after
   * an edit of one photo) take the photo out and put it back where it now belongs; both are then current
   * at the version after it. Whatever was not current before it (another connection wrote since) is
   * dropped, to be computed again when asked for: a version this cache did not follow is never served.
   */
  patch(e: QueueEdit): void {
    const { before, after } = e;
    if (after === null || before === after) return;
    for (const [key, k] of this.kept) {
      const part = e.parts.get(key);
      if (k.version !== before || !part?.after) {
        this.kept.delete(key);
        continue;
      }
      k.value = patchCounts(k.value, part.before, part.after);
      k.version = after;
    }
    for (const [key, o] of this.orders) {
      if (o.version !== before || e.ids.length !== 1) {
        this.orders.delete(key);
        continue;
      }
      const [observationId] = e.ids;
      const cols = QUEUE_ORDER_KEYS[o.sort];
      const keyOf = this.prepared(`SELECT ${cols.map((c) => c.col).join(', ')} FROM observations WHERE id = ?`).raw();
      const q = this.selected(o.filter, e.ids);
      const member = this.prepared(`SELECT 1 FROM ${q.from} ${q.where}`).get(q.params);
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

  /**
   * Counts per facet of the photos a filter selects, kept while the queue version stands still and
   * brought along by the edits made through this cache (patch), instead of being counted again.
   */
  keptCounts(filter: QueueFilter): Counts {
    const key = JSON.stringify(filter);
    const k = this.kept.get(key);
    if (k) this.kept.delete(key); // re-inserted below: most recently used last
    // version and numbers read in one snapshot: another connection's commit cannot fall between them
    const fresh = this.db.transaction(() => {
      const version = this.version();
      return k?.version === version ? k : { version, filter, value: this.counts(filter) };
    })();
    if (this.kept.size >= MAX_COUNTS) this.kept.delete(this.kept.keys().next().value!);
    this.kept.set(key, fresh);
    return fresh.value;
  }

  /** Counts per facet of the photos a filter selects (computed now). */
  counts(filter: QueueFilter): Counts {
    return this.cubeCounts(filter) ?? this.complementCounts(filter) ?? this.sqlCounts(filter);
  }

  /** Counts from the facet tables, for a filter of their columns and a label; null for any other filter. */
  private cubeCounts(filter: QueueFilter): Counts | null {
    const hasLabel = filter.label !== undefined;
    const w = this.cubeWhere(filter, hasLabel);
    if (!w) return null;
    // photos per (review, status, location, visit, model): of the label's rows when a label is filtered
    const combos = this.prepared(
      `SELECT review_status, status, nullif(location_id, ''), nullif(visit_id, ''), nullif(model, ''), photos
       FROM ${hasLabel ? 'queue_label_facets' : 'queue_photo_facets'} ${w.sql}`,
    )
      .raw()
      .all(w.params) as unknown[][];
    const labels = hasLabel
      ? this.coLabels(filter)
      : (this.prepared(
          `SELECT label AS name, sum(photos) AS n FROM queue_label_facets ${w.sql} GROUP BY label HAVING n > 0 ORDER BY 2 DESC, 1`,
        ).all(w.params) as { name: string; n: number }[]);
    return this.tally(combos, labels);
  }

  /**
   * Counts of a confidence band or a file-name search (or both) over photos the facet tables count (a
   * filter of their columns, no label), when it holds most of them, as a wide band does (0.3–0.6 holds
   * 97 % of the bench's photos) or a search for what every name has ("IMG", "jpg"): the facet tables'
   * counts of those photos, less the counts of the few outside it. Reading and tallying most of 100 000
   * rows took 0.6–0.9 s for a band, 0.4–1.0 s for a name every photo has; the complement is a few thousand rows or none.
   * null when the filter is not of that form, or a sample of all photos says the part is narrow (counted
   * directly, as its photos are then the few). Either way the numbers are the same; only the time differs.
   */
  private complementCounts(filter: QueueFilter): Counts | null {
    const { confMin, confMax, name, ...rest } = filter;
    if (confMin === undefined && confMax === undefined && name === undefined) return null;
    if (rest.label !== undefined || !this.cubeWhere(rest, false)) return null;
    const part = queueWhere({ confMin, confMax, name });
    const holds = part.sql.slice('WHERE '.length);
    // the first photos in the table's own order (import order): an index's order can follow confidence
    // itself (the uncertain-first one does), which would make a sample of it tell the wrong side
    const [sampled, inPart] = this.prepared(
      `SELECT count(*), ifnull(sum(${holds}), 0) FROM (SELECT rowid, current_job_id, source_path FROM observations
       ORDER BY rowid LIMIT ${COMPLEMENT_SAMPLE}) o`,
    )
      .raw()
      .get(part.params) as [number, number];
    if (!sampled || inPart / sampled <= this.complementAbove) return null;
    // the photos outside it first, from one index alone where it can (a band: the current jobs', one seek
    // per photo; a name: the paths'), no row of the table read; then those rows by rowid, the rest of the
    // filter tested on each. For the band 0.3–0.6 in a fresh process at 100 000 photos: 72–100 ms against
    // 112–150 ms for one scan of the table testing both (scratch, 3 runs each). Neither part is ever NULL
    // (EXISTS; LIKE on a NOT NULL path), so NOT selects exactly the photos the part does not.
    const outside = this.prepared(`SELECT o.rowid FROM observations o WHERE NOT (${holds})`).pluck().all(part.params) as number[];
    return patchCounts(this.cubeCounts(rest)!, this.sqlCounts(rest, undefined, { rowids: outside }), noCounts());
  }

  /**
   * The photos a filter selects, as FROM and WHERE over `observations o`: all of them, or those of `ids`
   * (observation ids) or `rowids` only (each looked up by its key, the filter tested on that row alone).
   */
  private selected(
    filter: QueueFilter,
    ids?: string[],
    { rowids }: { rowids?: number[] } = {},
  ): { from: string; where: string; params: Record<string, unknown> } {
    if (!ids && !rowids) {
      const w = queueWhere(filter);
      return { from: 'observations o', where: w.sql, params: w.params };
    }
    const w = queueWhere(filter, { perRow: true });
    return {
      // CROSS JOIN: SQLite keeps this order, so the rows come from the ids, not from an index over a filtered column
      from: 'json_each(@__ids) AS sel CROSS JOIN observations o',
      where: `WHERE ${ids ? 'o.id' : 'o.rowid'} = sel.value${w.sql ? ` AND ${w.sql.slice('WHERE '.length)}` : ''}`,
      params: { ...w.params, __ids: JSON.stringify(ids ?? rowids) },
    };
  }

  /**
   * Counts per facet of the photos a filter selects (of `ids` only, when given), from one row per photo
   * (its facets, 1, its label_counts) tallied here: SQLite's GROUP BY sorts every row (600 000 label rows
   * for a band holding most of 100 000 photos), which took 2 to 4 times as long as reading them.
   */
  private sqlCounts(filter: QueueFilter, ids?: string[], opts: { rowids?: number[] } = {}): Counts {
    const q = this.selected(filter, ids, opts);
    const rows = this.prepared(`SELECT ${FACETS}, 1, o.label_counts FROM ${q.from} ${q.where}`).raw().all(q.params) as unknown[][];
    return this.tally(rows, photosPerLabel(rows.map((r) => r[6] as string)));
  }

  /** Photos per label among the photos a filter selects: the keys of their label_counts. */
  private coLabels(filter: QueueFilter): { name: string; n: number }[] {
    const q = this.selected(filter);
    return photosPerLabel(this.prepared(`SELECT o.label_counts FROM ${q.from} ${q.where}`).pluck().all(q.params) as string[]);
  }

  /** Counts from rows [review, status, location id, visit, model, photos] (more columns ignored) and the labels' photos. */
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
      loc.size
        ? (this.prepared('SELECT id, name FROM locations WHERE id IN (SELECT value FROM json_each(?))')
            .raw()
            .all(JSON.stringify([...loc.keys()])) as [string, string][])
        : [],
    );
    const named = (m: Map<string, number>, rename?: Map<string, string>) => {
      const merged = new Map<string, number>();
      for (const [k, n] of m) {
        const name = rename ? rename.get(k) : k;
        if (name !== undefined) merged.set(name, (merged.get(name) ?? 0) + n);
      }
      return byCount([...merged].map(([name, n]) => ({ name, n })));
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
