/**
 * Sync screen: where the photos stand on the KLIQ API, the items that failed (with their reasons and a
 * retry), and the label conflicts the auditor decides.
 */
import { useCallback, useEffect, useState } from 'react';
import type { SyncConflict, SyncFailedItem, SyncStatus } from '../../../shared/rpc';
import { errorMessage, useApi, useEngineEvents } from '../api';
import { ago } from '../sync/useSyncStatus';

const KIND: Record<SyncFailedItem['kind'], string> = { upload: 'photo', observation: 'observation', cvJob: 'CV result', labels: 'labels' };
const labelsText = (l: SyncConflict['localLabels']) => (l.length ? l.map((d) => d.objectName).join(', ') : 'no boxes');

export function SyncScreen({ status }: { status: SyncStatus | null }) {
  const api = useApi();
  const [failed, setFailed] = useState<SyncFailedItem[] | null>(null);
  const [conflicts, setConflicts] = useState<SyncConflict[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(() => {
    Promise.all([api.call('syncFailed', { limit: 200 }), api.call('syncConflicts', {})])
      .then(([f, c]) => {
        setFailed(f);
        setConflicts(c);
        setError(null);
      })
      .catch((err: unknown) => setError(errorMessage(err)));
  }, [api]);
  useEffect(load, [load]);
  // the lists follow the badge's numbers
  useEngineEvents((events) => {
    if (events.some((e) => e.type === 'sync')) load();
  });

  const act = async (fn: () => Promise<unknown>) => {
    setBusy(true);
    try {
      await fn();
      load();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="sync-screen" data-testid="sync-screen">
      <header className="summary-head">
        <h2>Sync</h2>
        <span className="muted">
          {status?.target ? `${status.target.baseUrl} · tenant ${status.target.tenantId}` : 'no KLIQ API configured'}
        </span>
      </header>
      {status && (
        <div className="stats big">
          <Stat n={status.pending} label="waiting" testId="sync-pending" />
          <Stat n={status.failed} label="failed" testId="sync-failed" />
          <Stat n={status.conflicts} label="conflicts" testId="sync-conflicts" />
          <Stat n={ago(status.lastSyncAt)} label="last sync" />
        </div>
      )}
      {status?.state === 'off' && (
        <p className="muted" data-testid="sync-off">
          This session does not sync. Photos and corrections wait here, nothing is lost: run{' '}
          <code>kliq-audit sync --api URL --tenant ID</code> (key in <code>KLIQ_API_KEY</code>), or start{' '}
          <code>kliq-audit serve --api URL --tenant ID</code>.
        </p>
      )}
      {status?.lastError && status.state !== 'idle' && <p className="error-text">{status.lastError}</p>}
      {error && <p className="error-text">{error}</p>}

      <section>
        <h3>Label conflicts</h3>
        {conflicts.length === 0 ? (
          <p className="muted">None: every label set the server holds came from here or matches it.</p>
        ) : (
          <ul className="sync-list" data-testid="sync-conflict-list">
            {conflicts.map((c) => (
              <li key={c.id} data-testid="sync-conflict" data-conflict-id={c.id}>
                <strong>{c.fileName}</strong>: the server's labels were changed by {c.remoteBy ?? 'someone else'}
                {c.remoteAt ? ` (${new Date(c.remoteAt).toLocaleString()})` : ''} after your last sync. The server kept{' '}
                <em>{labelsText(c.remoteLabels)}</em>; yours: <em>{labelsText(c.localLabels)}</em>.{' '}
                <button
                  type="button"
                  disabled={busy}
                  onClick={() => act(() => api.call('syncResolve', { id: c.id, resolution: 'send-mine' }))}
                >
                  Send mine
                </button>{' '}
                <button
                  type="button"
                  disabled={busy}
                  onClick={() => act(() => api.call('syncResolve', { id: c.id, resolution: 'keep-server' }))}
                >
                  Keep the server's
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>

      <section>
        <h3>
          Failed items{' '}
          {failed && failed.length > 0 && (
            <button type="button" disabled={busy} data-testid="sync-retry-all" onClick={() => act(() => api.call('syncRetry', {}))}>
              Retry all
            </button>
          )}
        </h3>
        {!failed ? (
          <p className="muted">Loading…</p>
        ) : failed.length === 0 ? (
          <p className="muted">None.</p>
        ) : (
          <ul className="sync-list" data-testid="sync-failed-list">
            {failed.map((f) => (
              <li key={f.id} data-testid="sync-failed-item" data-item-id={f.id}>
                <strong>{f.fileName ?? f.observationId ?? `#${f.id}`}</strong> ({KIND[f.kind]}): {f.error}{' '}
                <button type="button" disabled={busy} onClick={() => act(() => api.call('syncRetry', { id: f.id }))}>
                  Retry
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}

function Stat({ n, label, testId }: { n: number | string; label: string; testId?: string }) {
  return (
    <div className="stat">
      <b data-testid={testId}>{n}</b>
      <span>{label}</span>
    </div>
  );
}
