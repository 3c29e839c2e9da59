/**
 * "Re-audit…" for photos chosen in the queue: another model, confidence threshold or tiles
 * (`reauditPhotos`: an import of their files). Defaults are the Settings screen's.
 */
import { useEffect, useState } from 'react';
import type { PhotoSelection, Result, TilesSchema } from '../../../shared/rpc';
import type { z } from 'zod';
import { errorMessage, useApi } from '../api';
import { Modal } from './Modal';

type Tiles = z.infer<typeof TilesSchema>;
const TILES = [
  ['off', 'off (whole photo)'],
  ['auto', 'auto (large photos)'],
  ['2', '2 (shelves)'],
  ['3', '3 (dense shelves)'],
] as const;

export function ReauditDialog({
  selection,
  what,
  onStarted,
  onClose,
}: {
  selection: PhotoSelection;
  what: string;
  onStarted(r: Result<'reauditPhotos'>): void;
  onClose(): void;
}) {
  const api = useApi();
  const [models, setModels] = useState<{ names: string[]; default: string } | null>(null);
  const [model, setModel] = useState('');
  const [conf, setConf] = useState('0.25');
  const [tiles, setTiles] = useState('off');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    api
      .call('settings', {})
      .then((v) => {
        if (!live) return;
        setModels(v.models);
        setModel(v.settings.inference.model ?? '');
        setConf(String(v.settings.inference.confThreshold));
        setTiles(String(v.settings.inference.tiles));
      })
      .catch((err: unknown) => live && setError(errorMessage(err)));
    return () => {
      live = false;
    };
  }, [api]);

  const confN = Number(conf);
  const confOk = confN >= 0.01 && confN <= 0.99;
  const start = () => {
    setBusy(true);
    setError(null);
    const t: Tiles = tiles === 'off' || tiles === 'auto' ? tiles : Number(tiles);
    api
      .call('reauditPhotos', { selection, model: model || undefined, confThreshold: confN, tiles: t })
      .then(onStarted, (err: unknown) => setError(errorMessage(err)))
      .finally(() => setBusy(false));
  };

  return (
    <Modal title="Re-audit with other settings" onClose={onClose} testId="reaudit-dialog">
      {/* noValidate: the browser would refuse the form silently (e.g. 0.25 off a 0.05 step from 0.01); confOk says why */}
      <form
        className="export-form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          if (confOk && !busy) start();
        }}
      >
        <p className="muted">
          Photos: <b>{what}</b>. A new result replaces a photo’s boxes only where nobody has reviewed or corrected it; otherwise it is kept
          beside them.
        </p>
        <div className="form-row">
          <label className="field">
            <span>Model</span>
            <select data-testid="reaudit-model" value={model} onChange={(e) => setModel(e.target.value)}>
              <option value="">default ({models?.default ?? '…'})</option>
              {models?.names.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </label>
          <label className="field compact">
            <span>Keep boxes from confidence</span>
            <input
              type="number"
              min={0.01}
              max={0.99}
              step={0.01}
              data-testid="reaudit-conf"
              value={conf}
              onChange={(e) => setConf(e.target.value)}
            />
          </label>
          <label className="field">
            <span>Tiles</span>
            <select data-testid="reaudit-tiles" value={tiles} onChange={(e) => setTiles(e.target.value)}>
              {TILES.map(([v, label]) => (
                <option key={v} value={v}>
                  {label}
                </option>
              ))}
              {!TILES.some(([v]) => v === tiles) && <option value={tiles}>{tiles}</option>}
            </select>
          </label>
        </div>
        {!confOk && <p className="error-text small">Confidence: from 0.01 to 0.99.</p>}
        {error && <p className="error-text">{error}</p>}
        <div className="modal-actions">
          <button type="submit" className="primary" data-testid="reaudit-start" disabled={!confOk || busy}>
            {busy ? 'Starting…' : 'Re-audit'}
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Modal>
  );
}
