/**
 * Review's filmstrip: thumbnails of the photos around the current one, in the order Review walks the
 * queue (its snapshot), the current one highlighted; a click jumps there. Only as many as fit the width
 * are in the DOM (the snapshot may hold hundreds), and each is the engine's small thumbnail (api.thumbUrl).
 */
import { useLayoutEffect, useRef, useState } from 'react';
import type { QueueItem } from '../../../shared/rpc';
import { useApi } from '../api';
import { Thumb } from '../components/Thumb';
import '../thumbs.css';

const CELL = 76; // thumbnail width + gap (thumbs.css)

export function Filmstrip({ items, pos, onPick }: { items: readonly QueueItem[]; pos: number; onPick(pos: number): void }) {
  const api = useApi();
  const strip = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  useLayoutEffect(() => {
    const el = strip.current;
    if (!el) return;
    setWidth(el.clientWidth);
    const ro = new ResizeObserver(() => setWidth(el.clientWidth));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  // the current photo in the middle, as many on each side as fit
  const side = Math.max(1, Math.floor((width / CELL - 1) / 2));
  const from = Math.max(0, pos - side);
  const to = Math.min(items.length, pos + side + 1);
  return (
    <div ref={strip} className="filmstrip" data-testid="filmstrip" role="listbox" aria-label="Photos around this one">
      {items.slice(from, to).map((it, i) => {
        const p = from + i;
        return (
          <button
            key={it.observationId}
            type="button"
            className={`filmstrip-thumb${p === pos ? ' is-current' : ''}`}
            role="option"
            aria-selected={p === pos}
            data-testid="filmstrip-thumb"
            data-observation-id={it.observationId}
            data-review={it.review}
            title={`${it.fileName} (${it.review})`}
            tabIndex={-1}
            onClick={() => p !== pos && onPick(p)}
          >
            <Thumb src={api.thumbUrl(it.observationId)} alt={it.fileName} />
          </button>
        );
      })}
    </div>
  );
}
