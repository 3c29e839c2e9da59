/**
 * The kept import folders on the Import screen: each with its settings, its photos, and (when watched)
 * its live state from the engine: watching, paused, polling (with why), missing, error (with why); the
 * photos queued and the last one audited. Pause, resume, watch, re-import (with the folder's settings)
 * and remove.
 */
import { useState } from 'react';
import type { ImportFolder } from '../../../shared/rpc';
import { errorMessage, useApi } from '../api';

const base = (p: string) => p.split(/[\\/]/).pop() ?? p;

function tilesText(t: ImportFolder['tiles']): string {
  return t === null || t === 'off' ? 'whole photo' : t === 'auto' ? 'tiles auto' : `${t} tiles`;
}

export function FolderList({
  folders,
  onError,
  onChanged,
  onUsePath,
}: {
  folders: ImportFolder[];
  onError(message: string | null): void;
  onChanged(): void;
  /** Puts the folder, with its kept settings, in the import form. */
  onUsePath(folder: ImportFolder): void;
}) {
  const api = useApi();
  const [busy, setBusy] = useState<string | null>(null);
  if (!folders.length) return null;

  const act = async (path: string, fn: () => Promise<unknown>) => {
    setBusy(path);
    onError(null);
    try {
      await fn();
    } catch (err) {
      onError(errorMessage(err));
    } finally {
      setBusy(null);
      onChanged();
    }
  };

  return (
    <section className="imports" data-testid="import-folders">
      <h2>Import folders</h2>
      <ul className="folder-list">
        {folders.map((f) => {
          const s = f.status;
          const state = !f.watch ? 'not watched' : (s?.state ?? (f.paused ? 'paused' : 'starting'));
          return (
            <li key={f.path} data-testid="import-folder" data-path={f.path} data-state={state} data-queued={s?.queued ?? 0}>
              <div className="folder-head">
                <button
                  type="button"
                  className="link"
                  data-testid="folder-use"
                  title="Put this folder and its location, visit and tiles in the form"
                  onClick={() => onUsePath(f)}
                >
                  {f.path}
                </button>
                <span className={`badge watch-${state.replace(' ', '-')}`} data-testid="folder-state">
                  {state}
                </span>
                <span className="folder-actions">
                  {f.watch && !f.paused && (
                    <button
                      type="button"
                      data-testid="folder-pause"
                      disabled={busy === f.path}
                      onClick={() => void act(f.path, () => api.call('pauseImportFolder', { path: f.path }))}
                    >
                      Pause
                    </button>
                  )}
                  {f.watch && f.paused && (
                    <button
                      type="button"
                      data-testid="folder-resume"
                      disabled={busy === f.path}
                      onClick={() => void act(f.path, () => api.call('resumeImportFolder', { path: f.path }))}
                    >
                      Resume
                    </button>
                  )}
                  {!f.watch && (
                    <button
                      type="button"
                      data-testid="folder-watch"
                      disabled={busy === f.path}
                      onClick={() => void act(f.path, () => api.call('addImportFolder', { path: f.path, watch: true }))}
                    >
                      Watch
                    </button>
                  )}
                  <button
                    type="button"
                    data-testid="folder-reimport"
                    title="Import again with this folder's location, visit and tiles"
                    disabled={busy === f.path}
                    onClick={() => void act(f.path, () => api.call('startImport', { paths: [f.path] }))}
                  >
                    Re-import
                  </button>
                  <button
                    type="button"
                    data-testid="folder-remove"
                    title="Forget this folder and stop watching it (its photos' results stay)"
                    disabled={busy === f.path}
                    onClick={() => void act(f.path, () => api.call('removeImportFolder', { path: f.path }))}
                  >
                    Remove
                  </button>
                </span>
              </div>
              <div className="muted folder-facts">
                <span data-testid="folder-settings">
                  {f.location ?? 'no location'}
                  {f.visit ? ` · visit ${f.visit}` : ''} · {tilesText(f.tiles)}
                </span>
                <span>
                  {' · '}
                  {f.photos} photo{f.photos === 1 ? '' : 's'}
                  {f.deletedPhotos > 0 && <span data-testid="folder-deleted"> ({f.deletedPhotos} deleted, results kept)</span>}
                </span>
                {s && (
                  <span data-testid="folder-queue">
                    {' · '}
                    {s.queued} queued
                  </span>
                )}
                {s?.lastPhoto && (
                  <span data-testid="folder-last-photo" title={s.lastPhoto}>
                    {' · '}last {base(s.lastPhoto)}
                    {s.lastPhotoAt ? ` at ${new Date(s.lastPhotoAt).toLocaleTimeString()}` : ''}
                  </span>
                )}
                {!s && <span> · last imported {new Date(f.lastImportAt).toLocaleString()}</span>}
              </div>
              {s?.reason && (
                <p className={s.state === 'polling' ? 'notice-inline' : 'error-text'} data-testid="folder-reason">
                  {s.reason}
                </p>
              )}
              {s && s.warnings.length > 0 && (
                <ul className="reasons" data-testid="folder-warnings">
                  {s.warnings.map((w) => (
                    <li key={w}>{w}</li>
                  ))}
                </ul>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
