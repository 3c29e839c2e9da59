/**
 * The box list beside the photo: every box of the photo (above the confidence threshold) with its label
 * and score, highest score first, and a checkbox for "verified" (an edit, like `v`). Hovering a row
 * highlights its box on the photo and the other way round; clicking a row selects its box. Above it,
 * each label with its count and two switches: hide (its boxes are not drawn) and lock (its boxes cannot
 * be selected, moved or deleted). Hide and lock are view state, kept for the session (sessionStorage).
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { ReviewDetection } from '../../../shared/rpc';
import { labelColor } from './geometry';

const HIDDEN_KEY = 'kliq.review.hiddenLabels';
const LOCKED_KEY = 'kliq.review.lockedLabels';

export interface LabelView {
  hidden: ReadonlySet<string>;
  locked: ReadonlySet<string>;
  toggleHidden(label: string): void;
  toggleLocked(label: string): void;
}

function useSessionSet(key: string): [ReadonlySet<string>, (label: string) => void] {
  const [set, setSet] = useState<ReadonlySet<string>>(() => {
    try {
      return new Set(JSON.parse(sessionStorage.getItem(key) ?? '[]') as string[]);
    } catch {
      return new Set();
    }
  });
  const toggle = useCallback(
    (label: string) =>
      setSet((prev) => {
        const next = new Set(prev);
        if (!next.delete(label)) next.add(label);
        sessionStorage.setItem(key, JSON.stringify([...next]));
        return next;
      }),
    [key],
  );
  return [set, toggle];
}

/** Hidden and locked labels, the same on every photo until the session ends. */
export function useLabelView(): LabelView {
  const [hidden, toggleHidden] = useSessionSet(HIDDEN_KEY);
  const [locked, toggleLocked] = useSessionSet(LOCKED_KEY);
  return { hidden, locked, toggleHidden, toggleLocked };
}

interface Props {
  detections: readonly ReviewDetection[];
  selectedId: number | null;
  hoveredId: number | null;
  view: LabelView;
  onHover(id: number | null): void;
  onSelect(id: number): void;
  onVerify(id: number, verified: boolean): void;
}

export function BoxList({ detections, selectedId, hoveredId, view, onHover, onSelect, onVerify }: Props) {
  const list = useRef<HTMLUListElement>(null);
  const pointerInside = useRef(false);
  const rows = [...detections].sort((a, b) => b.confidence - a.confidence || a.id - b.id);
  const counts = new Map<string, number>();
  for (const d of detections) counts.set(d.objectName, (counts.get(d.objectName) ?? 0) + 1);
  const labels = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));

  // the row of the box selected, or hovered on the photo, comes into view (not while the pointer is in the list)
  useEffect(() => {
    const id = hoveredId ?? selectedId;
    if (id === null || pointerInside.current) return;
    list.current?.querySelector(`[data-id="${id}"]`)?.scrollIntoView({ block: 'nearest' });
  }, [hoveredId, selectedId]);

  return (
    <aside className="box-list" data-testid="box-list" aria-label="Boxes of the photo">
      <ul className="label-switches">
        {labels.map(([label, n]) => {
          const hidden = view.hidden.has(label);
          const locked = view.locked.has(label);
          return (
            <li key={label} data-testid="label-row" data-label={label} className={hidden ? 'is-hidden' : undefined}>
              <span className="swatch" style={{ background: labelColor(label) }} />
              <span className="label-name" title={label}>
                {label}
              </span>
              <span className="muted">{n}</span>
              <button
                type="button"
                className="switch"
                data-testid="label-hide"
                aria-pressed={hidden}
                title={hidden ? `Show the ${label} boxes` : `Hide the ${label} boxes`}
                onClick={() => view.toggleHidden(label)}
              >
                {hidden ? 'Show' : 'Hide'}
              </button>
              <button
                type="button"
                className="switch"
                data-testid="label-lock"
                aria-pressed={locked}
                title={locked ? `Unlock the ${label} boxes` : `Lock the ${label} boxes: they cannot be selected, moved or deleted`}
                onClick={() => view.toggleLocked(label)}
              >
                {locked ? 'Unlock' : 'Lock'}
              </button>
            </li>
          );
        })}
      </ul>
      <ul
        ref={list}
        className="box-rows"
        onPointerEnter={() => (pointerInside.current = true)}
        onPointerLeave={() => {
          pointerInside.current = false;
          onHover(null);
        }}
      >
        {rows.map((d) => {
          const hidden = view.hidden.has(d.objectName);
          const locked = view.locked.has(d.objectName);
          const cls = ['box-row', d.id === selectedId && 'is-selected', d.id === hoveredId && 'is-hovered', (hidden || locked) && 'is-off']
            .filter(Boolean)
            .join(' ');
          return (
            <li
              key={d.id}
              className={cls}
              data-testid="box-row"
              data-id={d.id}
              data-label={d.objectName}
              data-score={d.confidence}
              data-selected={d.id === selectedId ? 'true' : 'false'}
              data-hovered={d.id === hoveredId ? 'true' : 'false'}
              title={hidden ? 'Hidden: show its label to select it' : locked ? 'Locked: unlock its label to select it' : undefined}
              onPointerEnter={() => onHover(d.id)}
              onClick={() => !hidden && !locked && onSelect(d.id)}
            >
              <input
                type="checkbox"
                data-testid="box-verified"
                checked={d.verified}
                title="Verified (v)"
                aria-label={`${d.objectName} verified`}
                onClick={(e) => e.stopPropagation()}
                onChange={(e) => onVerify(d.id, e.currentTarget.checked)}
              />
              <span className="swatch" style={{ background: labelColor(d.objectName) }} />
              <span className="label-name">{d.objectName}</span>
              <span className="score">{d.source === 'user' ? 'drawn' : d.confidence.toFixed(2)}</span>
            </li>
          );
        })}
      </ul>
    </aside>
  );
}
