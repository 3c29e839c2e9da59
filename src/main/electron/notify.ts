/**
 * What the desktop app tells the auditor in a system notification: a watched folder's batch that
 * finished. Plain function of the engine's events (tested in test/electron-shell.test.ts); the shell
 * shows it with Electron's Notification.
 */
import path from 'node:path';
import type { AuditEvent } from '../../shared/domain';

export interface NotificationText {
  title: string;
  body: string;
}

/**
 * The notification for an engine event, or null. Watched folders emit `{ type: 'watch', folder, event }`
 * with the batch's audit events; its `done` event ends a batch. Imports started by hand are not
 * notified (the auditor is looking at their progress).
 */
export function watchBatchNotification(e: { type: string; folder?: string; event?: AuditEvent }): NotificationText | null {
  if (e.type !== 'watch' || !e.folder || e.event?.type !== 'done') return null;
  const r = e.event.report;
  if (r.cancelled || r.counts.total === 0) return null;
  const c = r.counts;
  const name = path.basename(e.folder) || e.folder;
  const parts = [`${c.completed} photo${c.completed === 1 ? '' : 's'} audited`];
  if (c.cached) parts.push(`${c.cached} already audited`);
  if (c.failed) parts.push(`${c.failed} failed`);
  return { title: `KLIQ Audit: ${name}`, body: `${parts.join(', ')}. Open the Queue to review them.` };
}
