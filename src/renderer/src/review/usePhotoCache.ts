/**
 * Photo details (`photo`) and pixels, fetched ahead: Review prefetches the next and previous photos so
 * moving on shows them at once. Entries are dropped when the engine says a photo changed.
 */
import { useCallback, useEffect, useMemo, useRef } from 'react';
import type { PhotoDetail } from '../../../shared/rpc';
import { useApi, useChangedEvents } from '../api';
import { SMALL_VIEW_LONG_SIDE, VIEW_LONG_SIDE } from './PhotoCanvas';
import { decodeScaled, type DecodeReply, type DecodeRequest } from './decode';

const MAX_ENTRIES = 24;
/** Photos after the current one whose detail and pixels Review fetches ahead. */
export const PREFETCH_AHEAD = 4;
/** Photos decoded ahead and kept: the current one, the ones ahead and the previous one. */
const MAX_BITMAPS = PREFETCH_AHEAD + 2;

interface Bitmap {
  bitmap: ImageBitmap | null;
  closed: boolean;
  /** Settles once the decode is done (with or without a bitmap). */
  settled: Promise<void>;
  done: boolean;
}

function release(e: Bitmap) {
  e.closed = true;
  e.done = true;
  e.bitmap?.close();
  e.bitmap = null;
}

/**
 * The worker that decodes and scales (./decode-worker.ts), started on first use; null where it cannot
 * run (then the page decodes itself). A worker is retired after WORKER_DECODES photos and a fresh one
 * started: the Blobs it fetched hold their bytes in the browser process until the worker's garbage
 * collection, which a worker that allocates little seldom runs (the browser process went 144 → 285 MB
 * over 200 photos); ending the worker frees them.
 */
interface Decoder {
  worker: Worker;
  asked: number;
  waiting: Map<number, (b: ImageBitmap | null) => void>;
}
const WORKER_DECODES = 24;
let decoder: Decoder | null | undefined;
let nextRequest = 1;

function startDecoder(): Decoder | null {
  try {
    const worker = new Worker(new URL('./decode-worker.ts', import.meta.url), { type: 'module', name: 'kliq-decode' });
    const d: Decoder = { worker, asked: 0, waiting: new Map() };
    worker.onmessage = (e: MessageEvent<DecodeReply>) => {
      const done = d.waiting.get(e.data.id);
      d.waiting.delete(e.data.id);
      if (done) done(e.data.bitmap);
      else e.data.bitmap?.close();
      // retired and done: ended, with what it held
      if (decoder !== d && d.waiting.size === 0) worker.terminate();
    };
    // a worker that cannot load or fails: what it was asked for is shown without it (an <img>), and
    // the page decodes from then on
    worker.onerror = () => {
      for (const done of d.waiting.values()) done(null);
      d.waiting.clear();
      worker.terminate();
      if (decoder === d) decoder = null;
    };
    return d;
  } catch {
    return null;
  }
}

function decodeInWorker(req: Omit<DecodeRequest, 'id'>): Promise<ImageBitmap | null> | null {
  if (decoder === undefined || (decoder && decoder.asked >= WORKER_DECODES)) {
    const old = decoder;
    decoder = startDecoder();
    if (old && old.waiting.size === 0) old.worker.terminate();
  }
  const d = decoder;
  if (!d) return null;
  d.asked++;
  const id = nextRequest++;
  return new Promise((resolve) => {
    d.waiting.set(id, resolve);
    d.worker.postMessage({ id, ...req } satisfies DecodeRequest);
  });
}

/** The CSS pixels Review shows a photo in at fit (PhotoCanvas's viewport). */
export interface Area {
  width: number;
  height: number;
}

/**
 * What Review shows at fit (a large photo's small view or view, a small photo itself), decoded and scaled to fit
 * the photo's area in device pixels (the window while the area is not known yet), in the decode worker
 * (on the page where it cannot run); null when it cannot be (no size known, the host refused the file,
 * or the host cannot be fetched from: then Review loads the photo in an <img> as before).
 *
 * The area, not the window: the box list and the side panel take a third of the window's width, and the
 * toolbars some of its height, so fitting the window decoded, scaled and handed to the compositor about
 * 1.7 times the pixels shown (1200 × 900 for 929 × 697 shown, in a 1440 × 900 window). A bitmap too small
 * for the area once the window grows is not shown (PhotoCanvas loads the view instead).
 */
