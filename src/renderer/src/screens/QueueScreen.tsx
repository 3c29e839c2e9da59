/**
 * The review queue: filters and counts on top, then a virtualized list that fetches pages on demand,
 * so 100 000 rows scroll smoothly. ↑/↓, PageUp/PageDown, Home/End move; Enter or a click opens Review;
 * v (or the List/Grid toggle, remembered) shows the same queue as a grid of thumbnails (./QueueGrid.tsx).
 * Rows are chosen for bulk actions with their box, Ctrl/Cmd+click, Shift+click (a range), Space, and
 * Ctrl+A (every photo of the filter); Esc lets go. `/` searches by file name, `g` goes to photo N.
 */
import { useEffect, useRef, type KeyboardEvent } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import type { QueueItem } from '../../../shared/rpc';
import { useQueuePages } from '../hooks/useQueuePages';
import { useQueueSelection } from '../hooks/useQueueSelection';
import { cleanFilter, countOf, formatConfidence, type QueueQuery } from '../queue';
import { JumpTo } from '../components/JumpTo';
import { BulkBar } from './BulkBar';
import { QueueSearch } from './QueueSearch';

const SYNC_TITLE = {
  synced: 'On the KLIQ API (photo, result and labels)',
  pending: 'Waiting to be sent to the KLIQ API',
  failed: 'Sync failed: see the Sync screen',
} as const;
import type { ReviewStart } from '../review/ReviewScreen';
import { QueueFilters, useQueueCounts } from './QueueFilters';
import { QueueGrid, useQueueView, ViewToggle } from './QueueGrid';

const ROW_HEIGHT = 30;

interface Props {
  query: QueueQuery;
  onQuery(q: QueueQuery): void;
  cursor: number;
  onCursor(i: number): void;
  onOpen(start: ReviewStart): void;
}

export function QueueScreen({ query, onQuery, cursor, onCursor, onOpen }: Props) {
  const pages = useQueuePages(query);
  const { counts, error: countsError } = useQueueCounts(query.filter);
  const list = useRef<HTMLDivElement>(null);
  const [view, setView] = useQueueView();
  const toggleView = () => setView(view === 'list' ? 'grid' : 'list');
  const total = pages.total ?? 0;
  const active = Math.min(cursor, Math.max(0, total - 1));
  const selection = useQueueSelection(query, total, pages);

  const virtualizer = useVirtualizer({
    count: total,
    getScrollElement: () => list.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 20,
  });
  const rows = virtualizer.getVirtualItems();
  const first = rows[0]?.index ?? 0;
  const last = rows[rows.length - 1]?.index ?? 0;
  useEffect(() => {
    if (total && view === 'list') pages.ensure(first, last);
  }, [first, last, total, pages.ensure, view]);

  useEffect(() => {
    list.current?.focus({ preventScroll: true });
  }, [view]);
  useEffect(() => {
    if (total) virtualizer.scrollToIndex(active, { align: 'auto' });
    // scroll only when the cursor moves, rows arrive or the list is shown again
  }, [active, total, virtualizer, view]);

  const open = (index: number) => {
    const it = pages.item(index);
    if (!it) return;
    onCursor(index);
    const page = pages.pageAround(index);
    onOpen({ index, observationId: it.observationId, seed: page ? { ...page, total } : undefined });
  };

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const perPage = Math.max(1, Math.floor((list.current?.clientHeight ?? 300) / ROW_HEIGHT) - 1);
    const moves: Record<string, number> = { ArrowDown: 1, ArrowUp: -1, PageDown: perPage, PageUp: -perPage, j: 1, k: -1 };
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
      open(active);
    } else if (e.key === 'v' && !e.ctrlKey && !e.altKey && !e.metaKey) {
      e.preventDefault();
      toggleView();
    } else if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'a') {
      e.preventDefault();
      selection.selectAll();
    } else if (e.key === ' ') {
      e.preventDefault();
      const it = pages.item(active);
      if (it) selection.click(active, it.observationId, e.shiftKey);
    } else if (e.key === 'Escape' && selection.count) {
      e.preventDefault();
      selection.clear();
    }
  };
  const onRowClick = (index: number, e: MouseEvent) => {
    const it = pages.item(index);
    if (!it) return;
    if (e.shiftKey || e.ctrlKey || e.metaKey) {
      onCursor(index);
      selection.click(index, it.observationId, e.shiftKey);
    } else open(index);
  };

  return (
    <div className="queue" data-testid="queue-screen">
      <QueueFilters
        query={query}
        onChange={(q) => {
          onCursor(0);
          onQuery(q);
        }}
        counts={counts}
      />
      <div className="queue-tools">
        <QueueSearch
          value={query.filter.name ?? ''}
          onChange={(name) => {
            onCursor(0);
            onQuery({ ...query, filter: cleanFilter({ ...query.filter, name }) });
          }}
          onLeave={() => list.current?.focus({ preventScroll: true })}
        />
        <JumpTo
          total={pages.total}
          onJump={(n) => {
            onCursor(n - 1);
            list.current?.focus({ preventScroll: true });
          }}
        />
        <BulkBar query={query} selection={selection} />
      </div>
      {(pages.error || countsError) && <p className="error-text">{pages.error ?? countsError}</p>}
      <div className="queue-viewbar">
        <ViewToggle view={view} onView={setView} />
        {view === 'grid' && (
          <span className="c-total" data-testid="queue-total">
            {pages.total === null ? '…' : countOf(pages.total, 'photo')}
          </span>
        )}
      </div>
      {view === 'grid' && <QueueGrid pages={pages} active={active} onCursor={onCursor} onOpen={open} onToggle={toggleView} />}
      {/* in the grid view the list is hidden, not unmounted; shown again, it scrolls to the cursor */}
      <div className="queue-head" role="row" hidden={view !== 'list'}>
        <span className="c-check">
          <CheckBox
            checked={selection.all}
            label="Select every photo of the filter (Ctrl+A)"
            testId="select-all"
            onClick={() => (selection.all ? selection.clear() : selection.selectAll())}
          />
        </span>
        <span className="c-index">#</span>
        <span className="c-file">Photo</span>
        <span className="c-conf">Top conf.</span>
        <span className="c-num">Boxes</span>
        <span className="c-review">Review</span>
        <span className="c-status">Status</span>
        <span className="c-loc">Location</span>
        <span className="c-visit">Visit</span>
        <span className="c-model">Model</span>
        <span className="c-total" data-testid="queue-total">
          {pages.total === null ? '…' : countOf(pages.total, 'photo')}
        </span>
      </div>
      <div
        ref={list}
        className="queue-list"
        hidden={view !== 'list'}
        data-testid="queue-list"
        tabIndex={0}
        role="listbox"
        aria-label="Photos in the queue"
        aria-activedescendant={total ? `queue-row-${active}` : undefined}
        onKeyDown={onKeyDown}
      >
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {rows.map((r) => (
            <Row
              key={r.key}
              index={r.index}
              start={r.start}
              item={pages.item(r.index)}
              active={r.index === active}
              selected={!!pages.item(r.index) && selection.has(pages.item(r.index)!.observationId)}
              onClick={(e) => onRowClick(r.index, e)}
              onCheck={(e) => {
                const it = pages.item(r.index);
                if (!it) return;
                onCursor(r.index);
                selection.click(r.index, it.observationId, e.shiftKey);
              }}
            />
          ))}
        </div>
        {pages.total === 0 && <p className="empty">No photo in this queue. Import photos, or clear the filters.</p>}
      </div>
    </div>
  );
}

