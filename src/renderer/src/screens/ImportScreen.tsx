/**
 * Import: paths (typed, or dropped onto the window in the desktop app), a location, tiles; then the
 * list of imports with live progress (`imports` + 'import' / 'import-state' events) and Cancel.
 */
import { useEffect, useRef, useState } from 'react';
import type { ImportFolder, ImportInfo } from '../../../shared/rpc';
import { FolderList } from './FolderList';
import { errorMessage, useApi, useEngineEvents, useReconnectCount } from '../api';
import { countOf } from '../queue';

const baseName = (p: string) => p.split(/[\\/]/).pop() ?? p;

interface ModelInfo {
  model: string;
  provider: string;
  fallback: string | null;
}

export function ImportScreen({ droppedPaths, dropNote }: { droppedPaths: string[]; dropNote: string | null }) {
  const api = useApi();
  const reconnects = useReconnectCount();
  const [paths, setPaths] = useState('');
  const [location, setLocation] = useState('');
  // '' = the folder's kept tiles on a re-import, else the Settings screen's
  const [tiles, setTiles] = useState('');
  const [visit, setVisit] = useState('');
  const [keepWatching, setKeepWatching] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [imports, setImports] = useState<ImportInfo[]>([]);
  // the engine's list arrived (tests wait for it before telling a new import from the ones listed)
  const [listed, setListed] = useState(false);
  const [models, setModels] = useState<Record<string, ModelInfo>>({});
  const [folders, setFolders] = useState<ImportFolder[]>([]);
  const [foldersVersion, setFoldersVersion] = useState(0);
  const start = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (!droppedPaths.length) return;
    setPaths((p) =>
      [
        ...new Set([
          ...p
            .split('\n')
            .map((s) => s.trim())
            .filter(Boolean),
          ...droppedPaths,
        ]),
      ].join('\n'),
    );
    start.current?.focus();
  }, [droppedPaths]);

  useEffect(() => {
    let live = true;
    api
      .call('imports', {})
      .then((r) => {
        if (!live) return;
        setImports(r);
        setListed(true);
      })
      .catch((err: unknown) => live && setError(errorMessage(err)));
    return () => {
      live = false;
    };
  }, [api, reconnects]);

  useEffect(() => {
    let live = true;
    api
      .call('importFolders', {})
      .then((r) => live && setFolders(r))
      .catch((err: unknown) => live && setError(errorMessage(err)));
    return () => {
      live = false;
    };
  }, [api, reconnects, foldersVersion]);

  useEngineEvents((events) => {
    const infos: ImportInfo[] = [];
    const states = new Map<string, ImportFolder['status']>();
    let refetch = false;
    for (const e of events) {
      if (e.type === 'watch-state') states.set(e.status.path, e.status);
      else if (e.type === 'import-folders' || (e.type === 'watch' && e.event.type === 'done')) refetch = true;
      else if (e.type === 'import-state') {
        infos.push(e.info);
        if (e.info.state !== 'running') refetch = true;
      } else if (e.type === 'import' && e.event.type === 'model') {
        const m = e.event;
        setModels((prev) => ({ ...prev, [e.importId]: { model: m.model, provider: m.provider, fallback: m.fallback } }));
      }
    }
    if (refetch) setFoldersVersion((v) => v + 1);
    if (states.size) {
      setFolders((prev) => prev.map((f) => (states.has(f.path) && f.watch ? { ...f, status: states.get(f.path)! } : f)));
      // a folder this screen does not list as watched yet (added elsewhere): list them again
      if ([...states.keys()].some((p) => !folders.some((f) => f.path === p && f.watch))) setFoldersVersion((v) => v + 1);
    }
    if (!infos.length) return;
    setImports((prev) => {
      const next = prev.slice();
      for (const info of infos) {
        const i = next.findIndex((x) => x.importId === info.importId);
        if (i >= 0) next[i] = info;
        else next.unshift(info);
      }
      return next;
    });
  });

  const list = paths
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
  const submit = async () => {
    if (!list.length) return;
    setBusy(true);
    setError(null);
    const tilesValue = tiles === '' ? undefined : tiles === 'off' || tiles === 'auto' ? tiles : Number(tiles);
    try {
      if (keepWatching) {
        // kept and watched: the engine audits what they hold, then every photo copied in
        for (const p of list)
          await api.call('addImportFolder', {
            path: p,
            location: location.trim() || null,
            visit: visit.trim() || null,
            tiles: tilesValue,
            watch: true,
          });
      } else {
        await api.call('startImport', {
          paths: list,
          location: location.trim() || undefined,
          visit: visit.trim() || undefined,
          tiles: tilesValue,
        });
      }
      setPaths('');
      setFolders(await api.call('importFolders', {}));
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="import" data-testid="import-screen">
      <form
        className="import-form"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <h2>Import photos</h2>
        <p className="muted">
          {window.kliqFiles
            ? 'Drop photo files or folders anywhere on the window, or type their paths.'
            : 'Type the paths of photo folders or files on the machine running the engine, one per line.'}
        </p>
        {dropNote && <p className="notice-inline">{dropNote}</p>}
        <label className="field wide">
          <span>Paths</span>
          <textarea
            data-testid="import-paths"
            rows={3}
            value={paths}
            placeholder="/data/visits/2025-06-store-12"
            onChange={(e) => setPaths(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void submit();
            }}
          />
        </label>
        <div className="form-row">
          <label className="field">
            <span>Location</span>
            <input data-testid="import-location" value={location} onChange={(e) => setLocation(e.target.value)} placeholder="Store 12" />
          </label>
          <label className="field">
            <span>Visit</span>
            <input data-testid="import-visit" value={visit} onChange={(e) => setVisit(e.target.value)} placeholder="v-2025-06-12" />
          </label>
          <label className="field">
            <span>Tiles</span>
            <select data-testid="import-tiles" value={tiles} onChange={(e) => setTiles(e.target.value)}>
              <option value="">default (the folder’s, else Settings)</option>
              <option value="off">off (whole photo)</option>
              <option value="auto">auto (large photos)</option>
              <option value="2">2 (shelves)</option>
              <option value="3">3 (dense shelves)</option>
            </select>
          </label>
          <label className="field checkbox" title="Keep these folders and audit every photo copied into them later">
            <input type="checkbox" data-testid="import-watch" checked={keepWatching} onChange={(e) => setKeepWatching(e.target.checked)} />
            <span>Keep watching</span>
          </label>
          <button ref={start} type="submit" className="primary" data-testid="import-start" disabled={busy || !list.length}>
            {busy ? 'Starting…' : keepWatching ? 'Watch folders' : 'Start import'}
          </button>
        </div>
        {error && (
          <p className="error-text" data-testid="import-error">
            {error}
          </p>
        )}
      </form>

      {/* one column beside the form: the list starts at the top, whether there are kept folders or not */}
      <div className="import-side">
        <FolderList
          folders={folders}
          onError={setError}
          onChanged={() => setFoldersVersion((v) => v + 1)}
          onUsePath={(f) => {
            // a re-import from the form keeps what the folder was imported with
            setPaths(f.path);
            setLocation(f.location ?? '');
            setVisit(f.visit ?? '');
            setTiles(f.tiles === null ? '' : String(f.tiles));
          }}
        />

        <section className="imports" data-testid="import-list" data-listed={listed}>
          <h2>Imports</h2>
          {!imports.length && <p className="muted">No import yet in this session.</p>}
          {imports.map((info) => (
            <ImportRow
              key={info.importId}
              info={info}
              model={models[info.importId]}
              onCancel={() =>
                void api.call('cancelImport', { importId: info.importId }).catch((err: unknown) => setError(errorMessage(err)))
              }
            />
          ))}
        </section>
      </div>
    </div>
  );
}