async function decodeFit(
  item: { observationId: string; width: number | null; height: number | null },
  api: { photoUrl(id: string): string; viewUrl(id: string): string; smallViewUrl(id: string): string },
  area: () => Area | null,
): Promise<ImageBitmap | null> {
  const { width, height } = item;
  if (!width || !height) return null;
  const dpr = window.devicePixelRatio || 1;
  // started once the frame after the move is on screen: a decode started with it (the worker's thread
  // runs at the page's priority) slowed that frame when the auditor pauses between photos (keypress →
  // painted p95 35–41 ms decoding on the page, 48–53 ms in the worker at once, 31–33 ms after the frame;
  // pressing straight on, 66–82 ms either way). A hidden page decodes once shown again.
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(r, 0))));
  const fit = area() ?? { width: window.innerWidth, height: window.innerHeight };
  const scale = Math.min(1, (fit.width * dpr) / width, (fit.height * dpr) / height);
  // a large photo's small view where it has the pixels the area shows, else its view (engine/thumbs.ts);
  // a photo no larger than a view is fetched itself
  const id = item.observationId;
  const long = Math.max(width, height);
  const small = scale * long <= SMALL_VIEW_LONG_SIDE;
  const [url, fetchedSide] =
    long <= VIEW_LONG_SIDE
      ? [api.photoUrl(id), long]
      : small
        ? [api.smallViewUrl(id), SMALL_VIEW_LONG_SIDE]
        : [api.viewUrl(id), VIEW_LONG_SIDE];
  // the fetched image's scale
  const fetched = fetchedSide / long;
  const req = {
    url: new URL(url, location.href).href,
    width: Math.max(1, Math.round(width * scale)),
    height: Math.max(1, Math.round(height * scale)),
    quality: scale / fetched >= 0.5 ? ('low' as const) : ('medium' as const),
  };
  return decodeInWorker(req) ?? decodeScaled(req);
}

export function usePhotoCache() {
  const api = useApi();
  const details = useRef(new Map<string, Promise<PhotoDetail>>());
  /** Details that have arrived, for showing a prefetched photo in the same frame. */
  const ready = useRef(new Map<string, PhotoDetail>());
  const bitmaps = useRef(new Map<string, Bitmap>());
  /** The photo on screen: its bitmap is not dropped. */
  const shown = useRef<string | null>(null);
  /** Where Review shows the photo, once PhotoCanvas has been laid out (setArea). */
  const area = useRef<Area | null>(null);
  const getArea = useCallback(() => area.current, []);
  const setArea = useCallback((a: Area) => {
    area.current = a.width > 0 && a.height > 0 ? a : null;
  }, []);

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
   * Starts loading a photo's detail and its pixels, decoded ahead off the main thread and scaled to the
   * photo's area (decodeFit): the next photo is drawn at once, with no decode or
   * scaling in the keypress's frame. A few are kept; the ones dropped are closed (their pixels freed at
   * once, not left to the browser's image cache), so memory stays flat however many photos are viewed.
   */
  const prefetch = useCallback(
    (item: { observationId: string; width: number | null; height: number | null }) => {
      const id = item.observationId;
      void get(id).catch(() => undefined);
      const kept = bitmaps.current;
      let entry = kept.get(id);
      if (entry)
        kept.delete(id); // re-inserted: the least recently asked for is dropped first
      else {
        const e: Bitmap = { bitmap: null, closed: false, settled: Promise.resolve(), done: false };
        entry = e;
        e.settled = decodeFit(item, api, getArea).then((b) => {
          e.done = true;
          if (e.closed) b?.close();
          else e.bitmap = b;
        });
      }
      kept.set(id, entry);
      // the least recently asked for go first, never the one on screen (PhotoCanvas may hand it over later: once its size is known)
      for (const [old, e] of kept) {
        if (kept.size <= MAX_BITMAPS) break;
        if (old === shown.current) continue;
        release(e);
        kept.delete(old);
      }
    },
    [api, get, getArea],
  );

  /** The pixels of the photo now shown, if prefetched and decoded already: not dropped while it is the one shown. */
  const bitmap = useCallback((id: string): ImageBitmap | null => {
    shown.current = id;
    const e = bitmaps.current.get(id);
    return e && !e.closed ? e.bitmap : null;
  }, []);

  /** The photo's bitmap while it is being decoded ahead (settles once done); null when none is on its way. */
  const bitmapPending = useCallback((id: string): Promise<void> | null => {
    const e = bitmaps.current.get(id);
    return e && !e.done ? e.settled : null;
  }, []);

  useEffect(
    () => () => {
      for (const e of bitmaps.current.values()) release(e);
      bitmaps.current.clear();
    },
    [],
  );

  const invalidate = useCallback((id: string) => {
    details.current.delete(id);
    ready.current.delete(id);
  }, []);

  /** The detail if it has already arrived (and is not stale). */
  const peek = useCallback((id: string): PhotoDetail | undefined => ready.current.get(id), []);

  // all: the connection came back, and no detail kept is trusted
  useChangedEvents((ids, all) => {
    if (all) {
      details.current.clear();
      ready.current.clear();
    }
    for (const id of ids) invalidate(id);
  }, 50);

  return useMemo(
    () => ({ get, peek, prefetch, bitmap, bitmapPending, invalidate, setArea }),
    [get, peek, prefetch, bitmap, bitmapPending, invalidate, setArea],
  );
}
