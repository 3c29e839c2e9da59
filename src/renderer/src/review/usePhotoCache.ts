/**
 * Photo details (`photo`) and pixels, fetched ahead: Review prefetches the next and previous photos so
 * moving on shows them at once. Entries are dropped when the engine says a photo changed.
 */
import { useCallback, useMemo, useRef } from 'react';
import type { PhotoDetail } from '../../../shared/rpc';
import { useApi, useChangedEvents } from '../api';
import { VIEW_LONG_SIDE } from './PhotoCanvas';

const MAX_ENTRIES = 24;
/** Views decoded ahead and kept (the next ones and the previous one). */
const MAX_IMAGES = 6;

export function usePhotoCache() {
  const api = useApi();
  const details = useRef(new Map<string, Promise<PhotoDetail>>());
  /** Details that have arrived, for showing a prefetched photo in the same frame. */
  const ready = useRef(new Map<string, PhotoDetail>());
  const images = useRef(new Map<string, HTMLImageElement>());

  const get = useCallback(
    (id: string, fresh = false): Promise<PhotoDetail> => {
      const m = details.current;
      let p = fresh ? undefined : m.get(id);
      if (!p) {
        const q = api.call('photo', { observationId: id });
        p = q;
        ready.current.delete(id);
        q.then(
          (d) => {
            if (m.get(id) === q) ready.current.set(id, d);
          },
          () => {
            if (m.get(id) === q) m.delete(id);
          },
        );
      }
      m.delete(id); // re-insert: most recently used last
      m.set(id, p);
      while (m.size > MAX_ENTRIES) {
        const old = m.keys().next().value!;
        m.delete(old);
        ready.current.delete(old);
      }
      return p;
    },
    [api],
  );

  /**
   * Starts loading a photo's detail and its view, and decodes the view ahead (img.decode(), off the main
   * thread): the next photo paints without a decode in the keypress's frame. A few are kept; the ones
   * dropped let go of their pixels (src emptied), so memory stays flat however many photos are viewed.
   */
  const prefetch = useCallback(
    (item: { observationId: string; width: number | null; height: number | null }) => {
      const id = item.observationId;
      void get(id).catch(() => undefined);
      const imgs = images.current;
      if (!imgs.has(id)) {
        const img = new Image();
        img.decoding = 'async';
        // what Review shows at fit (PhotoCanvas): the view of a large photo, a small one itself
        img.src = Math.max(item.width ?? Infinity, item.height ?? Infinity) > VIEW_LONG_SIDE ? api.viewUrl(id) : api.photoUrl(id);
        img.decode().catch(() => undefined);
        imgs.set(id, img);
        while (imgs.size > MAX_IMAGES) {
          const old = imgs.keys().next().value!;
          imgs.get(old)!.src = '';
          imgs.delete(old);
        }
      }
    },
    [api, get],
  );

  const invalidate = useCallback((id: string) => {
    details.current.delete(id);
    ready.current.delete(id);
  }, []);

  /** The detail if it has already arrived (and is not stale). */
  const peek = useCallback((id: string): PhotoDetail | undefined => ready.current.get(id), []);

  useChangedEvents((ids) => {
    for (const id of ids) invalidate(id);
  }, 50);

  return useMemo(() => ({ get, peek, prefetch, invalidate }), [get, peek, prefetch, invalidate]);
}
