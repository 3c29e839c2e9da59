/**
 * "Go to #": a photo number of the queue (1-based). `g` focuses it from anywhere on the screen (not while
 * typing or while a dialog is open); Enter goes, Escape leaves it.
 */
import { useEffect, useRef, useState } from 'react';
import { errorMessage } from '../api';
import { countOf } from '../queue';
import { isTyping } from '../review/useReviewKeys';

interface Props {
  /** Goes to photo n; a rejection is shown beside the field. */
  onJump(n: number): void | Promise<void>;
  /** Photos in the queue, when known. */
  total: number | null;
  /** A dialog is open: `g` is not this field's. */
  disabled?: boolean;
}

export function JumpTo({ onJump, total, disabled = false }: Props) {
  const input = useRef<HTMLInputElement>(null);
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const off = useRef(disabled);
  off.current = disabled;

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (off.current || e.key !== 'g' || e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target, e.key)) return;
      e.preventDefault();
      input.current?.focus();
      input.current?.select();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const go = async () => {
    const n = Number(value);
    if (!value.trim() || !Number.isInteger(n) || n < 1) return setError('a photo number, from 1');
    if (total !== null && n > total) return setError(total ? `the queue has ${countOf(total, 'photo')}` : 'the queue is empty');
    try {
      await onJump(n);
      setError(null);
      setValue('');
      input.current?.blur();
    } catch (err) {
      setError(errorMessage(err));
    }
  };

  return (
    <form
      className="jump-to"
      onSubmit={(e) => {
        e.preventDefault();
        void go();
      }}
    >
      <label className="field compact inline" title="Go to photo N of the queue (g)">
        <span>Go to #</span>
        <input
          ref={input}
          // no min/max: the browser would refuse the form silently; go() says what is wrong
          type="number"
          data-testid="jump-input"
          value={value}
          placeholder="g"
          onChange={(e) => setValue(e.target.value)}
          onKeyDown={(e) => {
            if (e.key !== 'Escape') return;
            e.stopPropagation();
            setError(null);
            input.current?.blur();
          }}
        />
      </label>
      {error && (
        <span className="error-text small" data-testid="jump-error">
          {error}
        </span>
      )}
    </form>
  );
}
