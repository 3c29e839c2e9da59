/**
 * The photo with its boxes: an <img> and an SVG overlay in photo pixels (viewBox = natural size), both
 * inside one stage scaled and translated by CSS. Zoom to fit / 100 % / wheel around the cursor; pan by
 * dragging the background, with the middle button, or with Space held; select, move, resize (corner
 * and edge handles) and draw boxes with the pointer (a crosshair and guide lines while drawing). Edits
 * are reported once, when the pointer is released. Boxes of locked labels are drawn but take no pointer
 * (a click goes through to what is under them); each box's name is placed by ./labels.ts.
 */
import {
  useCallback,
  useEffect,
  useImperativeHandle,
  useLayoutEffect,
  useRef,
  useState,
  type MouseEvent as ReactMouseEvent,
  type PointerEvent as ReactPointerEvent,
  type Ref,
} from 'react';
import type { BoundingBox } from '../../../shared/domain';
import type { ReviewDetection } from '../../../shared/rpc';
import {
  boxFromPoints,
  clamp,
  handlePoint,
  HANDLES,
  labelColor,
  MIN_BOX,
  moveBox,
  resizeBox,
  roundBox,
  sameBox,
  type Handle,
  type Size,
} from './geometry';
import { LABEL_FONT_PX, labelMetrics, placeLabels } from './labels';

/** A 1 × 1 bitmap, made synchronously (see the bitmap canvas's cleanup). */
let tinyCanvas: OffscreenCanvas | null = null;
function tinyBitmap(): ImageBitmap | null {
  if (typeof OffscreenCanvas === 'undefined') return null;
  if (!tinyCanvas) {
    tinyCanvas = new OffscreenCanvas(1, 1);
    tinyCanvas.getContext('2d');
  }
  return tinyCanvas.transferToImageBitmap();
}

export interface CanvasHandle {
  fit(): void;
  actualSize(): void;
}

export interface PanKey {
  held: boolean;
  used: boolean;
}

interface Props {
  ref?: Ref<CanvasHandle>;
  /** The photo itself. */
  src: string;
  /**
   * Its screen-sized view (VIEW_LONG_SIDE px on the long side), shown instead until the zoom needs more
   * pixels than it has: a 12 MP photo costs ~100 ms to decode and 48 MB once decoded, its view a tenth.
   */
  viewSrc?: string;
  /**
   * The photo decoded ahead and scaled to this canvas's area (usePhotoCache.prefetch): drawn at once in a canvas
   * while it has the pixels the screen shows (at fit), instead of an <img> that decodes as it paints.
   */
  bitmap?: ImageBitmap | null;
  /**
   * The photo is being decoded ahead and its bitmap is not there yet: wait for it (up to BITMAP_WAIT_MS)
   * rather than load the view in an <img> too, whose decode Chromium keeps in its image cache (~12 MB a
   * photo, for the session: most of the renderer's growth pressing straight on through 12 MP photos).
   */
  bitmapPending?: boolean;
  /** Size known from the queue row (before the image loads); the image's natural size wins. */
  size: Size | null;
  /** The area the photo is shown in (CSS pixels), when laid out and on every resize: what bitmaps are decoded for. */
  onArea?(area: Size): void;
  detections: readonly ReviewDetection[];
  selectedId: number | null;
  /** The box under the pointer here or in the box list: highlighted, its label always shown. */
  hoveredId: number | null;
  /** Labels whose boxes are locked: drawn, but not selectable, movable or resizable here. */
  locked: ReadonlySet<string>;
  drawing: boolean;
  /** A box drawn and sent, not yet confirmed by the engine. */
  pendingBox: BoundingBox | null;
  panKey: { current: PanKey };
  onSelect(id: number | null): void;
  onHover(id: number | null): void;
  onCommitBox(id: number, box: BoundingBox): void;
  onDraw(box: BoundingBox): void;
  onOpenPicker(id: number): void;
}

