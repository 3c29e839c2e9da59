/**
 * Box edits on the current photo, each sent to the engine at once (the engine writes the correction
 * row), applied to the screen optimistically, with per-photo undo/redo:
 *   update  ⇄ updateDetection back to the previous label/box
 *   add     ⇄ deleteDetection (redo: restoreDetection, the same row)
 *   delete  ⇄ restoreDetection
 *   verify  ⇄ verifyDetection back to the previous mark
 * Arrow-key nudges of one box are one edit: the box moves on screen at every press, and the burst is
 * sent as one updateDetection (one correction, one undo step) when it ends: after NUDGE_IDLE_MS without
 * a press, or at once on another edit, an undo or redo, another box or photo, or when the page is hidden
 * or left. Calls run one after another in the order made. Each carries the version of the box it was made on
 * (a box changed elsewhere meanwhile is refused as a 'conflict') and a client edit id: when the
 * connection drops before the answer, the same call is sent again once it is back, and the engine
 * applies it at most once; meanwhile the indicator says the edit is not saved yet. When a call fails,
 * the error stays on screen, the photo is reloaded from the engine and its undo history is dropped,
 * so the screen never shows an edit the engine does not have.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { BoundingBox } from '../../../shared/domain';
import type { ReviewDetection } from '../../../shared/rpc';
import type { Condition } from '../../../shared/condition';
import { errorMessage, RpcError, useApi, useApiHandle } from '../api';
import type { ConnectedApi } from '../transport';
import { moveBox, sameBox, type Size } from './geometry';

interface Change {
  objectName: string;
  boundingBox: BoundingBox;
}

export type Edit =
  | { kind: 'update'; id: number; before: Change; after: Change; version: number }
  | { kind: 'add'; det: ReviewDetection }
  | { kind: 'delete'; det: ReviewDetection }
  | { kind: 'verify'; id: number; before: boolean; after: boolean; version: number };

export type SaveState =
  | { state: 'idle' }
  | { state: 'saving'; n: number }
  /** Not saved yet: the connection is down; the edits are sent again when it is back. */
  | { state: 'offline'; n: number }
  | { state: 'saved'; at: number }
  | { state: 'error'; message: string };

/** How long edits wait for a lost connection to come back before they are given up as not saved. */
const RECONNECT_WAIT_MS = 120_000;

