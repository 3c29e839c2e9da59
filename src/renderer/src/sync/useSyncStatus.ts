/** The sync state behind the header badge and the Sync screen: fetched once (and after a reconnect), then pushed by 'sync' events. */
import { useEffect, useState } from 'react';
import type { SyncStatus } from '../../../shared/rpc';
import { useApi, useEngineEvents, useReconnectCount } from '../api';

export function useSyncStatus(): SyncStatus | null {
  const api = useApi();
  const reconnects = useReconnectCount();
  const [status, setStatus] = useState<SyncStatus | null>(null);
  useEffect(() => {
    let live = true;
    api
      .call('syncStatus', {})
      .then((s) => live && setStatus(s))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [api, reconnects]);
  useEngineEvents((events) => {
    for (const e of events) if (e.type === 'sync') setStatus(e.status);
  });
  return status;
}

/** "3 min ago" for the last sync time. */
export function ago(iso: string | null, now = Date.now()): string {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return 'just now';
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} h ago`;
  return new Date(iso).toLocaleDateString();
}
