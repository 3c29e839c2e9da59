/** Header badge: what sync is doing (pending, sending, offline, errors, last sync), a click away from the Sync screen. */
import type { SyncStatus } from '../../../shared/rpc';
import { ago } from './useSyncStatus';

export function syncBadgeText(s: SyncStatus): string {
  const parts: string[] = [];
  switch (s.state) {
    case 'off':
      parts.push(s.pending ? `Not syncing · ${s.pending} waiting` : 'Not syncing');
      break;
    case 'sending':
      parts.push(`Sending · ${s.pending} left`);
      break;
    case 'offline':
      parts.push(`Offline · ${s.pending} waiting`);
      break;
    case 'auth':
      parts.push('Sync: sign-in refused');
      break;
    case 'error':
      parts.push(`Sync error · ${s.pending} waiting`);
      break;
    case 'idle':
      parts.push(s.pending ? `${s.pending} to sync` : 'Synced');
      break;
  }
  if (s.failed) parts.push(`${s.failed} failed`);
  if (s.conflicts) parts.push(`${s.conflicts} conflict${s.conflicts === 1 ? '' : 's'}`);
  return parts.join(' · ');
}

export function SyncBadge({ status, onOpen }: { status: SyncStatus | null; onOpen: () => void }) {
  if (!status) return null;
  const trouble = status.failed > 0 || status.conflicts > 0 || status.state === 'error' || status.state === 'auth';
  const title =
    (status.target ? `KLIQ API ${status.target.baseUrl}, tenant ${status.target.tenantId}` : 'No KLIQ API configured') +
    `\nlast sync: ${ago(status.lastSyncAt)}` +
    (status.lastError ? `\n${status.lastError}` : '');
  return (
    <button
      type="button"
      className={`sync-badge sync-${status.state}${trouble ? ' sync-trouble' : ''}`}
      data-testid="sync-badge"
      data-state={status.state}
      title={title}
      onClick={onOpen}
    >
      {syncBadgeText(status)}
      {status.state !== 'off' && <span className="muted"> · {ago(status.lastSyncAt)}</span>}
    </button>
  );
}
