/**
 * Box edits on the current photo, each sent to the engine at once (the engine writes the correction
 * row), applied to the screen optimistically, with per-photo undo/redo:
 *   update  ⇄ updateDetection back to the previous label/box
 *   add     ⇄ deleteDetection (redo: restoreDetection, the same row)
 *   delete  ⇄ restoreDetection
 * Calls run one after another in the order made. When one fails, the error stays on screen, the
 * photo is reloaded from the engine and its undo history is dropped, so the screen never shows an
 * edit the engine does not have.
 */
import { useCallback, useRef, useState } from 'react';
import type { BoundingBox } from '../../../shared/domain';
import type { ReviewDetection } from '../../../shared/rpc';
import { errorMessage, useApi } from '../api';
import { sameBox } from './geometry';

interface Change {
  objectName: string;
  boundingBox: BoundingBox;
}

export type Edit =
  | { kind: 'update'; id: number; before: Change; after: Change }
  | { kind: 'add'; det: ReviewDetection }
  | { kind: 'delete'; det: ReviewDetection };

export type SaveState =
  { state: 'idle' } | { state: 'saving'; n: number } | { state: 'saved'; at: number } | { state: 'error'; message: string };

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
  const replaceDet = (obs: string, det: ReviewDetection) =>
    onCurrent(obs, () =>
      o.current.setDets((prev) => (prev.some((d) => d.id === det.id) ? prev.map((d) => (d.id === det.id ? det : d)) : [...prev, det])),
    );
  const removeDet = (obs: string, id: number) => onCurrent(obs, () => o.current.setDets((prev) => prev.filter((d) => d.id !== id)));

  /** Runs an engine call after the ones before it; tracks the saved/error indicator. */
  const run = useCallback(<T>(obs: string, fn: () => Promise<T>): Promise<T> => {
    inFlight.current++;
    pendingByObs.current.set(obs, (pendingByObs.current.get(obs) ?? 0) + 1);
    setSave({ state: 'saving', n: inFlight.current });
    const p = chain.current.then(fn, fn);
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
        if (!pendingByObs.current.has(obs)) o.current.onSaved(obs);
      },
      (err: unknown) => {
        settle();
        setSave({ state: 'error', message: errorMessage(err) });
        histories.current.delete(obs);
        setVersion((v) => v + 1);
        o.current.reload(obs);
      },
    );
    return p;
  }, []);

  const hasPending = useCallback((obs: string) => pendingByObs.current.has(obs), []);

  /** Resolves when every edit made so far of `obs` has been answered (so a reload sees them). */
  const settled = useCallback(
    (obs: string): Promise<void> => (pendingByObs.current.has(obs) ? chain.current.then(() => undefined) : Promise.resolve()),
    [],
  );

  const sendUpdate = (obs: string, id: number, change: Partial<Change>) =>
    run(obs, () => api.call('updateDetection', { detectionId: id, ...change })).then((det) => replaceDet(obs, det));

  const update = useCallback((id: number, change: Partial<Change>) => {
    const obs = o.current.observationId;
    const d = o.current.dets.find((x) => x.id === id);
    if (!obs || !d) return;
    const before = changeOf(d);
    const after: Change = { ...before, ...change };
    const diff: Partial<Change> = {};
    if (after.objectName !== before.objectName) diff.objectName = after.objectName;
    if (!sameBox(after.boundingBox, before.boundingBox)) diff.boundingBox = after.boundingBox;
    if (!Object.keys(diff).length) return;
    o.current.setDets((prev) => prev.map((x) => (x.id === id ? { ...x, ...after, corrected: true } : x)));
    const h = history(obs);
    h.undo.push({ kind: 'update', id, before, after });
    h.redo = [];
    touched();
    void sendUpdate(obs, id, diff).catch(() => undefined);
  }, []);

  const add = useCallback(
    (objectName: string, boundingBox: BoundingBox) => {
      const obs = o.current.observationId;
      if (!obs) return;
      setPendingBox(boundingBox);
      touched();
      run(obs, () => api.call('addDetection', { observationId: obs, objectName, boundingBox }))
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
      const obs = o.current.observationId;
      const d = o.current.dets.find((x) => x.id === id);
      if (!obs || !d) return;
      removeDet(obs, id);
      o.current.select(null);
      const h = history(obs);
      h.undo.push({ kind: 'delete', det: d });
      h.redo = [];
      touched();
      void run(obs, () => api.call('deleteDetection', { detectionId: id })).catch(() => undefined);
    },
    [api, run],
  );

  /** Applies an edit forwards (redo) or backwards (undo). */
  const replay = (obs: string, e: Edit, backwards: boolean) => {
    touched();
    if (e.kind === 'update') {
      const target = backwards ? e.before : e.after;
      o.current.setDets((prev) => prev.map((x) => (x.id === e.id ? { ...x, ...target } : x)));
      o.current.select(e.id);
      void sendUpdate(obs, e.id, target).catch(() => undefined);
      return;
    }
    const restore = (e.kind === 'delete') === backwards; // undo a delete, redo an add
    if (restore) {
      replaceDet(obs, e.det);
      o.current.select(e.det.id);
      void run(obs, () => api.call('restoreDetection', { detectionId: e.det.id }))
        .then((det) => replaceDet(obs, det))
        .catch(() => undefined);
    } else {
      removeDet(obs, e.det.id);
      o.current.select(null);
      void run(obs, () => api.call('deleteDetection', { detectionId: e.det.id })).catch(() => undefined);
    }
  };

  const undo = useCallback(() => {
    const obs = o.current.observationId;
    const h = obs ? histories.current.get(obs) : undefined;
    const e = h?.undo.pop();
    if (!obs || !h || !e) return false;
    h.redo.push(e);
    replay(obs, e, true);
    return true;
  }, []);

  const redo = useCallback(() => {
    const obs = o.current.observationId;
    const h = obs ? histories.current.get(obs) : undefined;
    const e = h?.redo.pop();
    if (!obs || !h || !e) return false;
    h.undo.push(e);
    replay(obs, e, false);
    return true;
  }, []);

  const h = opts.observationId ? histories.current.get(opts.observationId) : undefined;
  return {
    update,
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
    canUndo: !!h?.undo.length,
    canRedo: !!h?.redo.length,
  };
}
