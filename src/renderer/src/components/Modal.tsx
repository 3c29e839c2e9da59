/** A small modal dialog: closes on Escape and on a click outside; focus moves in, and back out on close. */
import { useEffect, useRef, type ReactNode } from 'react';

interface Props {
  title: string;
  onClose(): void;
  children: ReactNode;
  testId?: string;
  className?: string;
  /** Keys besides Escape that close it (e.g. `?` for the shortcut list it opened with). */
  closeKeys?: string[];
}

export function Modal({ title, onClose, children, testId, className, closeKeys }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const back = useRef<Element | null>(null);
  useEffect(() => {
    back.current = document.activeElement;
    if (!box.current?.contains(document.activeElement)) box.current?.focus();
    return () => {
      if (back.current instanceof HTMLElement) back.current.focus({ preventScroll: true });
    };
  }, []);
  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div
        ref={box}
        className={`modal ${className ?? ''}`}
        role="dialog"
        aria-modal="true"
        aria-label={title}
        tabIndex={-1}
        data-testid={testId}
        onKeyDown={(e) => {
          const typing = e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement;
          if (e.key === 'Escape' || (!typing && closeKeys?.includes(e.key))) {
            e.preventDefault();
            e.stopPropagation();
            onClose();
          }
          // shortcuts of the screen below must not fire while a dialog is open
          e.nativeEvent.stopImmediatePropagation();
        }}
      >
        <header className="modal-head">
          <h2>{title}</h2>
          <button type="button" className="icon-btn" aria-label="Close" onClick={onClose}>
            ×
          </button>
        </header>
        {children}
      </div>
    </div>
  );
}
