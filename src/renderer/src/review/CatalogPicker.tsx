/**
 * Searchable label picker over `catalog` (model labels + imported SKUs, most used first). Type to
 * filter, ↑/↓ to move, Enter to pick, Escape to close. A label not in the catalog can be typed as is.
 */
import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import type { CatalogEntry } from '../../../shared/rpc';
import { errorMessage, useApi } from '../api';
import { Modal } from '../components/Modal';
import { labelColor } from './geometry';

interface Props {
  title: string;
  current: string | null;
  onPick(label: string): void;
  onClose(): void;
}

export function CatalogPicker({ title, current, onPick, onClose }: Props) {
  const api = useApi();
  const [query, setQuery] = useState('');
  const [entries, setEntries] = useState<CatalogEntry[]>([]);
  const [active, setActive] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const list = useRef<HTMLUListElement>(null);

  useEffect(() => {
    let live = true;
    const t = setTimeout(
      () => {
        api
          .call('catalog', { query, limit: 60 })
          .then((r) => {
            if (!live) return;
            setEntries(r);
            setActive(0);
            setError(null);
          })
          .catch((err: unknown) => live && setError(errorMessage(err)));
      },
      query ? 60 : 0,
    );
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [api, query]);

  const typed = query.trim();
  const options: { label: string; entry: CatalogEntry | null }[] = entries.map((e) => ({ label: e.label, entry: e }));
  if (typed && !entries.some((e) => e.label.toLowerCase() === typed.toLowerCase())) options.push({ label: typed, entry: null });

  useEffect(() => {
    list.current?.querySelector('[aria-selected="true"]')?.scrollIntoView({ block: 'nearest' });
  }, [active]);

  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      setActive((a) => Math.min(options.length - 1, a + 1));
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      setActive((a) => Math.max(0, a - 1));
    } else if (e.key === 'Enter') {
      e.preventDefault();
      const o = options[active];
      if (o) onPick(o.label);
    }
  };

  return (
    <Modal title={title} onClose={onClose} testId="catalog-picker" className="picker">
      <input
        autoFocus
        className="picker-search"
        data-testid="catalog-search"
        placeholder="Search labels and SKUs…"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
        onKeyDown={onKeyDown}
        aria-controls="catalog-options"
        aria-activedescendant={options[active] ? `catalog-opt-${active}` : undefined}
      />
      {error && <p className="error-text">{error}</p>}
      <ul id="catalog-options" ref={list} role="listbox" className="picker-list">
        {options.map((o, i) => (
          <li
            key={`${o.label}-${o.entry ? 'c' : 'new'}`}
            id={`catalog-opt-${i}`}
            role="option"
            aria-selected={i === active}
            data-testid="catalog-option"
            data-label={o.label}
            className={`picker-option${i === active ? ' is-active' : ''}${o.label === current ? ' is-current' : ''}`}
            onMouseEnter={() => setActive(i)}
            onMouseDown={(e) => e.preventDefault()}
            onClick={() => onPick(o.label)}
          >
            <span className="swatch" style={{ background: labelColor(o.label) }} />
            <span className="picker-label">{o.entry ? o.label : `Use “${o.label}” (new label)`}</span>
            {o.entry?.sku && <span className="picker-sku">{o.entry.sku}</span>}
            {o.entry && <span className="picker-uses">{o.entry.uses}</span>}
          </li>
        ))}
        {!options.length && <li className="picker-empty">No label matches.</li>}
      </ul>
    </Modal>
  );
}
