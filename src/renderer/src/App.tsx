/**
 * The shell of the UI: the five screens (Import, Queue, Review, Summary, Sync), the sync badge, the queue query they share,
 * the connection state, and file drops (desktop only: a browser cannot tell a dropped file's path).
 */
import { useCallback, useEffect, useRef, useState, type DragEvent } from 'react';
import { errorMessage, useApi, useConnectionState, useEngineEvents } from './api';
import { DEFAULT_QUERY, type QueueQuery } from './queue';
import { ReviewScreen, type ReviewStart } from './review/ReviewScreen';
import { ImportScreen } from './screens/ImportScreen';
import { QueueScreen } from './screens/QueueScreen';
import { SummaryScreen } from './screens/SummaryScreen';
import { SyncScreen } from './screens/SyncScreen';
import { SyncBadge } from './sync/SyncBadge';
import { useSyncStatus } from './sync/useSyncStatus';
import { BuildingsScreen } from './screens/BuildingsScreen';

import { SettingsScreen } from './screens/SettingsScreen';
import { CatalogScreen } from './screens/CatalogScreen';

type Screen = 'import' | 'queue' | 'review' | 'summary' | 'buildings' | 'catalog' | 'sync' | 'settings';
const SCREENS: { key: Screen; label: string }[] = [
  { key: 'import', label: 'Import' },
  { key: 'queue', label: 'Queue' },
  { key: 'review', label: 'Review' },
  { key: 'summary', label: 'Summary' },
  { key: 'buildings', label: 'Buildings' },
  { key: 'catalog', label: 'Catalog' },
  { key: 'sync', label: 'Sync' },
  { key: 'settings', label: 'Settings' },
];