function waitForOpen(conn: ConnectedApi, ms: number): Promise<void> {
  if (conn.state === 'open') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new RpcError('disconnected', 'the connection to the engine did not come back: the edit was not saved'));
    }, ms);
    const off = conn.onState((s) => {
      if (s !== 'open') return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

const newEditId = () => crypto.randomUUID();

/** Nudges of one box closer together than this are one edit. */
export const NUDGE_IDLE_MS = 1000;

/** Nudges shown but not sent yet: one box, from `before` (at `version`) to `after`. */
interface Burst {
  obs: string;
  id: number;
  version: number;
  before: Change;
  after: Change;
  timer?: ReturnType<typeof setTimeout>;
}

interface History {
  undo: Edit[];
  redo: Edit[];
}

export interface EditsOptions {
  /** The photo on screen (edits are only made to it). */
  observationId: string | null;
  dets: readonly ReviewDetection[];
  setDets(update: (prev: ReviewDetection[]) => ReviewDetection[]): void;
  select(id: number | null): void;
  /** The engine refused or failed: reload the photo from it. */
  reload(observationId: string): void;
  /** After each edit of a photo has reached the engine (summary refresh, caches). */
  onSaved(observationId: string): void;
}

const changeOf = (d: ReviewDetection): Change => ({ objectName: d.objectName, boundingBox: d.boundingBox });

export function useEdits(opts: EditsOptions) {
  const api = useApi();
  const { connection } = useApiHandle();
  /** The version of each box as the engine last answered (the photo's detail, then each edit's result). */
  const versions = useRef(new Map<number, number>());
  const o = useRef(opts);
  o.current = opts;
  const histories = useRef(new Map<string, History>());
  const chain = useRef<Promise<unknown>>(Promise.resolve());
  const pendingByObs = useRef(new Map<string, number>());
  const inFlight = useRef(0);
  /** Bumps on every local edit: a reload started before it must not overwrite it. */
  const seq = useRef(0);
  const [save, setSave] = useState<SaveState>({ state: 'idle' });
  const [, setVersion] = useState(0);
  const [pendingBox, setPendingBox] = useState<BoundingBox | null>(null);
  const burst = useRef<Burst | null>(null);

  const history = (obs: string): History => {
    let h = histories.current.get(obs);
    if (!h) {
      h = { undo: [], redo: [] };
      histories.current.set(obs, h);
    }
    return h;
  };
  const touched = () => {
    seq.current++;
    setVersion((v) => v + 1);
  };
  const onCurrent = (obs: string, fn: () => void) => {
    if (o.current.observationId === obs) fn();
  };
  // versions only grow: the latest known is the larger of the last answer and what the screen was showing
  const versionOf = (id: number, shown: number) => Math.max(versions.current.get(id) ?? 0, shown);
  const noteVersion = (det: ReviewDetection) => versions.current.set(det.id, versionOf(det.id, det.version));
  const replaceDet = (obs: string, det: ReviewDetection) => {
    noteVersion(det);
    onCurrent(obs, () =>
      o.current.setDets((prev) => (prev.some((d) => d.id === det.id) ? prev.map((d) => (d.id === det.id ? det : d)) : [...prev, det])),
    );
  };
  const removeDet = (obs: string, id: number) => onCurrent(obs, () => o.current.setDets((prev) => prev.filter((d) => d.id !== id)));

  /** Sends the nudges under way, if any, as one edit (and one undo step). Every other edit calls it first. */
  const flush = useCallback(() => {
    const b = burst.current;
    if (!b) return;
    burst.current = null;
    clearTimeout(b.timer);
    if (sameBox(b.after.boundingBox, b.before.boundingBox)) {
      // nudged back where it was: nothing to save
      setSave((st) => (st.state === 'saving' && !inFlight.current ? { state: 'saved', at: Date.now() } : st));
      return;
    }
    const h = history(b.obs);
    h.undo.push({ kind: 'update', id: b.id, before: b.before, after: b.after, version: b.version });
    h.redo = [];
    touched();
    void sendUpdate(b.obs, b.id, b.version, { boundingBox: b.after.boundingBox }).catch(() => undefined);
  }, []);

  /** Runs an engine call after the ones before it; tracks the saved/error indicator. */
  const run = useCallback(
    <T>(obs: string, fn: () => Promise<T>): Promise<T> => {
      flush();
      inFlight.current++;
      pendingByObs.current.set(obs, (pendingByObs.current.get(obs) ?? 0) + 1);
      setSave({ state: 'saving', n: inFlight.current });
      // a call whose answer was lost to a dropped connection is sent again (same client edit id) once it is back
      const attempt = async (): Promise<T> => {
        for (let tries = 1; ; tries++) {
          try {
            return await fn();
          } catch (err) {
            if (!(err instanceof RpcError) || err.code !== 'disconnected' || !connection || tries >= 5) throw err;
            setSave({ state: 'offline', n: inFlight.current });
            await waitForOpen(connection, RECONNECT_WAIT_MS);
            setSave({ state: 'saving', n: inFlight.current });
          }
        }
      };
      const p = chain.current.then(attempt, attempt);
      chain.current = p.catch(() => undefined);
      const settle = () => {
        inFlight.current--;
        const left = (pendingByObs.current.get(obs) ?? 1) - 1;
        if (left) pendingByObs.current.set(obs, left);
        else pendingByObs.current.delete(obs);
      };
      p.then(
        () => {
          settle();
          setSave((s) =>
            s.state === 'error' ? s : inFlight.current ? { state: 'saving', n: inFlight.current } : { state: 'saved', at: Date.now() },
          );
          // (nudges shown but not sent yet count as pending: a reload now would undo them on screen)
          if (!pendingByObs.current.has(obs) && burst.current?.obs !== obs) o.current.onSaved(obs);
        },
        (err: unknown) => {
          settle();
          setSave({ state: 'error', message: errorMessage(err) });
          histories.current.delete(obs);
          versions.current.clear();
          setVersion((v) => v + 1);
          o.current.reload(obs);
        },
      );
      return p;
    },
    [connection],
  );

  // closing or reloading the page with edits not yet saved asks first (nudges under way are sent first);
  // a page hidden (another tab, minimised, closed) sends its nudges at once
  useEffect(() => {
    const onBeforeUnload = (e: BeforeUnloadEvent) => {
      flush();
      if (inFlight.current > 0) e.preventDefault();
    };
    const onHide = () => document.visibilityState === 'hidden' && flush();
    window.addEventListener('beforeunload', onBeforeUnload);
    window.addEventListener('pagehide', flush);
    document.addEventListener('visibilitychange', onHide);
    return () => {
      window.removeEventListener('beforeunload', onBeforeUnload);
      window.removeEventListener('pagehide', flush);
      document.removeEventListener('visibilitychange', onHide);
      // leaving Review for another screen
      flush();
    };
  }, [flush]);

  // another photo on screen: the nudges of the previous one are sent now
  useEffect(() => {
    if (burst.current && burst.current.obs !== opts.observationId) flush();
  }, [opts.observationId, flush]);

  const hasPending = useCallback((obs: string) => pendingByObs.current.has(obs) || burst.current?.obs === obs, []);

  /** Resolves when every edit made so far of `obs` has been answered (so a reload sees them). */
  const settled = useCallback((obs: string): Promise<void> => {
    if (burst.current?.obs === obs) flush();
    return pendingByObs.current.has(obs) ? chain.current.then(() => undefined) : Promise.resolve();
  }, []);

  /** `version`: the box's version when the edit was made, if no earlier edit of it is still on its way. */
  const sendUpdate = (obs: string, id: number, version: number, change: Partial<Change>) => {
    const clientEditId = newEditId();
    let v: number | undefined;
    return run(obs, () =>
      api.call('updateDetection', { detectionId: id, version: (v ??= versionOf(id, version)), clientEditId, ...change }),
    ).then((det) => replaceDet(obs, det));
  };
  const sendVerify = (obs: string, id: number, version: number, verified: boolean) => {
    const clientEditId = newEditId();
    let v: number | undefined;
    return run(obs, () =>
      api.call('verifyDetection', { detectionId: id, version: (v ??= versionOf(id, version)), verified, clientEditId }),
    ).then((det) => replaceDet(obs, det));
  };
  const sendDelete = (obs: string, id: number, version: number) => {
    const clientEditId = newEditId();
    let v: number | undefined;
    return run(obs, () => api.call('deleteDetection', { detectionId: id, version: (v ??= versionOf(id, version)), clientEditId })).then(
      (det) => noteVersion(det),
    );
  };

  const update = useCallback((id: number, change: Partial<Change>) => {
    flush();
    const obs = o.current.observationId;
    const d = o.current.dets.find((x) => x.id === id);
    if (!obs || !d) return;
    const before = changeOf(d);
    const after: Change = { ...before, ...change };
    const diff: Partial<Change> = {};
    if (after.objectName !== before.objectName) diff.objectName = after.objectName;
    if (!sameBox(after.boundingBox, before.boundingBox)) diff.boundingBox = after.boundingBox;
    if (!Object.keys(diff).length) return;
    o.current.setDets((prev) => prev.map((x) => (x.id === id ? { ...x, ...after } : x)));
    const h = history(obs);
    h.undo.push({ kind: 'update', id, before, after, version: d.version });
    h.redo = [];
    touched();
    void sendUpdate(obs, id, d.version, diff).catch(() => undefined);
  }, []);

  /** Moves a box by (dx, dy) on screen at once; the engine gets the burst's sum when it ends (see flush). */
  const nudge = useCallback((id: number, dx: number, dy: number, size: Size) => {
    const obs = o.current.observationId;
    const d = o.current.dets.find((x) => x.id === id);
    if (!obs || !d) return;
    if (burst.current && (burst.current.obs !== obs || burst.current.id !== id)) flush();
    // from the burst's own position: two presses before a re-render must not read a stale box
    const b = (burst.current ??= { obs, id, version: d.version, before: changeOf(d), after: changeOf(d) });
    const box = moveBox(b.after.boundingBox, dx, dy, size);
    b.after = { ...b.after, boundingBox: box };
    clearTimeout(b.timer);
    b.timer = setTimeout(flush, NUDGE_IDLE_MS);
    // not saved until the burst is sent: the indicator says so
    setSave({ state: 'saving', n: inFlight.current + 1 });
    o.current.setDets((prev) => prev.map((x) => (x.id === id ? { ...x, boundingBox: box } : x)));
    touched();
  }, []);

  /** Marks a box as checked by the auditor, or clears the mark: an edit of its own (undoable). */
  const verify = useCallback((id: number, verified: boolean) => {
    flush();
    const obs = o.current.observationId;
    const d = o.current.dets.find((x) => x.id === id);
    if (!obs || !d || d.verified === verified) return;
    o.current.setDets((prev) => prev.map((x) => (x.id === id ? { ...x, verified } : x)));
    const h = history(obs);
    h.undo.push({ kind: 'verify', id, before: d.verified, after: verified, version: d.version });
    h.redo = [];
    touched();
    void sendVerify(obs, id, d.version, verified).catch(() => undefined);
  }, []);

  const add = useCallback(
    (objectName: string, boundingBox: BoundingBox) => {
      flush();
      const obs = o.current.observationId;
      if (!obs) return;
      setPendingBox(boundingBox);
      touched();
      const clientEditId = newEditId();
      run(obs, () => api.call('addDetection', { observationId: obs, objectName, boundingBox, clientEditId }))
        .then((det) => {
          replaceDet(obs, det);
          onCurrent(obs, () => o.current.select(det.id));
          const h = history(obs);
          h.undo.push({ kind: 'add', det });
          h.redo = [];
          touched();
        })
        .catch(() => undefined)
        .finally(() => setPendingBox(null));
    },
    [api, run],
  );

  const remove = useCallback(
    (id: number) => {
      flush();
      const obs = o.current.observationId;
      const d = o.current.dets.find((x) => x.id === id);
      if (!obs || !d) return;
      removeDet(obs, id);
      o.current.select(null);
      const h = history(obs);
      h.undo.push({ kind: 'delete', det: d });
      h.redo = [];
      touched();
      void sendDelete(obs, id, d.version).catch(() => undefined);
    },
    [api, run],
  );

  /** Applies an edit forwards (redo) or backwards (undo). */
  const replay = (obs: string, e: Edit, backwards: boolean) => {
    touched();
    // the version the undo or redo is made on: the box as the engine last answered for it
    if (e.kind === 'update') {
      const target = backwards ? e.before : e.after;
      o.current.setDets((prev) => prev.map((x) => (x.id === e.id ? { ...x, ...target } : x)));
      o.current.select(e.id);
      void sendUpdate(obs, e.id, e.version, target).catch(() => undefined);
      return;
    }
    if (e.kind === 'verify') {
      const verified = backwards ? e.before : e.after;
      o.current.setDets((prev) => prev.map((x) => (x.id === e.id ? { ...x, verified } : x)));
      o.current.select(e.id);
      void sendVerify(obs, e.id, e.version, verified).catch(() => undefined);
      return;
    }
    const restore = (e.kind === 'delete') === backwards; // undo a delete, redo an add
    if (restore) {
      replaceDet(obs, e.det);
      o.current.select(e.det.id);
      const clientEditId = newEditId();
      let v: number | undefined;
      void run(obs, () =>
        api.call('restoreDetection', { detectionId: e.det.id, version: (v ??= versionOf(e.det.id, e.det.version)), clientEditId }),
      )
        .then((det) => replaceDet(obs, det))
        .catch(() => undefined);
    } else {
      removeDet(obs, e.det.id);
      o.current.select(null);
      void sendDelete(obs, e.det.id, e.det.version).catch(() => undefined);
    }
  };

  const undo = useCallback(() => {
    flush();
    const obs = o.current.observationId;
    const h = obs ? histories.current.get(obs) : undefined;
    const e = h?.undo.pop();
    if (!obs || !h || !e) return false;
    h.redo.push(e);
    replay(obs, e, true);
    return true;
  }, []);

  const redo = useCallback(() => {
    flush();
    const obs = o.current.observationId;
    const h = obs ? histories.current.get(obs) : undefined;
    const e = h?.redo.pop();
    if (!obs || !h || !e) return false;
    h.undo.push(e);
    replay(obs, e, false);
    return true;
  }, []);

  /** BuildingScan: grades a box (null clears); after the edits before it, at the box's latest version. Not in the undo history. */
  const grade = useCallback((id: number, condition: Condition | null) => {
    flush();
    const obs = o.current.observationId;
    const d = o.current.dets.find((x) => x.id === id);
    if (!obs || !d) return;
    o.current.setDets((prev) => prev.map((x) => (x.id === id ? { ...x, condition } : x)));
    touched();
    const clientEditId = newEditId();
    let v: number | undefined;
    void run(obs, () =>
      api.call('setDetectionCondition', { detectionId: id, version: (v ??= versionOf(id, d.version)), condition, clientEditId }),
    )
      .then((det) => replaceDet(obs, det))
      .catch(() => undefined);
  }, []);

  const h = opts.observationId ? histories.current.get(opts.observationId) : undefined;
  const nudging = !!opts.observationId && burst.current?.obs === opts.observationId;
  return {
    update,
    nudge,
    flush,
    verify,
    grade,
    add,
    remove,
    undo,
    redo,
    run,
    settled,
    hasPending,
    save,
    setSave,
    pendingBox,
    seq,
    canUndo: !!h?.undo.length || nudging,
    canRedo: !!h?.redo.length,
  };
}
