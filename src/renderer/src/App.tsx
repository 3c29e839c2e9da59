/**
 * The shell of the UI: the five screens (Import, Queue, Review, Summary, Sync), the sync badge, the queue query they share,
 * the connection state, and file drops (desktop only: a browser cannot tell a dropped file's path).
 */
import { useCallback, useEffect, useRef, useState, type DragEvent } from 'react';
import { errorMessage, useApi, useConnectionState, useEngineEvents } from './api';
import { countOf, type QueueQuery } from './queue';
import { isNewPlace, parsePlace, placeHash, type Place, type Screen } from './url-state';
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

/** Review's start at a place of the URL (its photo, at its index), or null when the URL names no photo. */
/** A move within a screen (next photo, another row) is written to the URL after this pause. */
const URL_MOVE_DELAY_MS = 250;

const startOf = (p: Place): ReviewStart | null => (p.photo ? { index: p.index, observationId: p.photo } : null);

export function App() {
  // the place in the URL (screen, queue, photo): a reload or a shared link comes back to it
  const [initial] = useState(() => parsePlace(location.hash));
  const [screen, setScreen] = useState<Screen>(initial.screen);
  const [query, setQuery] = useState<QueueQuery>(initial.query);
  const [cursor, setCursor] = useState(initial.index);
  const [photo, setPhoto] = useState<string | null>(initial.photo);
  const [reviewStart, setReviewStart] = useState<ReviewStart | null>(initial.screen === 'review' ? startOf(initial) : null);
  const [dropped, setDropped] = useState<string[]>([]);
  const [dropNote, setDropNote] = useState<string | null>(null);
  const connection = useConnectionState();
  const syncStatus = useSyncStatus();
  const api = useApi();
  const resume = useRef<ReviewStart | null>(startOf(initial));
  const screenRef = useRef(screen);
  screenRef.current = screen;

  const openReview = useCallback((start: ReviewStart) => {
    setReviewStart(start);
    setScreen('review');
  }, []);
  const changeQuery = useCallback((q: QueueQuery) => {
    setQuery(q);
    setReviewStart(null);
    setPhoto(null);
    resume.current = null;
  }, []);
  // Review reports where it is: the queue's cursor and the URL follow, and coming back to Review resumes there
  const onReviewPosition = useCallback((index: number, observationId: string) => {
    setCursor(index);
    setPhoto(observationId);
    resume.current = { index, observationId };
  }, []);
  // "go to photo N" in Review: the photo at that place of the queue
  const jumpInReview = useCallback(
    async (n: number) => {
      const r = await api.call('queue', { filter: query.filter, sort: query.sort, offset: n - 1, limit: 1 });
      const it = r.items[0];
      if (!it) throw new Error(r.total ? `there is no photo ${n}: this queue has ${countOf(r.total, 'photo')}` : 'this queue is empty');
      openReview({ index: n - 1, observationId: it.observationId });
    },
    [api, query, openReview],
  );
  // a URL that names a place in Review but no photo (typed or shortened by hand): open the photo at that place
  useEffect(() => {
    if (initial.screen === 'review' && !initial.photo && initial.index > 0) jumpInReview(initial.index + 1).catch(() => undefined);
    // once, for the URL the page was opened with
  }, []);

  // the URL follows the place: a new screen or queue is a step in the history (Back returns), a move
  // within them (next photo, another row) replaces the current step
  // (a move is written once the auditor stops for a moment: replaceState costs ~2 ms, paid on every key
  // when pressing straight through photos)
  const written = useRef<Place | null>(null);
  const pendingMove = useRef<{ timer: number; url: string } | null>(null);
  const writeMove = useCallback(() => {
    const m = pendingMove.current;
    if (!m) return;
    clearTimeout(m.timer);
    pendingMove.current = null;
    history.replaceState(null, '', m.url);
  }, []);
  useEffect(() => {
    window.addEventListener('pagehide', writeMove);
    return () => window.removeEventListener('pagehide', writeMove);
  }, [writeMove]);
  useEffect(() => {
    const place: Place = { screen, query, index: cursor, photo };
    const hash = placeHash(place);
    const url = (h: string) => `${location.pathname}${location.search}${h}`;
    const last = written.current;
    if (!last || isNewPlace(last, place)) {
      // the last move first, so that a new step leaves the one before where the auditor was
      writeMove();
      if (hash !== location.hash) {
        // the step left keeps the row or photo it was left at (a click opens Review and moves the cursor at once)
        if (last && last.screen !== place.screen && last.query === place.query)
          history.replaceState(null, '', url(placeHash({ ...last, index: place.index, photo: place.photo })));
        if (last) history.pushState(null, '', url(hash));
        else history.replaceState(null, '', url(hash));
      }
    } else {
      // a move: written once the moves stop (the one pending is replaced, never written on each key)
      if (pendingMove.current) clearTimeout(pendingMove.current.timer);
      pendingMove.current = hash === location.hash ? null : { timer: window.setTimeout(writeMove, URL_MOVE_DELAY_MS), url: url(hash) };
    }
    written.current = place;
  }, [screen, query, cursor, photo, writeMove]);
  // Back, Forward, or a hash edited by hand: go to the place it names
  useEffect(() => {
    const onPop = () => {
      // a move not written yet belonged to the step left: never written onto this one
      if (pendingMove.current) clearTimeout(pendingMove.current.timer);
      pendingMove.current = null;
      const p = parsePlace(location.hash);
      written.current = p;
      setScreen(p.screen);
      // the same queue keeps its object, so its pages are not fetched again
      setQuery((q) => (isNewPlace({ ...p, query: q }, p) ? p.query : q));
      setCursor(p.index);
      setPhoto(p.photo);
      resume.current = startOf(p);
      if (p.screen === 'review') setReviewStart(startOf(p));
    };
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
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
            {screen === 'review' && <ReviewScreen query={query} start={reviewStart} onPosition={onReviewPosition} onJump={jumpInReview} />}
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
