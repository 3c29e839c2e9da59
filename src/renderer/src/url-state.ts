/**
 * Where the auditor is, kept in the URL's hash beside the `?token=` the page needs: the screen, the
 * queue's filters and sort, and the photo (Review) or row (Queue). A reload or a shared link returns to
 * the same place: `#/review?label=bottle&sort=path&n=13&photo=obs_…`.
 *
 * A filter left out is not applied, except the review state: the queue opens on Unreviewed unless the
 * URL says `review=all` (or another state). `n` is the 1-based place in the queue; `photo` the one
 * shown in Review, found again even if the queue moved.
 */
import { QUEUE_SORTS, QueueFilterSchema, type QueueFilter, type QueueSort } from '../../shared/rpc';
import { DEFAULT_QUERY, cleanFilter, type QueueQuery } from './queue';

export const SCREEN_KEYS = ['import', 'queue', 'review', 'summary', 'buildings', 'catalog', 'sync', 'settings'] as const;
export type Screen = (typeof SCREEN_KEYS)[number];

export interface Place {
  screen: Screen;
  query: QueueQuery;
  /** 0-based place in the queue (the Queue's cursor, Review's photo). */
  index: number;
  /** The photo Review shows. */
  photo: string | null;
}

export const DEFAULT_PLACE: Place = { screen: 'queue', query: DEFAULT_QUERY, index: 0, photo: null };

const FILTER_KEYS = Object.keys(QueueFilterSchema.shape) as (keyof QueueFilter)[];
const NUMBER_KEYS = new Set<keyof QueueFilter>(['confMin', 'confMax']);

/** The place a hash names; the default place for an empty one. Unknown or invalid values are dropped. */
export function parsePlace(hash: string): Place {
  const m = /^#\/?([a-z]*)(?:\?(.*))?$/.exec(hash);
  if (!m || (!m[1] && !m[2])) return DEFAULT_PLACE;
  const screen = (SCREEN_KEYS as readonly string[]).includes(m[1]) ? (m[1] as Screen) : 'queue';
  const q = new URLSearchParams(m[2] ?? '');
  const raw: Record<string, unknown> = {};
  for (const k of FILTER_KEYS) {
    const v = q.get(k);
    if (v === null || v === '') continue;
    raw[k] = NUMBER_KEYS.has(k) ? Number(v) : v;
  }
  if (raw.review === undefined) raw.review = 'unreviewed';
  else if (raw.review === 'all') delete raw.review;
  // each value on its own: one bad value does not lose the others
  const filter: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    const ok = QueueFilterSchema.safeParse({ [k]: v });
    if (ok.success) Object.assign(filter, ok.data);
  }
  const sortParam = q.get('sort');
  const sort: QueueSort = (QUEUE_SORTS as readonly string[]).includes(sortParam ?? '') ? (sortParam as QueueSort) : DEFAULT_QUERY.sort;
  const n = Number(q.get('n'));
  return {
    screen,
    query: { filter: cleanFilter(filter as QueueFilter), sort },
    index: Number.isInteger(n) && n >= 1 ? n - 1 : 0,
    photo: q.get('photo') || null,
  };
}

/** The hash of a place (short: the default sort and review state are left out). */
export function placeHash(p: Place): string {
  const q = new URLSearchParams();
  const f = p.query.filter;
  if (f.review !== 'unreviewed') q.set('review', f.review ?? 'all');
  for (const k of FILTER_KEYS) {
    const v = f[k];
    if (k !== 'review' && v !== undefined && v !== '') q.set(k, String(v));
  }
  if (p.query.sort !== DEFAULT_QUERY.sort) q.set('sort', p.query.sort);
  if (p.index > 0) q.set('n', String(p.index + 1));
  if (p.screen === 'review' && p.photo) q.set('photo', p.photo);
  const s = q.toString();
  return `#/${p.screen}${s ? `?${s}` : ''}`;
}

/** Screen or queue changed (a step back and forward goes through), not only the photo or row. */
export function isNewPlace(a: Place, b: Place): boolean {
  return a.screen !== b.screen || placeHash({ ...a, index: 0, photo: null }) !== placeHash({ ...b, index: 0, photo: null });
}
