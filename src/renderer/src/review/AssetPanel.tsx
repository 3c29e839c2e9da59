/**
 * BuildingScan in Review: the photo's building, asset and visit, the asset's grade and the selected
 * box's, with buttons for what Shift+1…4 (and Shift+0) do from the keyboard.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { CONDITIONS, type Condition } from '../../../shared/condition';
import type { Result, ReviewDetection } from '../../../shared/rpc';
import { useApi, useChangedEvents } from '../api';
import '../buildings.css';

export type PhotoContext = Result<'photoContext'>;

/** Contexts kept: the photos ahead and behind, and some to spare. */
const MAX_CONTEXTS = 32;

/**
 * The photo's asset and visit, refreshed when the photo changes elsewhere. `prefetch` asks for a photo's
 * ahead (Review: with its detail and pixels), so a photo moved to shows its place in the same render as
 * its boxes, not in a second render of the whole screen when it arrives (one per keypress before).
 */
export function usePhotoContext(observationId: string | null) {
  const api = useApi();
  /** Arrived, by photo; an entry goes when the photo changes (useChangedEvents), and asked for again if shown. */
  const known = useRef(new Map<string, PhotoContext>());
  /** On their way: the request's number, so that only the latest one asked for a photo is kept. */
  const asked = useRef(new Map<string, number>());
  const seq = useRef(0);
  const current = useRef(observationId);
  current.current = observationId;
  const [, setArrived] = useState(0);
  const fetchContext = useCallback(
    (id: string) => {
      if (asked.current.has(id) || known.current.has(id)) return;
      const n = ++seq.current;
      asked.current.set(id, n);
      api
        .call('photoContext', { observationId: id })
        .then((value) => {
          // dropped meanwhile (the photo changed: the answer may predate the change), or asked again since
          if (asked.current.get(id) !== n) return;
          asked.current.delete(id);
          known.current.set(id, value);
          for (const old of known.current.keys()) {
            if (known.current.size <= MAX_CONTEXTS) break;
            if (old !== current.current) known.current.delete(old);
          }
          if (id === current.current) setArrived((n) => n + 1);
        })
        .catch(() => {
          if (asked.current.get(id) === n) asked.current.delete(id);
        });
    },
    [api],
  );
  // all: the connection came back, and none kept is trusted
  useChangedEvents((ids, all) => {
    if (all) {
      known.current.clear();
      asked.current.clear();
    }
    for (const id of ids) {
      known.current.delete(id);
      asked.current.delete(id);
    }
    if (current.current && (all || ids.has(current.current))) fetchContext(current.current);
  }, 300);
  useEffect(() => {
    if (observationId) fetchContext(observationId);
  }, [observationId, fetchContext]);
  const value = observationId ? (known.current.get(observationId) ?? null) : null;
  return {
    ctx: value,
    prefetch: fetchContext,
    set: (v: PhotoContext) => {
      if (!observationId) return;
      asked.current.delete(observationId); // an answer on its way predates this
      known.current.set(observationId, v);
      setArrived((n) => n + 1);
    },
  };
}

export function AssetPanel({
  ctx,
  selected,
  onGrade,
}: {
  ctx: PhotoContext | null;
  selected: ReviewDetection | null;
  onGrade(c: Condition | null): void;
}) {
  const asset = ctx?.asset ?? null;
  const target = selected ? `box “${selected.objectName}”` : asset ? `asset ${asset.name}` : null;
  const current = selected ? (selected.condition ?? null) : (asset?.condition ?? null);
  return (
    <section className="asset-panel" data-testid="asset-panel">
      <h3 className="panel-subtitle">Building inspection</h3>
      <dl className="facts">
        <dt>Building</dt>
        <dd data-testid="photo-building">{asset?.building ?? '—'}</dd>
        <dt>Asset</dt>
        <dd data-testid="photo-asset">{asset?.name ?? '—'}</dd>
        <dt>Asset grade</dt>
        <dd>
          <span className={`grade grade-${asset?.condition ?? 'none'}`} data-testid="asset-condition">
            {asset?.condition ?? '—'}
          </span>
        </dd>
        <dt>Visit</dt>
        <dd>{ctx?.visit ?? '—'}</dd>
        {selected && (
          <>
            <dt>Box grade</dt>
            <dd>
              <span className={`grade grade-${selected.condition ?? 'none'}`} data-testid="box-condition">
                {selected.condition ?? '—'}
              </span>
            </dd>
          </>
        )}
      </dl>
      {target ? (
        <div className="grade-buttons" role="group" aria-label={`Grade the ${target}`}>
          {CONDITIONS.map((c, i) => (
            <button
              key={c}
              type="button"
              className={`grade-btn grade-${c}${current === c ? ' is-active' : ''}`}
              title={`Grade the ${target} ${c} (Shift+${i + 1})`}
              data-testid={`grade-${c}`}
              onClick={() => onGrade(c)}
            >
              {c}
            </button>
          ))}
          <button type="button" className="link-btn" title="Clear the grade (Shift+0)" onClick={() => onGrade(null)}>
            clear
          </button>
        </div>
      ) : (
        <p className="muted small">Select a box to grade it (Shift+1…4). This photo shows no asset.</p>
      )}
    </section>
  );
}
