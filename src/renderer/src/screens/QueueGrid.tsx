/**
 * The queue as a grid of thumbnails, beside the list (QueueScreen): the same pages (useQueuePages), the
 * same cursor and the same Enter/click to open Review. Virtualized by rows of fixed-size cells, so only
 * the rows near the viewport are in the DOM and scrolling never lays anything out again; thumbnails are
 * the engine's (api.thumbUrl: 256 px JPEGs, made once), loaded lazily and decoded off the main thread.
 * ←/→ move by one, ↑/↓ by a row, PageUp/PageDown by a screen, Home/End, Enter opens, v back to the list.
 */
import { memo, useCallback, useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import type { QueueItem } from '../../../shared/rpc';
import { useApi } from '../api';
import type { QueuePages } from '../hooks/useQueuePages';
import { countOf } from '../queue';
import { Thumb } from '../components/Thumb';
import '../thumbs.css';

export const CELL_WIDTH = 184;
export const CELL_HEIGHT = 176;
const GRID_PADDING = 8;

export type QueueView = 'list' | 'grid';
const VIEW_KEY = 'kliq.queue.view';

/** List or grid, remembered across sessions. */
export function useQueueView(): [QueueView, (v: QueueView) => void] {
  const [view, setView] = useState<QueueView>(() => (localStorage.getItem(VIEW_KEY) === 'grid' ? 'grid' : 'list'));
  const set = useCallback((v: QueueView) => {
    localStorage.setItem(VIEW_KEY, v);
    setView(v);
  }, []);
  return [view, set];
}

export function ViewToggle({ view, onView }: { view: QueueView; onView(v: QueueView): void }) {
  return (
    <span className="view-toggle" role="group" aria-label="Queue view">
      {(['list', 'grid'] as const).map((v) => (
        <button
          key={v}
          type="button"
          className={view === v ? 'is-active' : ''}
          aria-pressed={view === v}
          data-testid={`view-${v}`}
          title={`${v === 'list' ? 'List' : 'Grid of thumbnails'} (g toggles)`}
          onClick={() => onView(v)}
        >
          {v === 'list' ? 'List' : 'Grid'}
        </button>
      ))}
    </span>
  );
}

interface Props {
  pages: QueuePages;
  active: number;
  onCursor(i: number): void;
  onOpen(index: number): void;
  onToggle(): void;
}

export function QueueGrid({ pages, active, onCursor, onOpen, onToggle }: Props) {
  const api = useApi();
  const scroller = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  const total = pages.total ?? 0;
  const columns = Math.max(1, Math.floor((width - 2 * GRID_PADDING) / CELL_WIDTH));

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    setWidth(el.clientWidth);
    const ro = new ResizeObserver(() => setWidth(el.clientWidth));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // the rows' click handler keeps its identity (GridRow is memoized) and calls the latest onOpen
  const openRef = useRef(onOpen);
  openRef.current = onOpen;
  const openIndex = useCallback((index: number) => openRef.current(index), []);

  const virtualizer = useVirtualizer({
    count: Math.ceil(total / columns),
    getScrollElement: () => scroller.current,
    estimateSize: () => CELL_HEIGHT,
    paddingStart: GRID_PADDING,
    overscan: 3,
    // rendered with the next frame, not inside the scroll event: scrolling stays fluid while rows mount
    useFlushSync: false,
  });
  const rows = virtualizer.getVirtualItems();
  const first = (rows[0]?.index ?? 0) * columns;
  const last = ((rows[rows.length - 1]?.index ?? 0) + 1) * columns - 1;
  useEffect(() => {
    if (total) pages.ensure(first, Math.min(last, total - 1));
  }, [first, last, total, pages.ensure]);

  useEffect(() => {
    scroller.current?.focus({ preventScroll: true });
  }, []);
  useEffect(() => {
    if (total) virtualizer.scrollToIndex(Math.floor(active / columns), { align: 'auto' });
  }, [active, columns, total, virtualizer]);

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (e.ctrlKey || e.altKey || e.metaKey) return;
    const perScreen = columns * Math.max(1, Math.floor((scroller.current?.clientHeight ?? CELL_HEIGHT) / CELL_HEIGHT));
    const moves: Record<string, number> = {
      ArrowRight: 1,
      ArrowLeft: -1,
      ArrowDown: columns,
      ArrowUp: -columns,
      PageDown: perScreen,
      PageUp: -perScreen,
    };
    if (e.key in moves) {
      e.preventDefault();
      onCursor(Math.min(total - 1, Math.max(0, active + moves[e.key])));
    } else if (e.key === 'Home') {
      e.preventDefault();
      onCursor(0);
    } else if (e.key === 'End') {
      e.preventDefault();
      onCursor(Math.max(0, total - 1));
    } else if (e.key === 'Enter') {
      e.preventDefault();
      onOpen(active);
    } else if (e.key === 'v' && !e.ctrlKey && !e.altKey && !e.metaKey) {
      e.preventDefault();
      onToggle();
    }
  };

  return (
    <div
      ref={scroller}
      className="queue-grid"
      data-testid="queue-grid"
      data-columns={columns}
      tabIndex={0}
      role="listbox"
      aria-label="Photos in the queue"
      aria-activedescendant={total ? `queue-cell-${active}` : undefined}
      onKeyDown={onKeyDown}
    >
      <div style={{ height: virtualizer.getTotalSize() + GRID_PADDING, position: 'relative' }}>
        {rows.map((r) => {
          const from = r.index * columns;
          return (
            <GridRow
              key={r.key}
              start={r.start}
              from={from}
              columns={columns}
              count={Math.min(columns, total - from)}
              activeColumn={active >= from && active < from + columns ? active - from : -1}
              itemAt={pages.item}
              version={pages.version}
              thumbUrl={api.thumbUrl}
              onOpen={openIndex}
            />
          );
        })}
      </div>
      {pages.total === 0 && <p className="empty">No photo in this queue. Import photos, or clear the filters.</p>}
    </div>
  );
}