interface View {
  scale: number;
  tx: number;
  ty: number;
  fit: boolean;
}

type Drag =
  | { kind: 'pan'; x0: number; y0: number; tx0: number; ty0: number; moved: boolean; deselect: boolean }
  | { kind: 'move'; id: number; px0: number; py0: number; x0: number; y0: number; box0: BoundingBox; box: BoundingBox; moved: boolean }
  | { kind: 'resize'; id: number; handle: Handle; box0: BoundingBox; box: BoundingBox }
  | { kind: 'draw'; px0: number; py0: number; box: BoundingBox };

const MIN_SCALE = 0.02;
const MAX_SCALE = 32;
const DRAG_THRESHOLD = 3;
/** Boxes narrower than this on screen get no text label (hover shows it). */
const LABEL_MIN_PX = 56;
/** The long side of the hosts' views (engine/thumbs.ts VIEW). */
export const VIEW_LONG_SIDE = 2000;
/** And of their small views (engine/thumbs.ts SMALL_VIEW), decoded ahead at fit where they are enough. */
export const SMALL_VIEW_LONG_SIDE = 1280;
/** How long a photo whose bitmap is on its way waits for it before the view is loaded in an <img>. */
const BITMAP_WAIT_MS = 1000;

export function PhotoCanvas(props: Props) {
  const {
    src,
    detections,
    selectedId,
    hoveredId,
    locked,
    drawing,
    pendingBox,
    panKey,
    onSelect,
    onHover,
    onCommitBox,
    onDraw,
    onOpenPicker,
  } = props;
  const viewport = useRef<HTMLDivElement>(null);
  const [natural, setNatural] = useState<Size | null>(null);
  const [loaded, setLoaded] = useState<'loading' | 'ok' | 'error'>('loading');
  /** Why the photo failed to load, from the host's status (409: changed since the audit, 410: gone). */
  const [failure, setFailure] = useState<number | null>(null);
  const [vp, setVp] = useState<Size>({ width: 0, height: 0 });
  const [view, setView] = useState<View>({ scale: 1, tx: 0, ty: 0, fit: true });
  const [drag, setDrag] = useState<Drag | null>(null);
  /** The pointer in photo pixels while drawing: where the guide lines cross. */
  const [aim, setAim] = useState<[number, number] | null>(null);
  const size = natural ?? props.size;
  const viewRef = useRef(view);
  viewRef.current = view;
  /** Zoomed in past the view's pixels once: the photo itself from then on (for this photo). */
  const [full, setFull] = useState(false);
  // a new photo: forget the previous one's size and go back to fit
  useLayoutEffect(() => {
    setFull(false);
    setNatural(null);
    setLoaded('loading');
    setFailure(null);
    setDrag(null);
    setView((v) => ({ ...v, fit: true }));
  }, [src]);

  // an <img> does not tell why it failed: ask the host (HEAD) for the status
  useEffect(() => {
    if (loaded !== 'error') return;
    let live = true;
    fetch(src, { method: 'HEAD' })
      .then((r) => live && setFailure(r.status))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [loaded, src]);

  const onArea = useRef(props.onArea);
  onArea.current = props.onArea;
  useLayoutEffect(() => {
    const el = viewport.current;
    if (!el) return;
    const measure = () => {
      const a = { width: el.clientWidth, height: el.clientHeight };
      setVp(a);
      onArea.current?.(a);
    };
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    measure();
    return () => ro.disconnect();
  }, []);

  const fitView = useCallback((): View | null => {
    if (!size || !vp.width || !vp.height) return null;
    const scale = Math.min(vp.width / size.width, vp.height / size.height);
    return { scale, tx: (vp.width - size.width * scale) / 2, ty: (vp.height - size.height * scale) / 2, fit: true };
  }, [size, vp]);

  // the view while it has the pixels the screen shows (at fit: the fit scale, even before it is applied)
  const shownScale = view.fit ? (fitView()?.scale ?? 0) : view.scale;
  const needsFull =
    !props.viewSrc ||
    full ||
    // a photo no larger than a view is its own view
    (size !== null && Math.max(size.width, size.height) <= VIEW_LONG_SIDE) ||
    (size !== null && shownScale * (window.devicePixelRatio || 1) * Math.max(size.width, size.height) > VIEW_LONG_SIDE * 1.05);
  const imgSrc = needsFull ? src : props.viewSrc!;
  if (needsFull && !full && props.viewSrc) setFull(true);
  // the bitmap decoded ahead, taken for this photo when first given (it is handed to the canvas, not copied),
  // shown while it has the pixels the screen needs; zoomed in past them once, the <img> from then on
  const held = useRef<{ src: string; bitmap: ImageBitmap; width: number; height: number; shown: boolean } | null>(null);
  if (props.bitmap?.width && held.current?.src !== src)
    held.current = { src, bitmap: props.bitmap, width: props.bitmap.width, height: props.bitmap.height, shown: false };
  const bitmap = held.current?.src === src ? held.current : null;
  const [bitmapSpent, setBitmapSpent] = useState<string | null>(null);
  const bitmapEnough =
    bitmap !== null &&
    size !== null &&
    shownScale * (window.devicePixelRatio || 1) * Math.max(size.width, size.height) <= Math.max(bitmap.width, bitmap.height) * 1.05;
  if (bitmap && !bitmapEnough && bitmapSpent !== src) setBitmapSpent(src);
  // (a bitmap the cache closed before it was shown has nothing left to show)
  const showBitmap = bitmap !== null && bitmapEnough && bitmapSpent !== src && (bitmap.shown || bitmap.bitmap.width > 0);
  // a bitmap on its way, at fit: nothing is loaded meanwhile (not the view too), for BITMAP_WAIT_MS at most
  const [waitedFor, setWaitedFor] = useState<string | null>(null);
  const waitForBitmap = !!props.bitmapPending && bitmap === null && !needsFull && waitedFor !== src;
  useEffect(() => {
    if (!waitForBitmap) return;
    const timer = setTimeout(() => setWaitedFor(src), BITMAP_WAIT_MS);
    return () => clearTimeout(timer);
  }, [waitForBitmap, src]);
  const bitmapCanvas = useRef<HTMLCanvasElement>(null);
  useLayoutEffect(() => {
    const c = bitmapCanvas.current;
    const b = bitmap?.bitmap;
    if (!showBitmap || !c || !b?.width) return;
    // handed over, not drawn: no copy of the pixels in the keypress's frame
    c.width = b.width;
    c.height = b.height;
    const ctx = c.getContext('bitmaprenderer');
    ctx?.transferFromImageBitmap(b);
    bitmap.shown = true;
    c.dataset.drawn = 'true';
    // One canvas shows photo after photo (no key per photo), and each photo's pixels are let go when the
    // next comes by handing the canvas a 1 × 1 bitmap. A canvas taken out of the page keeps its pixels, and
    // the compositor's shared-memory copies of them, until it is garbage collected, which pixels alone do
    // not prompt. Measured pressing straight on, 100 photos a segment, 12 MP, no GPU (scratch loop, three
    // segments each, 2026-12-08): browser memory before a collection +56/+63/+84 MB a segment with a new
    // canvas per photo released by transferFromImageBitmap(null) (which also puts a blank bitmap of the
    // canvas's size in their place: ~6 ms in the next commit), +27/+56/+43 MB this way, the renderer's
    // shared memory flat (39–50 MB); keypress → paint p50 29–32 → 26 ms, p95 41–51 → 33–35 ms. (An earlier
    // trial of one lasting canvas had brought frames of 60–100 ms pressing straight on. Not seen now: bench:review
    // straight-on p95 32.0–52.4 ms over nine runs, 41.8 and 54.2 ms for a canvas per photo side by side.)
    return () => {
      ctx?.transferFromImageBitmap(tinyBitmap());
      c.width = 0;
      c.height = 0;
      delete c.dataset.drawn;
    };
  }, [showBitmap, bitmap]);

  // keep fitting while in fit mode (new photo, window resized)
  useLayoutEffect(() => {
    if (!view.fit) return;
    const f = fitView();
    if (f && (f.scale !== view.scale || f.tx !== view.tx || f.ty !== view.ty)) setView(f);
  }, [fitView, view]);

  const zoomAt = useCallback((factor: number, cx: number, cy: number) => {
    setView((v) => {
      const scale = clamp(v.scale * factor, MIN_SCALE, MAX_SCALE);
      const k = scale / v.scale;
      return { scale, tx: cx - (cx - v.tx) * k, ty: cy - (cy - v.ty) * k, fit: false };
    });
  }, []);

  useImperativeHandle(
    props.ref,
    () => ({
      fit: () => {
        const f = fitView();
        if (f) setView(f);
      },
      actualSize: () => zoomAt(1 / viewRef.current.scale, vp.width / 2, vp.height / 2),
    }),
    [fitView, zoomAt, vp],
  );

  // wheel zoom around the cursor (a non-passive listener: the page must not scroll)
  useEffect(() => {
    const el = viewport.current;
    if (!el) return;
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      const r = el.getBoundingClientRect();
      const dy = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaMode === 2 ? e.deltaY * 400 : e.deltaY;
      zoomAt(Math.exp(-dy * 0.0015), e.clientX - r.left, e.clientY - r.top);
    };
    el.addEventListener('wheel', onWheel, { passive: false });
    return () => el.removeEventListener('wheel', onWheel);
  }, [zoomAt]);

  const toPhoto = (e: { clientX: number; clientY: number }): [number, number] => {
    const r = viewport.current!.getBoundingClientRect();
    const v = viewRef.current;
    return [(e.clientX - r.left - v.tx) / v.scale, (e.clientY - r.top - v.ty) / v.scale];
  };

  const onPointerDown = (e: ReactPointerEvent<HTMLDivElement>) => {
    if (e.button !== 0 && e.button !== 1) return;
    const el = viewport.current!;
    el.focus({ preventScroll: true });
    const target = e.target as Element;
    const [px, py] = toPhoto(e);
    const v = viewRef.current;
    let next: Drag | null = null;
    if (e.button === 1 || panKey.current.held) {
      panKey.current.used = true;
      next = { kind: 'pan', x0: e.clientX, y0: e.clientY, tx0: v.tx, ty0: v.ty, moved: false, deselect: false };
    } else if (drawing && size) {
      next = { kind: 'draw', px0: px, py0: py, box: boxFromPoints(px, py, px, py, size) };
    } else {
      const handle = target.closest('[data-handle]')?.getAttribute('data-handle') as Handle | null | undefined;
      const boxId = Number(target.closest('[data-box-id]')?.getAttribute('data-box-id') ?? NaN);
      const selected = detections.find((d) => d.id === selectedId);
      if (handle && selected) {
        next = { kind: 'resize', id: selected.id, handle, box0: selected.boundingBox, box: selected.boundingBox };
      } else if (Number.isFinite(boxId)) {
        const d = detections.find((x) => x.id === boxId);
        if (d) {
          onSelect(d.id);
          next = {
            kind: 'move',
            id: d.id,
            px0: px,
            py0: py,
            x0: e.clientX,
            y0: e.clientY,
            box0: d.boundingBox,
            box: d.boundingBox,
            moved: false,
          };
        }
      } else {
        next = { kind: 'pan', x0: e.clientX, y0: e.clientY, tx0: v.tx, ty0: v.ty, moved: false, deselect: true };
      }
    }
    if (!next) return;
    e.preventDefault();
    el.setPointerCapture(e.pointerId);
    setDrag(next);
  };

  const onPointerMove = (e: ReactPointerEvent<HTMLDivElement>) => {
    if (!size) return;
    const [px, py] = toPhoto(e);
    if (drawing) setAim([clamp(px, 0, size.width), clamp(py, 0, size.height)]);
    if (!drag) return;
    switch (drag.kind) {
      case 'pan': {
        const dx = e.clientX - drag.x0;
        const dy = e.clientY - drag.y0;
        const moved = drag.moved || Math.hypot(dx, dy) > DRAG_THRESHOLD;
        if (moved) setView((v) => ({ ...v, tx: drag.tx0 + dx, ty: drag.ty0 + dy, fit: false }));
        if (moved !== drag.moved) setDrag({ ...drag, moved });
        break;
      }
      case 'move': {
        const moved = drag.moved || Math.hypot(e.clientX - drag.x0, e.clientY - drag.y0) > DRAG_THRESHOLD;
        if (!moved) break;
        setDrag({ ...drag, moved, box: moveBox(drag.box0, Math.round(px - drag.px0), Math.round(py - drag.py0), size) });
        break;
      }
      case 'resize':
        setDrag({ ...drag, box: resizeBox(drag.box0, drag.handle, Math.round(px), Math.round(py), size) });
        break;
      case 'draw':
        setDrag({ ...drag, box: boxFromPoints(drag.px0, drag.py0, px, py, size) });
        break;
    }
  };

  const onPointerUp = (e: ReactPointerEvent<HTMLDivElement>) => {
    const d = drag;
    if (!d) return;
    viewport.current?.releasePointerCapture(e.pointerId);
    setDrag(null);
    switch (d.kind) {
      case 'pan':
        if (!d.moved && d.deselect) onSelect(null);
        break;
      case 'move':
      case 'resize':
        if (!sameBox(d.box, d.box0)) onCommitBox(d.id, roundBox(d.box));
        break;
      case 'draw': {
        const s = viewRef.current.scale;
        if (d.box.width * s >= 4 && d.box.height * s >= 4 && d.box.width >= MIN_BOX && d.box.height >= MIN_BOX) onDraw(roundBox(d.box));
        break;
      }
    }
  };

  const onDoubleClick = (e: ReactMouseEvent) => {
    // the viewport holds the pointer capture from the clicks, so the event's target is the viewport,
    // not the box: find the box under the pointer instead (its outline, its inside or its name; a
    // handle is the selected box's)
    const under = document.elementFromPoint(e.clientX, e.clientY) ?? (e.target as Element);
    const boxId = under.closest('[data-handle]') ? selectedId : Number(under.closest('[data-box-id]')?.getAttribute('data-box-id') ?? NaN);
    if (boxId !== null && Number.isFinite(boxId)) onOpenPicker(boxId);
  };

  const s = view.scale;
  // larger boxes first, so smaller ones (drawn later, on top) stay clickable
  const ordered = [...detections].sort((a, b) => b.boundingBox.width * b.boundingBox.height - a.boundingBox.width * a.boundingBox.height);
  const boxOf = (d: ReviewDetection) =>
    drag && (drag.kind === 'move' || drag.kind === 'resize') && drag.id === d.id ? drag.box : d.boundingBox;
  const selected = detections.find((d) => d.id === selectedId && !locked.has(d.objectName)) ?? null;
  const font = LABEL_FONT_PX / s;
  const handle = 9 / s;
  // names where they fit on screen (dense shelves stay readable), the selected and hovered boxes' always,
  // placed first; then by score
  const named = detections
    .filter((d) => d.id === selectedId || d.id === hoveredId || boxOf(d).width * s >= LABEL_MIN_PX)
    .sort((a, b) => rank(a) - rank(b) || b.confidence - a.confidence || a.id - b.id);
  function rank(d: ReviewDetection) {
    return d.id === selectedId ? 0 : d.id === hoveredId ? 1 : 2;
  }
  const labels = size
    ? placeLabels(
        named.map((d) => ({ id: d.id, box: boxOf(d), text: labelText(d) })),
        s,
        size.width,
        labelMetrics(),
      )
    : new Map<number, never>();

  const cls = [
    'viewport',
    drawing ? 'is-drawing' : '',
    drag?.kind === 'resize' ? `is-resizing-${drag.handle}` : '',
    drag?.kind === 'pan' && drag.moved ? 'is-panning' : '',
    s >= 3 ? 'is-pixelated' : '',
  ].join(' ');

  return (
    <div
      ref={viewport}
      className={cls}
      tabIndex={0}
      data-testid="review-viewport"
      aria-label="Photo with detection boxes"
      onPointerDown={onPointerDown}
      onPointerMove={onPointerMove}
      onPointerUp={onPointerUp}
      onPointerCancel={onPointerUp}
      onPointerLeave={() => setAim(null)}
      onDoubleClick={onDoubleClick}
      onContextMenu={(e) => e.preventDefault()}
    >
      {size && (
        <div
          className="stage"
          style={{ width: size.width, height: size.height, transform: `translate(${view.tx}px, ${view.ty}px) scale(${s})` }}
        >
          {showBitmap ? (
            <canvas ref={bitmapCanvas} className="photo-bitmap" data-testid="review-bitmap" data-src={src} />
          ) : waitForBitmap ? null : (
            <img
              key={src}
              src={imgSrc}
              alt=""
              draggable={false}
              data-testid="review-image"
              width={size.width}
              height={size.height}
              onLoad={(e) => {
                const img = e.currentTarget;
                setLoaded('ok');
                // the photo itself tells its true size (a view is smaller by design)
                if (imgSrc !== src) return;
                if (img.naturalWidth && img.naturalHeight && (img.naturalWidth !== size.width || img.naturalHeight !== size.height)) {
                  setNatural({ width: img.naturalWidth, height: img.naturalHeight });
                }
              }}
              onError={() => setLoaded('error')}
            />
          )}
          <svg
            className="overlay"
            data-testid="review-overlay"
            viewBox={`0 0 ${size.width} ${size.height}`}
            width={size.width}
            height={size.height}
          >
            {ordered.map((d) => {
              const b = boxOf(d);
              const isSel = d.id === selected?.id;
              const isLocked = locked.has(d.objectName);
              // a locked box takes no pointer: no box id for the canvas to act on
              const boxId = isLocked ? undefined : d.id;
              const cls = ['box', isSel && 'is-selected', d.id === hoveredId && 'is-hovered', d.source === 'user' && 'is-user']
                .concat([isLocked && 'is-locked', d.verified && 'is-verified'])
                .filter(Boolean)
                .join(' ');
              return (
                <g
                  key={d.id}
                  data-testid="box"
                  data-id={d.id}
                  data-label={d.objectName}
                  data-condition={d.condition ?? ''}
                  data-selected={isSel ? 'true' : 'false'}
                  data-hovered={d.id === hoveredId ? 'true' : 'false'}
                  data-locked={isLocked ? 'true' : 'false'}
                  className={cls}
                  style={{ color: labelColor(d.objectName) }}
                  onPointerEnter={() => !isLocked && onHover(d.id)}
                  onPointerLeave={() => !isLocked && onHover(null)}
                >
                  <rect className="halo" x={b.x} y={b.y} width={b.width} height={b.height} vectorEffect="non-scaling-stroke" />
                  <rect data-box-id={boxId} x={b.x} y={b.y} width={b.width} height={b.height} vectorEffect="non-scaling-stroke">
                    <title>{`${d.objectName} ${d.confidence.toFixed(2)}${boxNote(d)}`}</title>
                  </rect>
                </g>
              );
            })}
            {/* the names above every box: never under another box's inside, so a click or double-click on a name is its box's */}
            <g className="box-names">
              {named.map((d) => {
                const label = labels.get(d.id);
                if (!label) return null;
                const isLocked = locked.has(d.objectName);
                return (
                  <text
                    key={d.id}
                    className="box-name"
                    data-testid="box-name"
                    data-id={d.id}
                    data-box-id={isLocked ? undefined : d.id}
                    data-inside={label.inside}
                    x={label.x}
                    y={label.y}
                    fontSize={font}
                    style={{ color: labelColor(d.objectName) }}
                    onPointerEnter={() => !isLocked && onHover(d.id)}
                    onPointerLeave={() => !isLocked && onHover(null)}
                  >
                    {labelText(d)}
                  </text>
                );
              })}
            </g>
            {drawing && aim && (!drag || drag.kind === 'draw') && (
              <g className="guides" data-testid="draw-guides">
                <line x1={0} y1={aim[1]} x2={size.width} y2={aim[1]} vectorEffect="non-scaling-stroke" />
                <line x1={aim[0]} y1={0} x2={aim[0]} y2={size.height} vectorEffect="non-scaling-stroke" />
              </g>
            )}
            {selected &&
              HANDLES.map((c) => {
                const [cx, cy] = handlePoint(boxOf(selected), c);
                return (
                  <rect
                    key={c}
                    className={`handle handle-${c}`}
                    data-handle={c}
                    data-testid={`handle-${c}`}
                    x={cx - handle / 2}
                    y={cy - handle / 2}
                    width={handle}
                    height={handle}
                    vectorEffect="non-scaling-stroke"
                  />
                );
              })}
            {drag?.kind === 'draw' && (
              <rect
                className="drawing"
                x={drag.box.x}
                y={drag.box.y}
                width={drag.box.width}
                height={drag.box.height}
                vectorEffect="non-scaling-stroke"
              />
            )}
            {pendingBox && (
              <rect
                className="drawing is-pending"
                x={pendingBox.x}
                y={pendingBox.y}
                width={pendingBox.width}
                height={pendingBox.height}
                vectorEffect="non-scaling-stroke"
              />
            )}
          </svg>
        </div>
      )}
      {!size && (
        // size unknown until the file loads: a hidden probe reads it
        <img
          key={src}
          className="size-probe"
          src={src}
          alt=""
          onLoad={(e) => setNatural({ width: e.currentTarget.naturalWidth, height: e.currentTarget.naturalHeight })}
          onError={() => setLoaded('error')}
        />
      )}
      {loaded === 'loading' && !showBitmap && <div className="viewport-note">Loading photo…</div>}
      {loaded === 'error' && (
        <div className="viewport-note is-error" data-testid="photo-error" data-status={failure ?? undefined}>
          {failure === 409
            ? 'The photo file changed since it was audited: re-import it'
            : failure === 410
              ? 'The photo file is gone (moved or deleted)'
              : 'The photo file cannot be shown (moved or deleted?)'}
        </div>
      )}
      <div className="zoom-badge" data-testid="zoom-level">
        {view.fit ? 'Fit · ' : ''}
        {Math.round(s * 100)} %
      </div>
    </div>
  );
}

function boxNote(d: { source: string; corrected: boolean; verified: boolean }): string {
  return (d.source === 'user' ? ' (drawn)' : d.corrected ? ' (corrected)' : '') + (d.verified ? ' (verified)' : '');
}

/** The name drawn on a box: ✓ when verified, the model's score while the box is the model's as it gave it, the grade. */
function labelText(d: ReviewDetection): string {
  const score = d.source === 'model' && !d.corrected ? ` ${d.confidence.toFixed(2)}` : '';
  return `${d.verified ? '✓ ' : ''}${d.objectName}${score}${d.condition ? ` · ${d.condition}` : ''}`;
}
