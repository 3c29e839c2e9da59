/**
 * "Export…" on Summary and Queue: writes what the current filter shows as a dataset (YOLO, COCO or
 * Pascal VOC) into a folder on the machine running the engine, typed by the user and checked as typed
 * (`checkExportDir`), with live progress and cancel (`startExport`, `export-state` events).
 */
import { useEffect, useState } from 'react';
import { EXPORT_FORMATS, type ExportFormat, type ExportInfo, type QueueFilter } from '../../../shared/rpc';
import { errorMessage, useApi, useEngineEvents } from '../api';
import { countOf, describeFilter } from '../queue';
import { Modal } from './Modal';
import '../buildings.css';

const FORMAT_LABELS: Record<ExportFormat, string> = { yolo: 'YOLO (Ultralytics)', coco: 'COCO JSON', voc: 'Pascal VOC' };

export function ExportButton({ filter }: { filter: QueueFilter }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" className="primary" data-testid="export-open" onClick={() => setOpen(true)}>
        Export dataset…
      </button>
      {open && <ExportDialog filter={filter} onClose={() => setOpen(false)} />}
    </>
  );
}

/** `ids`: only these photos of the filter (a selection in the queue), described as `what`. */
export function ExportDialog({ filter, ids, what, onClose }: { filter: QueueFilter; ids?: string[]; what?: string; onClose(): void }) {
  const api = useApi();
  const [format, setFormat] = useState<ExportFormat>('yolo');
  const [out, setOut] = useState('');
  const [reviewedOnly, setReviewedOnly] = useState(false);
  const [split, setSplit] = useState('0.8');
  const [seed, setSeed] = useState('0');
  const [images, setImages] = useState<'copy' | 'link'>('copy');
  const [force, setForce] = useState(false);
  const [check, setCheck] = useState<{ ok: boolean; message: string } | null>(null);
  const [info, setInfo] = useState<ExportInfo | null>(null);
  const [error, setError] = useState<string | null>(null);

  // the folder is checked as it is typed (on the engine's machine)
  useEffect(() => {
    if (!out.trim()) return setCheck(null);
    let live = true;
    const t = setTimeout(() => {
      api
        .call('checkExportDir', { out: out.trim(), force })
        .then((c) => live && setCheck(c))
        .catch((err: unknown) => live && setCheck({ ok: false, message: errorMessage(err) }));
    }, 250);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [api, out, force]);

  useEngineEvents((events) => {
    for (const e of events) if (e.type === 'export-state' && info && e.info.exportId === info.exportId) setInfo(e.info);
  });

  const running = info?.state === 'running';
  const splitN = Number(split);
  const seedN = Number(seed);
  const formError = !(splitN > 0 && splitN <= 1)
    ? 'Split: the share of photos for training, above 0 and at most 1.'
    : !Number.isInteger(seedN) || seedN < 0
      ? 'Seed: a whole number ≥ 0.'
      : null;

  const start = () => {
    setError(null);
    api
      .call('startExport', { filter, ids, format, out: out.trim(), reviewedOnly, split: splitN, seed: seedN, images, force })
      .then(({ exportId }) =>
        setInfo({
          exportId,
          out: out.trim(),
          format,
          state: 'running',
          done: 0,
          total: 0,
          images: 0,
          boxes: 0,
          skipped: 0,
          movedAside: null,
          error: null,
        }),
      )
      .catch((err: unknown) => setError(errorMessage(err)));
  };

  return (
    <Modal title="Export a dataset for retraining" onClose={onClose} testId="export-dialog" className="export-dialog">
      <form
        className="export-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (!running && check?.ok && !formError) start();
        }}
      >
        <p className="muted">
          Photos: <b data-testid="export-filter">{what ?? describeFilter(filter)}</b>
          {reviewedOnly ? ', reviewed only' : ''} (flagged photos are left out unless the filter asks for them). Boxes as corrected.
        </p>
        <label className="field">
          <span>Format</span>
          <select data-testid="export-format" value={format} onChange={(e) => setFormat(e.target.value as ExportFormat)} disabled={running}>
            {EXPORT_FORMATS.map((f) => (
              <option key={f} value={f}>
                {FORMAT_LABELS[f]}
              </option>
            ))}
          </select>
        </label>
        <label className="field wide-field">
          <span>Output folder (full path on the machine running KLIQ Audit; new or empty)</span>
          <input
            type="text"
            data-testid="export-out"
            value={out}
            placeholder="/home/me/datasets/shelves-2025-03"
            onChange={(e) => setOut(e.target.value)}
            disabled={running}
            spellCheck={false}
          />
        </label>
        {check && (
          <p className={check.ok ? 'muted small' : 'error-text small'} data-testid="export-check" data-ok={check.ok}>
            {check.message}
          </p>
        )}
        <div className="form-row">
          <label className="check">
            <input type="checkbox" checked={reviewedOnly} onChange={(e) => setReviewedOnly(e.target.checked)} disabled={running} /> reviewed
            photos only
          </label>
          <label className="field compact">
            <span>Train share</span>
            <input
              type="number"
              min={0.05}
              max={1}
              step={0.05}
              value={split}
              onChange={(e) => setSplit(e.target.value)}
              disabled={running}
            />
          </label>
          <label className="field compact">
            <span>Seed</span>
            <input type="number" min={0} step={1} value={seed} onChange={(e) => setSeed(e.target.value)} disabled={running} />
          </label>
          <label className="field compact">
            <span>Images</span>
            <select value={images} onChange={(e) => setImages(e.target.value as 'copy' | 'link')} disabled={running}>
              <option value="copy">copy</option>
              <option value="link">link</option>
            </select>
          </label>
          <label className="check">
            <input
              type="checkbox"
              data-testid="export-force"
              checked={force}
              onChange={(e) => setForce(e.target.checked)}
              disabled={running}
            />{' '}
            if not empty, move it aside (nothing is deleted)
          </label>
        </div>
        {formError && <p className="error-text small">{formError}</p>}
        {error && (
          <p className="error-text" data-testid="export-error">
            {error}
          </p>
        )}
        {info && (
          <div className="export-status" data-testid="export-status" data-state={info.state}>
            <div className="progress wide">
              <span style={{ width: `${info.total ? (info.done / info.total) * 100 : info.state === 'done' ? 100 : 0}%` }} />
            </div>
            <p>
              {info.state === 'running' && `${info.done} / ${info.total} photos…`}
              {info.state === 'done' &&
                `Done: ${countOf(info.images, 'photo')}, ${countOf(info.boxes, 'box', 'boxes')} in ${info.out}` +
                  (info.skipped ? ` (${info.skipped} left out: see manifest.json).` : '.') +
                  (info.movedAside ? ` What the folder held is in ${info.movedAside}.` : '')}
              {info.state === 'cancelled' && 'Cancelled: nothing was written.'}
              {info.state === 'failed' && `Failed: ${info.error}`}
            </p>
          </div>
        )}
        <div className="modal-actions">
          {running ? (
            <button type="button" data-testid="export-cancel" onClick={() => void api.call('cancelExport', { exportId: info!.exportId })}>
              Cancel
            </button>
          ) : (
            <button type="submit" className="primary" data-testid="export-start" disabled={!check?.ok || !!formError}>
              Export
            </button>
          )}
          <button type="button" onClick={onClose}>
            Close
          </button>
        </div>
      </form>
    </Modal>
  );
}
