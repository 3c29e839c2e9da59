/**
 * Review: one photo at a time, in the queue's order. Keyboard first (see ./shortcuts.ts); every edit
 * goes to the engine at once (./useEdits.ts); the next and previous photos are prefetched.
 */
import { memo, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { BoundingBox } from '../../../shared/domain';
import type { LabelKeys, PhotoDetail, QueueItem, ReviewDetection } from '../../../shared/rpc';
import { errorMessage, useApi, useChangedEvents } from '../api';
import type { QueueQuery } from '../queue';
import { describeFilter, formatCount } from '../queue';
import { BoxList, useLabelView } from './BoxList';
import { CatalogPicker } from './CatalogPicker';
import { FlagPrompt } from './FlagPrompt';
import { QueueSnapshot } from './navigator';
import { PhotoCanvas, type CanvasHandle, type PanKey } from './PhotoCanvas';
import { PhotoSummary } from './PhotoSummary';
import { ShortcutsOverlay } from './ShortcutsOverlay';
import { useEdits } from './useEdits';
import { useReviewKeys, type ReviewKeyActions } from './useReviewKeys';
import { LabelBar, ReviewToolbar } from './ReviewToolbar';
import { PREFETCH_AHEAD, usePhotoCache } from './usePhotoCache';
import { LabelKeysEditor } from './LabelKeysEditor';
import { AssetPanel, usePhotoContext } from './AssetPanel';
import { CONDITIONS, type Condition } from '../../../shared/condition';
import { Filmstrip } from './Filmstrip';
import { JumpTo } from '../components/JumpTo';

export interface ReviewStart {
  index: number;
  observationId: string;
  seed?: { offset: number; total: number; items: QueueItem[] };
}

type Overlay = null | 'help' | 'flag' | 'keys' | { picker: 'box' | 'draw-label'; boxId: number | null };

const THRESHOLD_KEY = 'kliq.review.threshold';

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

interface Props {
  query: QueueQuery;
  start: ReviewStart | null;
  onPosition(index: number, observationId: string): void;
  /** Opens photo n (1-based) of the queue (`g`). */
  onJump(n: number): Promise<void>;
}

/**
 * Memoized: App re-renders on every photo (the cursor and photo it keeps for the URL, set from here after
 * each move); with the same props, this screen is not rendered a second time for it.
 */
export const ReviewScreen = memo(function ReviewScreen({ query, start, onPosition, onJump }: Props) {
  const api = useApi();
  const cache = usePhotoCache();
  const canvas = useRef<CanvasHandle>(null);
  const panKey = useRef<PanKey>({ held: false, used: false });

  const [nav, setNav] = useState<{ snapshot: QueueSnapshot; pos: number } | null>(null);
  const [navError, setNavError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [detail, setDetail] = useState<PhotoDetail | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [dets, setDets] = useState<ReviewDetection[]>([]);
  const [selectedId, setSelectedId] = useState<number | null>(null);
  const [hoveredId, setHoveredId] = useState<number | null>(null);
  const labelView = useLabelView();
  const [drawing, setDrawing] = useState(false);
  const [overlay, setOverlay] = useState<Overlay>(null);
  const [labelKeys, setLabelKeys] = useState<LabelKeys>({ labels: [], scope: 'default' });
  const [drawLabel, setDrawLabel] = useState<string | null>(null);
  const [threshold, setThreshold] = useState(() => Number(localStorage.getItem(THRESHOLD_KEY) ?? 0) || 0);

  const item = nav ? nav.snapshot.items[nav.pos] : null;
  const observationId = item?.observationId ?? null;
  const positionRef = useRef(onPosition);
  positionRef.current = onPosition;
  useEffect(() => {
    if (nav && observationId) positionRef.current(nav.snapshot.offsetOf(nav.pos), observationId);
  }, [nav, observationId]);
  const currentObs = useRef<string | null>(null);
  currentObs.current = observationId;
  const place = usePhotoContext(observationId);
  const prefetchPlace = place.prefetch;

  // --- loading -------------------------------------------------------------------------------

  const show = useCallback((d: PhotoDetail) => {
    if (d.item.observationId !== currentObs.current) return;
    setDetail(d);
    setDets(d.detections);
    setLoadError(null);
  }, []);

  const edits = useEdits({
    observationId,
    dets,
    setDets,
    select: setSelectedId,
    reload: (obs) => {
      cache.invalidate(obs);
      void cache
        .get(obs, true)
        .then(show)
        .catch((err: unknown) => setLoadError(errorMessage(err)));
    },
    onSaved: (obs) => {
      // refresh the summary panel (and check the screen against the engine) once the edits have landed
      cache.invalidate(obs);
      const seqAtStart = edits.seq.current;
      void cache
        .get(obs, true)
        .then((d) => {
          if (d.item.observationId !== currentObs.current) return;
          setDetail(d);
          if (edits.seq.current === seqAtStart && !edits.hasPending(obs)) setDets(d.detections);
        })
        .catch(() => undefined);
    },
  });

  // another tab, auditor or import changed the photo on screen, or the connection came back (all: what changed
  // meanwhile sent no event): show the engine's state (not while own edits are on their way)
  useChangedEvents((ids, all) => {
    const obs = currentObs.current;
    if (!obs || !(all || ids.has(obs)) || edits.hasPending(obs)) return;
    const seqAtStart = edits.seq.current;
    void cache
      .get(obs, true)
      .then((d) => {
        if (d.item.observationId !== currentObs.current || edits.seq.current !== seqAtStart || edits.hasPending(obs)) return;
        setDetail(d);
        setDets(d.detections);
      })
      .catch(() => undefined);
  }, 100);

  // open the snapshot of the queue
  useEffect(() => {
    let live = true;
    const snapshot = new QueueSnapshot((offset, limit) => api.call('queue', { filter: query.filter, sort: query.sort, offset, limit }));
    const open = async () => {
      const index = start?.index ?? 0;
      let pos: number;
      if (start) {
        pos = await snapshot.init(index, start.observationId, start.seed);
        if (pos < 0) {
          const d = await api.call('photo', { observationId: start.observationId });
          snapshot.initSingle(d.item, index);
          pos = 0;
        }
      } else {
        const r = await api.call('queue', { filter: query.filter, sort: query.sort, offset: 0, limit: 1 });
        if (!r.items.length) throw new Error(`The queue is empty (${describeFilter(query.filter)}).`);
        pos = await snapshot.init(0, r.items[0].observationId);
      }
      if (live) setNav({ snapshot, pos: Math.max(0, pos) });
    };
    open().catch((err: unknown) => live && setNavError(errorMessage(err)));
    return () => {
      live = false;
    };
  }, [api, query, start]);

  // show the current photo; prefetch its neighbours
  useEffect(() => {
    if (!nav || !observationId) return;
    let live = true;
    setSelectedId(null);
    setHoveredId(null);
    setDrawing(false);
    setLoadError(null);
    // a prefetched photo shows with its boxes in this very frame; otherwise no boxes of the previous
    // photo may linger (nor be selected) while this one's detail is on its way
    const ready = edits.hasPending(observationId) ? undefined : cache.peek(observationId);
    if (ready) show(ready);
    else {
      setDetail(null);
      setDets([]);
      void edits
        .settled(observationId)
        .then(() => cache.get(observationId))
        .then((d) => live && show(d))
        .catch((err: unknown) => live && setLoadError(errorMessage(err)));
    }
    const { snapshot, pos } = nav;
    // four ahead: pressing straight on, the next ones are already decoded or on their way
    const ahead = () => {
      if (!live) return;
      for (const next of snapshot.items.slice(pos + 1, pos + 1 + PREFETCH_AHEAD)) {
        cache.prefetch(next);
        prefetchPlace(next.observationId);
      }
    };
    ahead();
    const prev = snapshot.items[pos - 1];
    if (prev) {
      cache.prefetch(prev);
      prefetchPlace(prev.observationId);
    }
    // the next page is asked for while photos of this one are left, so that the ones after a page's last
    // are decoded ahead too (asked for at the last only, each page's first photo waited 0.2–0.3 s for its
    // pixels when pressing straight on)
    if (pos + PREFETCH_AHEAD >= snapshot.items.length)
      void snapshot
        .extendForward()
        .then((more) => more && ahead())
        .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [nav, observationId, cache, show, prefetchPlace]);

  // the labels behind 1–9: the location's set or the default, asked once per location (never per photo:
  // counting label uses at 1 000 000 boxes took 0.4 s, and the keys must not change meaning meanwhile)
  const location = item?.location ?? null;
  useEffect(() => {
    let live = true;
    api
      .call('labelKeys', { location })
      .then((k) => {
        if (!live) return;
        // the same set as the last location's (the default, mostly): kept, not a render of the whole screen
        setLabelKeys((prev) => (prev.scope === k.scope && sameList(prev.labels, k.labels) ? prev : k));
        setDrawLabel((l) => l ?? k.labels[0] ?? null);
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [api, location]);

  useEffect(() => {
    localStorage.setItem(THRESHOLD_KEY, String(threshold));
  }, [threshold]);

  const visible = useMemo(() => dets.filter((d) => d.confidence >= threshold), [dets, threshold]);
  // drawn: not of a hidden label; selectable: nor of a locked one
  const drawn = useMemo(() => visible.filter((d) => !labelView.hidden.has(d.objectName)), [visible, labelView.hidden]);
  const selectable = useMemo(() => drawn.filter((d) => !labelView.locked.has(d.objectName)), [drawn, labelView.locked]);
  useEffect(() => {
    if (selectedId !== null && !selectable.some((d) => d.id === selectedId)) setSelectedId(null);
  }, [selectable, selectedId]);
  // nudges of a box are one edit until another box is selected (or none)
  useEffect(() => edits.flush(), [selectedId, edits.flush]);

  // --- navigation and review -----------------------------------------------------------------

  /**
   * Moves to photo `pos` of the snapshot. A photo whose detail has arrived (prefetched) is shown in the
   * same render as the move, its boxes with it: one render and commit per keypress. The effect that shows
   * the current photo then sets what is set already, which React skips, instead of a second render of the
   * whole screen in the frame the auditor is waiting for.
   */
  const { hasPending } = edits;
  const moveTo = useCallback(
    (snapshot: QueueSnapshot, pos: number) => {
      const id = snapshot.items[pos]?.observationId;
      const ready = id && !hasPending(id) ? cache.peek(id) : undefined;
      setNav({ snapshot, pos });
      if (ready) {
        setDetail(ready);
        setDets(ready.detections);
        setLoadError(null);
        setSelectedId(null);
        setHoveredId(null);
        setDrawing(false);
      }
    },
    [cache, hasPending],
  );

  const go = useCallback(
    async (delta: 1 | -1) => {
      if (!nav) return;
      const { snapshot, pos } = nav;
      setNotice(null);
      if (delta === 1 && pos + 1 >= snapshot.items.length) {
        const more = await snapshot.extendForward().catch((err: unknown) => {
          setNotice(errorMessage(err));
          return false;
        });
        if (!more) {
          setNotice('End of the queue.');
          return;
        }
      }
      if (delta === -1 && pos === 0) {
        const before = snapshot.items.length;
        const more = await snapshot.extendBackward().catch(() => false);
        if (!more) {
          setNotice('Start of the queue.');
          return;
        }
        moveTo(snapshot, snapshot.items.length - before - 1);
        return;
      }
      moveTo(snapshot, pos + delta);
    },
    [nav, moveTo],
  );

  const setReview = useCallback(
    (review: 'reviewed' | 'flagged', reason?: string) => {
      if (!nav || !item) return;
      const obs = item.observationId;
      nav.snapshot.markChanged(obs);
      nav.snapshot.replace({ ...item, review, flagReason: reason ?? null });
      void edits
        .run(obs, () => api.call('setReview', { observationId: obs, review, reason }))
        .then((updated) => {
          nav.snapshot.replace(updated);
          cache.invalidate(obs);
          setDetail((d) => (d && d.item.observationId === obs ? { ...d, item: updated } : d));
        })
        .catch(() => undefined);
      void go(1);
    },
    [api, cache, edits, go, item, nav],
  );

  // --- edits ---------------------------------------------------------------------------------

  const markChanged = () => {
    if (nav && observationId) nav.snapshot.markChanged(observationId);
  };
  const relabel = (id: number, label: string) => {
    markChanged();
    edits.update(id, { objectName: label });
    setDrawLabel(label);
  };
  const assignLabel = (label: string) => {
    if (selectedId !== null) relabel(selectedId, label);
    else setDrawLabel(label);
  };
  const onCommitBox = (id: number, boundingBox: BoundingBox) => {
    markChanged();
    edits.update(id, { boundingBox });
  };
  // drawing stays on for the next box until Esc
  const onDraw = (box: BoundingBox) => {
    if (!drawLabel) {
      edits.setSave({ state: 'error', message: 'No label to draw with: pick one with l first.' });
      return;
    }
    markChanged();
    edits.add(drawLabel, box);
  };
  const removeSelected = () => {
    if (selectedId === null) return;
    markChanged();
    edits.remove(selectedId);
  };
  const nudge = (dx: number, dy: number) => {
    const d = selectable.find((x) => x.id === selectedId);
    const size = detail?.item.width && detail.item.height ? { width: detail.item.width, height: detail.item.height } : null;
    if (!d || !size) return;
    markChanged();
    edits.nudge(d.id, dx, dy, size);
  };
  const verify = (id: number, verified: boolean) => {
    markChanged();
    edits.verify(id, verified);
  };
  // BuildingScan: a grade goes to the selected box, else to the photo's asset
  const grade = (c: Condition | null) => {
    if (!observationId) return;
    if (selectedId !== null) {
      markChanged();
      edits.grade(selectedId, c);
      return;
    }
    const ctx = place.ctx;
    if (!ctx?.asset) {
      setNotice('This photo shows no asset: select a box to grade it.');
      return;
    }
    const obs = observationId;
    place.set({ ...ctx, asset: { ...ctx.asset, condition: c } });
    const clientEditId = crypto.randomUUID();
    void edits
      .run(obs, () => api.call('setAssetCondition', { observationId: obs, condition: c, clientEditId }))
      .then((asset) => currentObs.current === obs && place.set({ ...ctx, asset }))
      .catch(() => undefined);
  };
  const cycleBox = (delta: 1 | -1) => {
    if (!selectable.length) return;
    const i = selectable.findIndex((d) => d.id === selectedId);
    const next = i < 0 ? (delta === 1 ? 0 : selectable.length - 1) : (i + delta + selectable.length) % selectable.length;
    setSelectedId(selectable[next].id);
  };

  // --- commands: keys and toolbar -----------------------------------------------------------

  const undoRedo = (redo: boolean) => {
    markChanged();
    if (redo) edits.redo();
    else edits.undo();
  };
  const actions: ReviewKeyActions = {
    blocked: overlay !== null,
    hasSelection: selectedId !== null,
    undo: () => undoRedo(false),
    redo: () => undoRedo(true),
    nudge,
    next: () => void go(1),
    previous: () => void go(-1),
    accept: () => setReview('reviewed'),
    flag: () => setOverlay('flag'),
    help: () => setOverlay('help'),
    escape: () => (drawing ? setDrawing(false) : setSelectedId(null)),
    fit: () => canvas.current?.fit(),
    actualSize: () => canvas.current?.actualSize(),
    draw: () => {
      setSelectedId(null);
      setDrawing(true);
    },
    remove: removeSelected,
    verify: () => {
      const d = selectable.find((x) => x.id === selectedId);
      if (d) verify(d.id, !d.verified);
      else setNotice('Select a box to mark it verified.');
    },
    picker: () => setOverlay({ picker: selectedId !== null ? 'box' : 'draw-label', boxId: selectedId }),
    cycle: cycleBox,
    label: (n) => {
      const label = labelKeys.labels[n - 1];
      if (label) assignLabel(label);
    },
    grade: (n) => grade(n === 0 ? null : CONDITIONS[n - 1]),
  };
  useReviewKeys(actions, panKey);

  // --- render --------------------------------------------------------------------------------

  // the photo's pixels if decoded ahead; ones still being decoded are waited for (PhotoCanvas shows no
  // <img> meanwhile) and read again once they arrive
  const [bitmapArrived, setBitmapArrived] = useState(0);
  const bitmap = useMemo(
    () => (observationId ? cache.bitmap(observationId) : null),
    // bitmapArrived: read again when a pending one arrives
    [cache, observationId, bitmapArrived],
  );
  const bitmapPending = !bitmap && observationId ? cache.bitmapPending(observationId) : null;
  useEffect(() => {
    if (!bitmapPending) return;
    let live = true;
    void bitmapPending.then(() => live && setBitmapArrived((n) => n + 1));
    return () => {
      live = false;
    };
  }, [bitmapPending]);

  if (navError) {
    return (
      <div className="screen-message" data-testid="review-screen">
        <p>{navError}</p>
      </div>
    );
  }
  if (!nav || !item) {
    return (
      <div className="screen-message" data-testid="review-screen">
        <p>Opening the queue…</p>
      </div>
    );
  }

  const selected = dets.find((d) => d.id === selectedId) ?? null;
  const size = item.width && item.height ? { width: item.width, height: item.height } : null;
  const total = nav.snapshot.total;
  const positionTotal = Math.max(total, nav.snapshot.items.length);
  const pickerTarget = overlay && typeof overlay === 'object' ? overlay : null;

  return (
    <div
      className="review"
      data-testid="review-screen"
      data-observation-id={item.observationId}
      data-ready={detail?.item.observationId === item.observationId}
    >
      <ReviewToolbar
        actions={actions}
        position={`${formatCount(nav.snapshot.offsetOf(nav.pos) + 1)} / ${formatCount(positionTotal)}`}
        drawing={drawing}
        canDelete={!!selected}
        canUndo={edits.canUndo}
        canRedo={edits.canRedo}
        threshold={threshold}
        onThreshold={setThreshold}
        save={edits.save}
      />
      <LabelBar
        boxLabel={selected?.objectName ?? null}
        drawLabel={drawLabel}
        keys={labelKeys.labels}
        keysScope={labelKeys.scope}
        onEditKeys={() => setOverlay('keys')}
        shown={visible.length}
        total={dets.length}
        onAssign={assignLabel}
        onPicker={actions.picker}
      />

      <div className="review-body">
        {/* data-photo / data-boxes: which photo's boxes are drawn (the review benchmark's paint probe) */}
        <div className="canvas-wrap" data-photo={detail?.item.observationId ?? ''} data-boxes={visible.length}>
          <PhotoCanvas
            ref={canvas}
            src={api.photoUrl(item.observationId)}
            viewSrc={api.viewUrl(item.observationId)}
            bitmap={bitmap}
            bitmapPending={bitmapPending !== null}
            size={size}
            onArea={cache.setArea}
            detections={drawn}
            selectedId={selectedId}
            hoveredId={hoveredId}
            locked={labelView.locked}
            drawing={drawing}
            pendingBox={edits.pendingBox}
            panKey={panKey}
            onSelect={setSelectedId}
            onHover={setHoveredId}
            onCommitBox={onCommitBox}
            onDraw={onDraw}
            onOpenPicker={(id) => {
              setSelectedId(id);
              setOverlay({ picker: 'box', boxId: id });
            }}
          />
          {loadError && <div className="viewport-note is-error">{loadError}</div>}
          {item.status === 'failed' && <div className="viewport-note is-error">This photo failed: {item.error}</div>}
          {notice && (
            <div className="notice" role="status" data-testid="review-notice">
              {notice}
            </div>
          )}
          {drawing && <div className="mode-hint">Drag to draw “{drawLabel}” boxes, one after another · Esc to stop</div>}
        </div>
        <BoxList
          detections={visible}
          selectedId={selectedId}
          hoveredId={hoveredId}
          view={labelView}
          onHover={setHoveredId}
          onSelect={setSelectedId}
          onVerify={verify}
        />
        {detail ? (
          <PhotoSummary detail={detail}>
            <AssetPanel ctx={place.ctx} selected={selected} onGrade={grade} />
          </PhotoSummary>
        ) : (
          <aside className="side-panel muted">Loading…</aside>
        )}
      </div>

      <Filmstrip items={nav.snapshot.items} pos={nav.pos} onPick={(pos) => moveTo(nav.snapshot, pos)} />

      <div className="statusbar">
        <span data-testid="review-filename" title={item.sourcePath}>
          {item.fileName}
        </span>
        <span className={`badge review-${item.review}`} data-testid="review-state">
          {item.review}
        </span>
        <span className="muted">{describeFilter(query.filter)}</span>
        <span className="tool-spacer" />
        <JumpTo total={positionTotal} onJump={onJump} disabled={overlay !== null} />
        <span className="muted">Press ? for shortcuts</span>
      </div>

      {overlay === 'help' && <ShortcutsOverlay onClose={() => setOverlay(null)} />}
      {overlay === 'keys' && (
        <LabelKeysEditor location={item.location} keys={labelKeys} onSaved={setLabelKeys} onClose={() => setOverlay(null)} />
      )}
      {overlay === 'flag' && (
        <FlagPrompt
          onClose={() => setOverlay(null)}
          onFlag={(reason) => {
            setOverlay(null);
            setReview('flagged', reason);
          }}
        />
      )}
      {pickerTarget && (
        <CatalogPicker
          title={pickerTarget.picker === 'box' ? 'Relabel the box' : 'Label for new boxes'}
          current={pickerTarget.picker === 'box' ? (dets.find((d) => d.id === pickerTarget.boxId)?.objectName ?? null) : drawLabel}
          onClose={() => setOverlay(null)}
          onPick={(label) => {
            setOverlay(null);
            if (pickerTarget.picker === 'box' && pickerTarget.boxId !== null) relabel(pickerTarget.boxId, label);
            else setDrawLabel(label);
          }}
        />
      )}
    </div>
  );
});