function ImportRow({ info, model, onCancel }: { info: ImportInfo; model: ModelInfo | undefined; onCancel(): void }) {
  const share = info.total ? info.done / info.total : 0;
  const eta =
    info.state === 'running' && info.photosPerSecond > 0 && info.total ? Math.round((info.total - info.done) / info.photosPerSecond) : null;
  return (
    <article
      className={`import-item import-${info.state}`}
      data-testid="import-item"
      data-state={info.state}
      data-import-id={info.importId}
    >
      <header>
        <span className="import-paths" title={info.paths.join('\n')}>
          {info.label ?? info.paths.join(', ')}
        </span>
        <span className={`badge state-${info.state}`}>{info.state}</span>
        {info.state === 'running' && (
          <button type="button" data-testid="import-cancel" onClick={onCancel}>
            Cancel
          </button>
        )}
      </header>
      <div className="progress" role="progressbar" aria-valuemin={0} aria-valuemax={info.total} aria-valuenow={info.done}>
        <span style={{ width: `${share * 100}%` }} />
      </div>
      <div className="import-stats">
        <span data-testid="import-progress">
          {info.done} / {countOf(info.total, 'photo')}
        </span>
        <span>{info.photosPerSecond.toFixed(1)} photos/s</span>
        {eta !== null && <span>ETA {eta} s</span>}
        <span className={info.failed ? 'error-text' : 'muted'}>{info.failed} failed</span>
        {model && (
          <span className="muted">
            {model.model} on {model.provider.toUpperCase()}
            {model.fallback ? ` (fallback: ${model.fallback})` : ''}
          </span>
        )}
        <span className="muted">started {new Date(info.startedAt).toLocaleTimeString()}</span>
      </div>
      {info.error && <p className="error-text">{info.error}</p>}
      {info.errorsByReason.length > 0 && (
        <ul className="reasons" data-testid="import-errors">
          {info.errorsByReason.map((r) => (
            <li key={r.name}>
              <b>{r.n}×</b> {r.name}
            </li>
          ))}
        </ul>
      )}
      {info.failures.length > 0 && (
        <details className="failures" data-testid="import-failures" open={info.failed <= 5}>
          <summary>
            Failed {info.failed === 1 ? 'file' : 'files'}
            {info.failed > info.failures.length ? ` (the first ${info.failures.length} of ${info.failed})` : ''}
          </summary>
          <ul>
            {info.failures.map((f) => (
              <li key={f.path} title={f.path}>
                <b>{baseName(f.path)}</b>: {f.error}
              </li>
            ))}
          </ul>
        </details>
      )}
    </article>
  );
}
