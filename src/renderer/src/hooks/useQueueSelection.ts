/**
 * Rows chosen in the queue for a bulk action: some photos by id (a row's box or Ctrl/Cmd+click toggles
 * one, Shift+click takes the range from the last one), or every photo of the filter (Ctrl+A), which is
 * sent as the filter: a 100 000-photo queue never sends 100 000 ids. A range is capped at
 * MAX_SELECTED_IDS photos, and says so. A new filter or sort starts with nothing chosen.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { MAX_SELECTED_IDS, type PhotoSelection } from '../../../shared/rpc';
import { errorMessage, useApi } from '../api';
import { countOf, type QueueQuery } from '../queue';
import type { QueuePages } from './useQueuePages';

export interface QueueSelection {
  /** Every photo of the filter. */
  all: boolean;
  ids: ReadonlySet<string>;
  /** Photos chosen (all: the queue's total). */
  count: number;
  /** What the last range did not take, or why it failed. */
  note: string | null;
  has(id: string): boolean;
  /** Toggles one row, or with `range` takes the rows from the last one toggled (the anchor) to it. */
  click(index: number, id: string, range: boolean): void;
  selectAll(): void;
  clear(): void;
  /** The selection as the engine takes it. */
  param(): PhotoSelection;
}

const FETCH = 500;

export function useQueueSelection(query: QueueQuery, total: number, pages: QueuePages): QueueSelection {
  const api = useApi();
  const [all, setAll] = useState(false);
  const [ids, setIds] = useState<ReadonlySet<string>>(new Set());
  const [note, setNote] = useState<string | null>(null);
  const anchor = useRef<number | null>(null);
  const generation = useRef(0);

  const clear = useCallback(() => {
    generation.current++;
    setAll(false);
    setIds(new Set());
    setNote(null);
    anchor.current = null;
  }, []);
  useEffect(clear, [query, clear]);

  /** The ids of rows from..to (inclusive): the rows on screen, the others fetched in the queue's order. */
  const rangeIds = useCallback(
    async (from: number, to: number): Promise<string[]> => {
      const out: string[] = [];
      for (let i = from; i <= to;) {
        const it = pages.item(i);
        if (it) {
          out.push(it.observationId);
          i++;
          continue;
        }
        const r = await api.call('queue', { filter: query.filter, sort: query.sort, offset: i, limit: Math.min(FETCH, to - i + 1) });
        if (!r.items.length) break;
        out.push(...r.items.map((x) => x.observationId));
        i += r.items.length;
      }
      return out;
    },
    [api, pages, query],
  );

  const click = useCallback(
    (index: number, id: string, range: boolean) => {
      setNote(null);
      if (!range || anchor.current === null) {
        anchor.current = index;
        // from "all of the filter", a click starts again with that one row
        setIds((prev) => {
          const next = new Set(all ? [] : prev);
          if (!all && prev.has(id)) next.delete(id);
          else next.add(id);
          return next;
        });
        setAll(false);
        return;
      }
      const from = Math.min(anchor.current, index);
      let to = Math.max(anchor.current, index);
      if (to - from + 1 > MAX_SELECTED_IDS) {
        to = from + MAX_SELECTED_IDS - 1;
        setNote(
          `Took the first ${countOf(MAX_SELECTED_IDS, 'photo')} of the range (the most one action sends by id): ` +
            'Ctrl+A takes every photo of the filter.',
        );
      }
      const gen = ++generation.current;
      rangeIds(from, to).then(
        (got) => {
          if (gen !== generation.current) return;
          setAll(false);
          setIds(new Set(got));
        },
        (err: unknown) => gen === generation.current && setNote(`Could not take the range: ${errorMessage(err)}`),
      );
    },
    [all, rangeIds],
  );

  const selectAll = useCallback(() => {
    generation.current++;
    setAll(true);
    setIds(new Set());
    setNote(null);
  }, []);

  const has = useCallback((id: string) => all || ids.has(id), [all, ids]);
  const param = useCallback((): PhotoSelection => (all ? { filter: query.filter } : { ids: [...ids] }), [all, ids, query]);
  return useMemo(
    () => ({ all, ids, count: all ? total : ids.size, note, has, click, selectAll, clear, param }),
    [all, ids, total, note, has, click, selectAll, clear, param],
  );
}
