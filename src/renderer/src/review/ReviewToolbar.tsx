/** Review's toolbar (photo, review, box and view commands) and its label bar (the 1–9 labels). */
import type { ReactNode } from 'react';
import { labelColor } from './geometry';
import { SaveIndicator } from './SaveIndicator';
import type { SaveState } from './useEdits';
import type { ReviewKeyActions } from './useReviewKeys';

interface ToolbarProps {
  actions: ReviewKeyActions;
  position: string;
  drawing: boolean;
  canDelete: boolean;
  canUndo: boolean;
  canRedo: boolean;
  threshold: number;
  onThreshold(v: number): void;
  save: SaveState;
}

export function ReviewToolbar({ actions: a, position, drawing, canDelete, canUndo, canRedo, threshold, onThreshold, save }: ToolbarProps) {
  return (
    <div className="toolbar" role="toolbar" aria-label="Review tools">
      <div className="tool-group">
        <ToolButton label="Previous photo (a)" onClick={a.previous} testId="prev-photo">
          ‹
        </ToolButton>
        <span className="position" data-testid="review-position">
          {position}
        </span>
        <ToolButton label="Next photo (d)" onClick={a.next} testId="next-photo">
          ›
        </ToolButton>
      </div>
      <div className="tool-group">
        <ToolButton label="Accept (Space)" className="primary" onClick={a.accept} testId="accept">
          Accept
        </ToolButton>
        <ToolButton label="Flag (x)" onClick={a.flag} testId="flag">
          Flag
        </ToolButton>
      </div>
      <div className="tool-group">
        <ToolButton label="Draw a box (w)" pressed={drawing} onClick={drawing ? a.escape : a.draw} testId="draw">
          Draw
        </ToolButton>
        <ToolButton label="Delete the box (Delete)" disabled={!canDelete} onClick={a.remove} testId="delete-box">
          Delete
        </ToolButton>
        <ToolButton label="Undo (Ctrl+Z)" disabled={!canUndo} onClick={a.undo} testId="undo">
          Undo
        </ToolButton>
        <ToolButton label="Redo (Ctrl+Shift+Z)" disabled={!canRedo} onClick={a.redo} testId="redo">
          Redo
        </ToolButton>
      </div>
      <div className="tool-group">
        <ToolButton label="Zoom to fit (f)" onClick={a.fit} testId="zoom-fit">
          Fit
        </ToolButton>
        <ToolButton label="Zoom to 100 % (0)" onClick={a.actualSize} testId="zoom-100">
          1:1
        </ToolButton>
      </div>
      <label className="tool-group threshold" title="Hide boxes below this confidence">
        <span>Conf ≥ {threshold.toFixed(2)}</span>
        <input
          type="range"
          min={0}
          max={1}
          step={0.01}
          value={threshold}
          data-testid="conf-slider"
          onChange={(e) => onThreshold(Number(e.target.value))}
          onKeyDown={(e) => e.key === 'Escape' && e.currentTarget.blur()}
        />
      </label>
      <div className="tool-spacer" />
      <SaveIndicator save={save} />
      <ToolButton label="Keyboard shortcuts (?)" onClick={a.help} testId="help">
        ?
      </ToolButton>
    </div>
  );
}

interface LabelBarProps {
  /** The selected box's label, or null when no box is selected. */
  boxLabel: string | null;
  drawLabel: string | null;
  /** The labels behind keys 1–9, and whose set they are. */
  keys: string[];
  keysScope: 'location' | 'default';
  onEditKeys(): void;
  shown: number;
  total: number;
  onAssign(label: string): void;
  onPicker(): void;
}

export function LabelBar({ boxLabel, drawLabel, keys, keysScope, onEditKeys, shown, total, onAssign, onPicker }: LabelBarProps) {
  const current = boxLabel ?? drawLabel;
  return (
    <div className="label-bar" role="toolbar" aria-label="Labels" data-testid="label-bar">
      <button
        type="button"
        className="draw-label"
        data-testid="draw-label"
        title="Pick a label from the catalog (l)"
        onMouseDown={(e) => e.preventDefault()}
        onClick={onPicker}
      >
        {boxLabel !== null ? 'Box: ' : 'New boxes: '}
        <b>{current ?? '—'}</b>
      </button>
      {keys.map((label, i) => (
        <button
          key={label}
          type="button"
          className={`label-key${current === label ? ' is-current' : ''}`}
          data-testid="label-key"
          data-label={label}
          onMouseDown={(e) => e.preventDefault()}
          onClick={() => onAssign(label)}
          title={`${label} (key ${i + 1})`}
        >
          <kbd>{i + 1}</kbd>
          <span className="swatch" style={{ background: labelColor(label) }} />
          {label}
        </button>
      ))}
      <button
        type="button"
        className="tool edit-keys"
        data-testid="edit-label-keys"
        title={`Change the labels behind 1–9 (${keysScope === 'location' ? "this location's set" : 'the default set'})`}
        onMouseDown={(e) => e.preventDefault()}
        onClick={onEditKeys}
      >
        {keysScope === 'location' ? 'Keys: location' : 'Keys: default'} ✎
      </button>
      <span className="tool-spacer" />
      <span className="muted small">
        {shown}/{total} boxes shown
      </span>
    </div>
  );
}

function ToolButton(props: {
  label: string;
  onClick(): void;
  children: ReactNode;
  testId?: string;
  disabled?: boolean;
  pressed?: boolean;
  className?: string;
}) {
  return (
    <button
      type="button"
      className={`tool ${props.className ?? ''}`}
      title={props.label}
      aria-label={props.label}
      aria-pressed={props.pressed}
      disabled={props.disabled}
      data-testid={props.testId}
      // a click keeps the keyboard where it was (Space must accept, not press this button again)
      onMouseDown={(e) => e.preventDefault()}
      onClick={props.onClick}
    >
      {props.children}
    </button>
  );
}
