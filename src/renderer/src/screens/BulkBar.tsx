/**
 * Actions on the rows chosen in the queue: Accept, Flag (with a reason), Re-audit with other settings,
 * Export. Accept and Flag are real edits, photo by photo (`bulkReview`), with progress for long ones
 * ('bulk' events) and the result: what was done, and which photos were skipped and why.
 */
import { useState } from 'react';
import type { ImportInfo, Result, SkippedPhoto } from '../../../shared/rpc';
import { errorMessage, useApi, useEngineEvents } from '../api';
import { ExportDialog } from '../components/ExportPanel';
import { ReauditDialog } from '../components/ReauditDialog';
import { countOf, type QueueQuery } from '../queue';
import { FlagPrompt } from '../review/FlagPrompt';
import type { QueueSelection } from '../hooks/useQueueSelection';

type Dialog = null | 'flag' | 'reaudit' | 'export';
type Running = { bulkId: string; verb: string; done: number; total: number };
type Reaudit = Pick<ImportInfo, 'importId' | 'state' | 'done' | 'total' | 'failed'>;

/** "a.jpg (failed: …), b.jpg (not audited yet (pending)), and 3 more". */
function named(skipped: SkippedPhoto[], count: number): string {
  const list = skipped.map((s) => `${s.fileName} (${s.reason})`).join(', ');
  return count > skipped.length ? `${list}, and ${count - skipped.length} more` : list;
}

export function bulkResultText(review: 'reviewed' | 'flagged', r: Result<'bulkReview'>): string {
  let text = `${review === 'reviewed' ? 'Accepted' : 'Flagged'} ${r.changed}`;
  if (r.unchanged) text += `, ${r.unchanged} already ${review === 'reviewed' ? 'accepted' : 'flagged with that reason'}`;
  if (r.skippedCount) text += `, skipped ${r.skippedCount}: ${named(r.skipped, r.skippedCount)}`;
  return `${text}.`;
}

export function BulkBar({ query, selection }: { query: QueueQuery; selection: QueueSelection }) {
  const api = useApi();
  const [dialog, setDialog] = useState<Dialog>(null);
  const [running, setRunning] = useState<Running | null>(null);
  const [result, setResult] = useState<{ text: string; error: boolean } | null>(null);
  const [reaudit, setReaudit] = useState<Reaudit | null>(null);

  useEngineEvents((events) => {
    for (const e of events) {
      if (e.type === 'bulk') setRunning((r) => (r && r.bulkId === e.bulkId ? { ...r, done: e.done, total: e.total } : r));
      if (e.type === 'import-state') setReaudit((i) => (i && i.importId === e.info.importId ? e.info : i));
    }
  });

  const what = selection.all ? `all ${countOf(selection.count, 'photo')} of the filter` : `${countOf(selection.count, 'selected photo')}`;

  const review = (state: 'reviewed' | 'flagged', reason?: string) => {
    const bulkId = crypto.randomUUID();
    const verb = state === 'reviewed' ? 'Accepting' : 'Flagging';
    setResult(null);
    setRunning({ bulkId, verb, done: 0, total: selection.count });
    api
      .call('bulkReview', { selection: selection.param(), review: state, reason, bulkId })
      .then(
        (r) => {
          setResult({ text: bulkResultText(state, r), error: false });
          selection.clear();
        },
        // the batches committed before are saved; the same action again skips what is already done
        (err: unknown) =>
          setResult({ text: `Not finished: ${errorMessage(err)}. What was done is saved: run it again to finish.`, error: true }),
      )
      .finally(() => setRunning(null));
  };

  const reauditStarted = (r: Result<'reauditPhotos'>) => {
    setDialog(null);
    const skipped = r.skippedCount ? `; skipped ${r.skippedCount}: ${named(r.skipped, r.skippedCount)}` : '';
    setResult({
      text: r.importId
        ? `Re-audit of ${countOf(r.photos, 'photo')} started (progress here and on the Import screen)${skipped}.`
        : `Nothing to re-audit${skipped}.`,
      error: !r.importId,
    });
    setReaudit(r.importId ? { importId: r.importId, state: 'running', done: 0, total: r.photos, failed: 0 } : null);
    if (r.importId) selection.clear();
  };

  if (!selection.count && !running && !result && !reaudit && !selection.note) return null;
  const busy = running !== null;
  return (
    <div className="bulk-bar" data-testid="bulk-bar" role="toolbar" aria-label="Actions on the selected photos">
      {selection.count > 0 && (
        <>
          <b data-testid="bulk-count">
            {selection.all ? `All ${countOf(selection.count, 'photo')} of the filter` : `${selection.count.toLocaleString()} selected`}
          </b>
          <button type="button" className="primary" data-testid="bulk-accept" disabled={busy} onClick={() => review('reviewed')}>
            Accept
          </button>
          <button type="button" data-testid="bulk-flag" disabled={busy} onClick={() => setDialog('flag')}>
            Flag…
          </button>
          <button type="button" data-testid="bulk-reaudit" disabled={busy} onClick={() => setDialog('reaudit')}>
            Re-audit…
          </button>
          <button type="button" data-testid="bulk-export" disabled={busy} onClick={() => setDialog('export')}>
            Export…
          </button>
          <button type="button" className="link-btn" data-testid="bulk-clear" disabled={busy} onClick={selection.clear}>
            Clear selection (Esc)
          </button>
        </>
      )}
      {running && (
        <span className="bulk-progress" data-testid="bulk-progress">
          {running.verb} {running.done.toLocaleString()} / {running.total.toLocaleString()}…
          <span className="progress">
            <span style={{ width: `${running.total ? (running.done / running.total) * 100 : 0}%` }} />
          </span>
        </span>
      )}
      {reaudit && (
        <span className="muted" data-testid="bulk-reaudit-state" data-state={reaudit.state}>
          Re-audit: {reaudit.done} / {countOf(reaudit.total, 'photo')}, {reaudit.state}
          {reaudit.failed ? `, ${reaudit.failed} failed` : ''}
          {reaudit.state !== 'running' && (
            <button type="button" className="link-btn" onClick={() => setReaudit(null)}>
              ×
            </button>
          )}
        </span>
      )}
      {selection.note && <span className="notice-inline">{selection.note}</span>}
      {result && (
        <span className={result.error ? 'error-text' : 'bulk-result'} data-testid="bulk-result">
          {result.text}
          <button type="button" className="link-btn" aria-label="Dismiss" onClick={() => setResult(null)}>
            ×
          </button>
        </span>
      )}

      {dialog === 'flag' && (
        <FlagPrompt
          title={`Flag ${what}`}
          onClose={() => setDialog(null)}
          onFlag={(reason) => {
            setDialog(null);
            review('flagged', reason);
          }}
        />
      )}
      {dialog === 'reaudit' && (
        <ReauditDialog selection={selection.param()} what={what} onStarted={reauditStarted} onClose={() => setDialog(null)} />
      )}
      {dialog === 'export' && (
        <ExportDialog
          filter={query.filter}
          ids={selection.all ? undefined : [...selection.ids]}
          what={what}
          onClose={() => setDialog(null)}
        />
      )}
    </div>
  );
}