export function App() {
  const [screen, setScreen] = useState<Screen>('queue');
  const [query, setQuery] = useState<QueueQuery>(DEFAULT_QUERY);
  const [cursor, setCursor] = useState(0);
  const [reviewStart, setReviewStart] = useState<ReviewStart | null>(null);
  const [dropped, setDropped] = useState<string[]>([]);
  const [dropNote, setDropNote] = useState<string | null>(null);
  const connection = useConnectionState();
  const syncStatus = useSyncStatus();
  const api = useApi();
  const resume = useRef<ReviewStart | null>(null);
  const screenRef = useRef(screen);
  screenRef.current = screen;

  const openReview = useCallback((start: ReviewStart) => {
    setReviewStart(start);
    setScreen('review');
  }, []);
  const changeQuery = useCallback((q: QueueQuery) => {
    setQuery(q);
    setReviewStart(null);
    resume.current = null;
  }, []);
  // Review reports where it is: the queue's cursor follows, and coming back to Review resumes there
  const onReviewPosition = useCallback((index: number, observationId: string) => {
    setCursor(index);
    resume.current = { index, observationId };
  }, []);
  const goTo = useCallback((next: Screen) => {
    if (next === 'review' && screenRef.current !== 'review' && resume.current) setReviewStart(resume.current);
    setScreen(next);
  }, []);

  // Alt+1…8 switch screens from anywhere
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!e.altKey || e.ctrlKey || e.metaKey) return;
      const i = ['1', '2', '3', '4', '5', '6', '7', '8'].indexOf(e.key);
      if (i < 0) return;
      e.preventDefault();
      goTo(SCREENS[i].key);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [goTo]);

  // the desktop shell's menus (File → Import folder…, Help → Shortcuts…) ask for a screen
  useEngineEvents((events) => {
    for (const e of events) {
      if (e.type !== 'shell') continue;
      if (e.command === 'show-import') goTo('import');
      else if (e.command === 'show-settings') goTo('settings');
      else if (e.command === 'show-queue' || e.command === 'show-export')
        goTo('queue'); // Export… is offered on the Queue
      else if (e.command === 'show-shortcuts') {
        goTo('review');
        setHelpPending(true);
      }
    }
  });
  // the shortcuts overlay belongs to Review: ask it once Review has mounted (a child's effects run first)
  const [helpPending, setHelpPending] = useState(false);
  useEffect(() => {
    if (!helpPending || screen !== 'review') return;
    setHelpPending(false);
    window.dispatchEvent(new KeyboardEvent('keydown', { key: '?' }));
  }, [helpPending, screen]);

  const onDragOver = (e: DragEvent) => {
    if (e.dataTransfer.types.includes('Files')) e.preventDefault();
  };
  const onDrop = (e: DragEvent) => {
    if (!e.dataTransfer.files.length) return;
    e.preventDefault();
    setScreen('import');
    const files = window.kliqFiles;
    if (!files) {
      setDropNote('A browser cannot read the path of a dropped file: type the folder path below (or use the desktop app).');
      return;
    }
    const paths = [...e.dataTransfer.files].map((f) => files.pathForFile(f)).filter(Boolean);
    setDropNote(paths.length ? null : 'Those items have no local path.');
    setDropped(paths);
    // dropped folders and files start an import at once, with the settings' model, tiles and threshold
    if (paths.length)
      api.call('startImport', { paths }).then(
        () => setDropped([]),
        (err: unknown) => setDropNote(`Could not start the import: ${errorMessage(err)}`),
      );
  };

  return (
    <div className="app" onDragOver={onDragOver} onDrop={onDrop}>
      <header className="topbar">
        <span className="brand">KLIQ Audit</span>
        <nav aria-label="Screens">
          {SCREENS.map((s, i) => (
            <button
              key={s.key}
              type="button"
              className={`nav-btn${screen === s.key ? ' is-active' : ''}`}
              aria-current={screen === s.key ? 'page' : undefined}
              data-testid={`nav-${s.key}`}
              title={`${s.label} (Alt+${i + 1})`}
              onClick={() => goTo(s.key)}
            >
              {s.label}
            </button>
          ))}
        </nav>
        <span className="tool-spacer" />
        <SyncBadge status={syncStatus} onOpen={() => goTo('sync')} />
        <span className={`conn conn-${connection}`} data-testid="connection" data-state={connection}>
          {connection === 'open'
            ? 'Connected'
            : connection === 'no-token'
              ? 'No token in the URL'
              : connection === 'bad-token'
                ? 'Address no longer valid'
                : connection === 'connecting'
                  ? 'Connecting…'
                  : 'Reconnecting…'}
        </span>
      </header>
      <main className="content">
        {connection === 'no-token' ? (
          <div className="screen-message">
            <p>
              Open the address printed by <code>kliq-audit serve</code>: it carries the <code>?token=</code> this page needs.
            </p>
          </div>
        ) : connection === 'bad-token' ? (
          <div className="screen-message" data-testid="bad-token">
            <p>
              This address is no longer valid (<code>kliq-audit serve</code> was restarted with a new token). Open the URL it printed.
            </p>
          </div>
        ) : (
          <>
            {screen === 'import' && <ImportScreen droppedPaths={dropped} dropNote={dropNote} />}
            {screen === 'queue' && (
              <QueueScreen query={query} onQuery={changeQuery} cursor={cursor} onCursor={setCursor} onOpen={openReview} />
            )}
            {screen === 'review' && <ReviewScreen query={query} start={reviewStart} onPosition={onReviewPosition} />}
            {screen === 'summary' && <SummaryScreen query={query} />}
            {screen === 'sync' && <SyncScreen status={syncStatus} />}
            {screen === 'catalog' && <CatalogScreen />}
            {screen === 'buildings' && (
              <BuildingsScreen
                onOpenQueue={(filter) => {
                  changeQuery({ filter, sort: query.sort });
                  setCursor(0);
                  setScreen('queue');
                }}
              />
            )}
            {screen === 'settings' && <SettingsScreen />}
          </>
        )}
      </main>
    </div>
  );
}
