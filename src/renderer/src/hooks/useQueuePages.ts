/**
 * The queue as pages fetched on demand (`queue` {offset, limit}): only the rows near the viewport are
 * ever loaded, so 100 000 rows cost a few pages. Pages already shown stay visible while they are
 * refetched after a change (stale-while-revalidate), so the list never blanks.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { QueueItem } from '../../../shared/rpc';
import { errorMessage, useApi, useChangedEvents, useEngineEvents } from '../api';
import type { QueueQuery } from '../queue';

export const PAGE_SIZE = 100;

export interface QueuePages {
  total: number | null;
  /** Row at a queue offset, or undefined while its page loads. */
  item(index: number): QueueItem | undefined;
  /** Loads the pages covering [from, to]. */
  ensure(from: number, to: number): void;
  /** A page of rows around an index (for Review's initial snapshot). */
  pageAround(index: number): { offset: number; items: QueueItem[] } | null;
  error: string | null;
  /** Bumps when rows arrive (for re-rendering). */
  version: number;
}

export function useQueuePages(query: QueueQuery): QueuePages {
  const api = useApi();
  const pages = useRef(new Map<number, QueueItem[]>());
  const stale = useRef(new Set<number>());
  const loading = useRef(new Set<number>());
  const generation = useRef(0);
  const lastRange = useRef<[number, number]>([0, PAGE_SIZE]);
  const [total, setTotal] = useState<number | null>(null);
  const [version, setVersion] = useState(0);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(
    (page: number) => {
      if (loading.current.has(page)) return;
      loading.current.add(page);
      const gen = generation.current;
      api
        .call('queue', { filter: query.filter, sort: query.sort, offset: page * PAGE_SIZE, limit: PAGE_SIZE })
        .then((r) => {
          if (gen !== generation.current) return;
          pages.current.set(page, r.items);
          stale.current.delete(page);
          setTotal(r.total);
          setError(null);
          setVersion((v) => v + 1);
        })
        .catch((err: unknown) => {
          if (gen === generation.current) setError(errorMessage(err));
        })
        .finally(() => {
          if (gen === generation.current) loading.current.delete(page);
        });
    },
    [api, query],
  );

  const ensure = useCallback(
    (from: number, to: number) => {
      lastRange.current = [from, to];
      const first = Math.max(0, Math.floor(from / PAGE_SIZE));
      const last = Math.max(first, Math.floor(Math.max(from, to) / PAGE_SIZE));
      for (let p = first; p <= last; p++) if (!pages.current.has(p) || stale.current.has(p)) load(p);
    },
    [load],
  );

  // a new query: forget everything and load the first page
  useEffect(() => {
    generation.current++;
    pages.current = new Map();
    stale.current = new Set();
    loading.current = new Set();
    setTotal(null);
    setVersion((v) => v + 1);
    load(0);
  }, [load]);

  const revalidate = useCallback(() => {
    generation.current++;
    loading.current = new Set();
    for (const p of pages.current.keys()) stale.current.add(p);
    const [from, to] = lastRange.current;
    ensure(from, to);
    if (!pages.current.size) load(0);
  }, [ensure, load]);

  // also after a reconnection (all: what changed meanwhile sent no event)
  useChangedEvents(revalidate, 400);
  // the rows' synced markers follow the outbox: a refresh at most every 1.5 s while sync moves
  const syncKey = useRef('');
  const syncTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(
    () => () => {
      if (syncTimer.current) clearTimeout(syncTimer.current);
    },
    [],
  );
  useEngineEvents((events) => {
    const last = events.filter((e) => e.type === 'sync').at(-1);
    if (!last || last.type !== 'sync') return;
    const key = `${last.status.pending}:${last.status.failed}`;
    if (key === syncKey.current) return;
    syncKey.current = key;
    syncTimer.current ??= setTimeout(() => {
      syncTimer.current = null;
      revalidate();
    }, 1500);
  });

  const item = useCallback((index: number) => pages.current.get(Math.floor(index / PAGE_SIZE))?.[index % PAGE_SIZE], []);
  const pageAround = useCallback((index: number) => {
    const p = Math.floor(index / PAGE_SIZE);
    const items = pages.current.get(p);
    return items ? { offset: p * PAGE_SIZE, items } : null;
  }, []);

  return { total, item, ensure, pageAround, error, version };
}
