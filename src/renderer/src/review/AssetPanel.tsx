/**
 * BuildingScan in Review: the photo's building, asset and visit, the asset's grade and the selected
 * box's, with buttons for what Shift+1…4 (and Shift+0) do from the keyboard.
 */
import { useEffect, useState } from 'react';
import { CONDITIONS, type Condition } from '../../../shared/condition';
import type { Result, ReviewDetection } from '../../../shared/rpc';
import { useApi, useChangedEvents } from '../api';
import '../buildings.css';

export type PhotoContext = Result<'photoContext'>;

/** The photo's asset and visit, refreshed when the photo changes elsewhere. */
export function usePhotoContext(observationId: string | null) {
  const api = useApi();
  const [ctx, setCtx] = useState<{ id: string; value: PhotoContext } | null>(null);
  const [tick, setTick] = useState(0);
  useChangedEvents((ids) => observationId && ids.has(observationId) && setTick((t) => t + 1), 300);
  useEffect(() => {
    if (!observationId) return;
    let live = true;
    api
      .call('photoContext', { observationId })
      .then((value) => live && setCtx({ id: observationId, value }))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [api, observationId, tick]);
  const value = ctx && ctx.id === observationId ? ctx.value : null;
  return { ctx: value, set: (v: PhotoContext) => observationId && setCtx({ id: observationId, value: v }) };
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
