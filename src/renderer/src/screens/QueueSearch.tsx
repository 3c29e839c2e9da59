/**
 * Search by file name (QueueFilter.name: part of the name, any case). Applied as the auditor pauses
 * typing; `/` focuses it from the queue, Escape goes back to the list.
 */
import { useEffect, useRef, useState } from 'react';
import { isTyping } from '../review/useReviewKeys';

const PAUSE_MS = 250;

export function QueueSearch({ value, onChange, onLeave }: { value: string; onChange(name: string | undefined): void; onLeave(): void }) {
  const input = useRef<HTMLInputElement>(null);
  const [text, setText] = useState(value);
  // the filter changed elsewhere (Clear filters, Back): show it
  useEffect(() => setText(value), [value]);

  const latest = useRef(onChange);
  latest.current = onChange;
  useEffect(() => {
    if (text.trim() === value) return;
    const t = setTimeout(() => latest.current(text.trim() || undefined), PAUSE_MS);
    return () => clearTimeout(t);
  }, [text, value]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target, e.key)) return;
      e.preventDefault();
      input.current?.focus();
      input.current?.select();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  return (
    <label className="field compact inline search" title="Photos whose file name holds this text (/)">
      <span>File name</span>
      <input
        ref={input}
        type="search"
        data-testid="queue-search"
        value={text}
        maxLength={200}
        placeholder="/ to search"
        spellCheck={false}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') latest.current(text.trim() || undefined);
          if (e.key === 'Escape' || e.key === 'Enter' || e.key === 'ArrowDown') {
            e.preventDefault();
            onLeave();
          }
        }}
      />
    </label>
  );
}