function Row({
  index,
  start,
  item,
  active,
  selected,
  onClick,
  onCheck,
}: {
  index: number;
  start: number;
  item: QueueItem | undefined;
  active: boolean;
  selected: boolean;
  onClick(e: MouseEvent): void;
  onCheck(e: MouseEvent): void;
}) {
  const style = { transform: `translateY(${start}px)`, height: ROW_HEIGHT };
  if (!item) {
    return (
      <div className="queue-row is-loading" style={style} id={`queue-row-${index}`} role="option" aria-selected={active}>
        <span className="c-check" />
        <span className="c-index">{index + 1}</span>
        <span className="c-file muted">…</span>
      </div>
    );
  }
  const conf = item.topConfidence;
  return (
    <div
      className={`queue-row${active ? ' is-active' : ''}${selected ? ' is-selected' : ''}`}
      style={style}
      id={`queue-row-${index}`}
      role="option"
      aria-selected={active}
      data-testid="queue-row"
      data-index={index}
      data-observation-id={item.observationId}
      data-top-confidence={conf ?? ''}
      data-selected={selected}
      // Shift+click picks a range, not text
      onMouseDown={(e) => e.shiftKey && e.preventDefault()}
      onClick={(e) => onClick(e.nativeEvent)}
      title={item.sourcePath}
    >
      <span className="c-check">
        <CheckBox checked={selected} label={`Select ${item.fileName}`} testId="row-check" onClick={onCheck} />
      </span>
      <span className="c-index">{index + 1}</span>
      <span className="c-file">
        {item.fileName}
        {item.sourceState !== 'present' && <SourceBadge state={item.sourceState} />}
        {item.sync && (
          <span className={`sync-mark sync-mark-${item.sync}`} data-testid="sync-mark" data-sync={item.sync} title={SYNC_TITLE[item.sync]}>
            {item.sync === 'synced' ? '✓' : item.sync === 'failed' ? '!' : '•'}
          </span>
        )}
      </span>
      <span className="c-conf">
        <span className="conf-bar">
          <span style={{ width: `${(conf ?? 0) * 100}%` }} />
        </span>
        {formatConfidence(conf)}
      </span>
      <span className="c-num">{item.detectionCount}</span>
      <span className="c-review">
        <span className={`badge review-${item.review}`}>{item.review}</span>
      </span>
      <span className={`c-status status-${item.status}`} title={item.error ?? undefined}>
        {item.status}
      </span>
      <span className="c-loc">{item.location ?? '—'}</span>
      <span className="c-visit">{item.visit ?? '—'}</span>
      <span className="c-model">{item.model ?? '—'}</span>
    </div>
  );
}

/** A box that chooses a row (a span: it takes no focus away from the list, and gets the click's modifiers). */
function CheckBox({ checked, label, testId, onClick }: { checked: boolean; label: string; testId: string; onClick(e: MouseEvent): void }) {
  return (
    <span
      role="checkbox"
      aria-checked={checked}
      aria-label={label}
      title={label}
      className={`check${checked ? ' is-checked' : ''}`}
      data-testid={testId}
      onMouseDown={(e) => e.preventDefault()}
      onClick={(e) => {
        e.stopPropagation();
        onClick(e.nativeEvent);
      }}
    >
      {checked ? '✓' : ''}
    </span>
  );
}

/** The photo file was deleted (results kept) or replaced by other content (another observation now). */
export function SourceBadge({ state }: { state: 'deleted' | 'changed' }) {
  return (
    <span
      className="badge source-gone"
      data-testid="source-state"
      title={
        state === 'deleted'
          ? 'The photo file was deleted; its results are kept'
          : 'The file at this path now holds another photo (audited as another observation); these results are kept'
      }
    >
      {state === 'deleted' ? 'file deleted' : 'file changed'}
    </span>
  );
}
