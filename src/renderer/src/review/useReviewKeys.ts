/**
 * Review's keyboard map (listed for people in ./shortcuts.ts). Listens on window, so the keys work
 * wherever the focus is, except in text fields and while a dialog is open.
 */
import { useEffect, useRef } from 'react';
import type { PanKey } from './PhotoCanvas';

export interface ReviewKeyActions {
  /** A dialog is open: the screen's keys are off. */
  blocked: boolean;
  hasSelection: boolean;
  undo(): void;
  redo(): void;
  nudge(dx: number, dy: number): void;
  next(): void;
  previous(): void;
  accept(): void;
  flag(): void;
  help(): void;
  escape(): void;
  fit(): void;
  actualSize(): void;
  draw(): void;
  remove(): void;
  /** Marks the selected box verified, or clears the mark. */
  verify(): void;
  picker(): void;
  cycle(delta: 1 | -1): void;
  /** 1–9: the n-th most used label. */
  label(n: number): void;
  /** BuildingScan, Shift+0–4: clear, good, fair, poor, critical (the selected box, else the photo's asset). */
  grade?(n: number): void;
}

const ARROWS: Record<string, [number, number]> = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

export function isTyping(t: EventTarget | null, key?: string): boolean {
  if (!(t instanceof HTMLElement)) return false;
  // a slider (the confidence threshold) keeps only the keys that move it: d, x, Space… work at once after it (issue 13)
  if (t instanceof HTMLInputElement && t.type === 'range') return key === undefined || SLIDER_KEYS.has(key);
  // so does a checkbox (the box list's "verified"): only Space, which ticks it
  if (t instanceof HTMLInputElement && t.type === 'checkbox') return key === undefined || key === ' ';
  return t.isContentEditable || t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement;
}
const SLIDER_KEYS = new Set(['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Home', 'End', 'PageUp', 'PageDown']);

/** Space is two keys in one: held while dragging it pans, pressed and released alone it accepts. */
export function useReviewKeys(actions: ReviewKeyActions, panKey: { current: PanKey }): void {
  const a = useRef(actions);
  a.current = actions;

  useEffect(() => {
    const onDown = (e: KeyboardEvent) => {
      const x = a.current;
      if (x.blocked || isTyping(e.target, e.key)) return;
      const k = e.key.length === 1 ? e.key.toLowerCase() : e.key;
      if ((e.ctrlKey || e.metaKey) && !e.altKey) {
        if (k === 'z' && !e.shiftKey) x.undo();
        else if ((k === 'z' && e.shiftKey) || k === 'y') x.redo();
        else return;
        e.preventDefault();
        return;
      }
      if (e.altKey || e.ctrlKey || e.metaKey) return;
      // by the physical key: Shift+1 is '!' on one layout and '1' or another sign on others
      const grade = /^Digit([0-4])$/.exec(e.code);
      if (e.shiftKey && grade && x.grade) {
        e.preventDefault();
        x.grade(Number(grade[1]));
        return;
      }
      const onButton = e.target instanceof HTMLButtonElement || e.target instanceof HTMLAnchorElement;
      if (k in ARROWS) {
        e.preventDefault();
        const [dx, dy] = ARROWS[k];
        const step = e.shiftKey ? 10 : 1;
        if (x.hasSelection) x.nudge(dx * step, dy * step);
        else if (k === 'ArrowRight') x.next();
        else if (k === 'ArrowLeft') x.previous();
        return;
      }
      const simple: Record<string, (() => void) | undefined> = {
        '?': x.help,
        Escape: x.escape,
        f: x.fit,
        '0': x.actualSize,
        w: x.draw,
        r: x.draw,
        Delete: x.remove,
        Backspace: x.remove,
        l: x.picker,
        v: x.verify,
        x: x.flag,
        d: x.next,
        a: x.previous,
        '[': () => x.cycle(-1),
        ']': () => x.cycle(1),
      };
      if (simple[k]) simple[k]!();
      else if (/^[1-9]$/.test(k)) x.label(Number(k));
      else if (k === 'Enter' && !onButton) x.accept();
      else if (k === ' ' && !onButton) {
        if (!e.repeat) panKey.current = { held: true, used: false };
      } else return;
      e.preventDefault();
    };
    const onUp = (e: KeyboardEvent) => {
      if (e.key !== ' ') return;
      const { held, used } = panKey.current;
      panKey.current = { held: false, used: false };
      if (held && !used && !a.current.blocked && !isTyping(e.target, e.key)) {
        e.preventDefault();
        a.current.accept();
      }
    };
    // React attaches these during the keydown that opened Review (Enter in the queue): that event,
    // still bubbling to window, must not also accept the photo.
    const since = performance.now();
    const down = (e: KeyboardEvent) => e.timeStamp > since && onDown(e);
    const up = (e: KeyboardEvent) => e.timeStamp > since && onUp(e);
    const blur = () => (panKey.current = { held: false, used: false });
    window.addEventListener('keydown', down);
    window.addEventListener('keyup', up);
    window.addEventListener('blur', blur);
    return () => {
      window.removeEventListener('keydown', down);
      window.removeEventListener('keyup', up);
      window.removeEventListener('blur', blur);
    };
  }, [panKey]);
}