interface RowProps {
  start: number;
  /** Queue index of the row's first cell. */
  from: number;
  columns: number;
  count: number;
  /** The cursor's column in this row, or -1. */
  activeColumn: number;
  itemAt: QueuePages['item'];
  /** Bumps when rows arrive: the row renders again only then (or when it moves, or the cursor enters or leaves it). */
  version: number;
  thumbUrl(observationId: string): string;
  onOpen(index: number): void;
}

/** A row of cells; memoized, so a scroll frame that shows the same rows renders none of them again. */
const GridRow = memo(function GridRow({ start, from, columns, count, activeColumn, itemAt, thumbUrl, onOpen }: RowProps) {
  return (
    <div className="grid-row" style={{ transform: `translateY(${start}px)`, gridTemplateColumns: `repeat(${columns}, ${CELL_WIDTH}px)` }}>
      {Array.from({ length: count }, (_, c) => (
        <Cell
          key={from + c}
          index={from + c}
          item={itemAt(from + c)}
          thumbUrl={thumbUrl}
          active={c === activeColumn}
          onClick={() => onOpen(from + c)}
        />
      ))}
    </div>
  );
});

function Cell({
  index,
  item,
  thumbUrl,
  active,
  onClick,
}: {
  index: number;
  item: QueueItem | undefined;
  thumbUrl(observationId: string): string;
  active: boolean;
  onClick(): void;
}) {
  if (!item) {
    return (
      <div className="grid-cell is-loading" id={`queue-cell-${index}`} role="option" aria-selected={active}>
        <div className="grid-thumb" />
      </div>
    );
  }
  return (
    <div
      className={`grid-cell${active ? ' is-active' : ''}`}
      id={`queue-cell-${index}`}
      role="option"
      aria-selected={active}
      data-testid="grid-cell"
      data-index={index}
      data-observation-id={item.observationId}
      title={item.sourcePath}
      onClick={onClick}
    >
      <div className="grid-thumb">
        {/* keyed by photo: a recycled cell never shows the previous photo's pixels */}
        <Thumb key={item.observationId} src={thumbUrl(item.observationId)} alt={item.fileName} />
      </div>
      <div className="grid-name">{item.fileName}</div>
      <div className="grid-meta">
        <span className={`badge review-${item.review}`}>{item.review}</span>
        <span className="grid-boxes" data-testid="grid-boxes">
          {countOf(item.detectionCount, 'box', 'boxes')}
        </span>
        {item.sourceState !== 'present' && (
          <span className="badge source-gone" data-testid="source-state">
            {item.sourceState === 'deleted' ? 'file deleted' : 'file changed'}
          </span>
        )}
        {item.status === 'failed' && <span className="status-failed">failed</span>}
      </div>
    </div>
  );
}
