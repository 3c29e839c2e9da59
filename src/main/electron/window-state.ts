/**
 * The main window's size and position, remembered across launches in `window-state.json` (user-data
 * folder), and clamped so a window saved on a screen that is gone (an unplugged monitor, a smaller
 * resolution) comes back fully reachable. Plain functions: tested in test/electron-shell.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface WindowState extends Rect {
  maximized: boolean;
}

const StateSchema = z.object({
  x: z.number().int(),
  y: z.number().int(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  maximized: z.boolean().default(false),
});

export const WINDOW_DEFAULTS = { width: 1280, height: 800, minWidth: 800, minHeight: 600 };
/** At least this much of the title bar must be on a display for the window to count as reachable. */
const MIN_VISIBLE = 100;

function overlap(a: Rect, b: Rect): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

/**
 * Bounds for the window from the saved ones and the displays' work areas (Electron's
 * `screen.getAllDisplays().map(d => d.workArea)`, the primary first): the saved bounds when their title
 * bar is on a display (sized down to fit it); else the same size centred on the display they overlap most,
 * or on the primary. Nothing saved: the default size, centred on the primary display.
 */
export function clampBounds(saved: Rect | null, workAreas: readonly Rect[]): Rect {
  const primary = workAreas[0] ?? { x: 0, y: 0, width: WINDOW_DEFAULTS.width, height: WINDOW_DEFAULTS.height };
  const fit = (r: Rect, area: Rect): Rect => {
    const width = Math.max(Math.min(r.width, area.width), Math.min(WINDOW_DEFAULTS.minWidth, area.width));
    const height = Math.max(Math.min(r.height, area.height), Math.min(WINDOW_DEFAULTS.minHeight, area.height));
    return { x: r.x, y: r.y, width, height };
  };
  const centre = (r: Rect, area: Rect): Rect => {
    const f = fit(r, area);
    return { ...f, x: Math.round(area.x + (area.width - f.width) / 2), y: Math.round(area.y + (area.height - f.height) / 2) };
  };
  if (!saved) return centre({ x: 0, y: 0, width: WINDOW_DEFAULTS.width, height: WINDOW_DEFAULTS.height }, primary);
  // the title bar: the top 30 px of the window
  const titleBar = { x: saved.x, y: saved.y, width: saved.width, height: 30 };
  const home = workAreas.find((a) => {
    const w = Math.min(titleBar.x + titleBar.width, a.x + a.width) - Math.max(titleBar.x, a.x);
    return w >= Math.min(MIN_VISIBLE, saved.width) && saved.y >= a.y && saved.y < a.y + a.height - 10;
  });
  if (home) {
    const f = fit(saved, home);
    // keep it inside the display it is on
    const x = Math.min(Math.max(f.x, home.x), home.x + home.width - f.width);
    const y = Math.min(Math.max(f.y, home.y), home.y + home.height - f.height);
    return { ...f, x, y };
  }
  const best = [...workAreas].sort((a, b) => overlap(saved, b) - overlap(saved, a))[0];
  return centre(saved, best && overlap(saved, best) > 0 ? best : primary);
}

export function windowStateFile(userData: string): string {
  return path.join(userData, 'window-state.json');
}

/** The saved state, or null (none yet, or unreadable: the defaults are fine, nothing to report). */
export function readWindowState(file: string): WindowState | null {
  try {
    const r = StateSchema.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

export function writeWindowState(file: string, state: WindowState): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(tmp, `${JSON.stringify(StateSchema.parse(state))}\n`);
  fs.renameSync(tmp, file);
}
