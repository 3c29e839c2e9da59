/**
 * Scroll smoothness of the Queue's grid view (issue 13), for the review benchmark: on a page already
 * showing the Queue in grid view, scrolls the grid down through `rows` queue rows (photos: rows ÷ columns
 * grid rows) one step per animation frame, as a fast wheel does (half a grid row, 88 px, per frame),
 * and records every frame's duration with requestAnimationFrame in the page. Virtualized rows are
 * mounted, pages fetched and thumbnails loaded and decoded while it scrolls, as for an auditor.
 *
 *   frames      frames recorded while scrolling
 *   maxFrameMs  the longest frame (ms, 0.1 precision)
 *   over50      frames longer than 50 ms (visible stutter)
 */
import type { Page } from 'playwright-core';

export async function measureGridScroll(page: Page, rows: number): Promise<{ frames: number; maxFrameMs: number; over50: number }> {
  await page.waitForSelector('[data-testid=queue-grid] [data-testid=grid-cell]');
  return page.evaluate(async (rows: number) => {
    const grid = document.querySelector<HTMLElement>('[data-testid=queue-grid]');
    if (!grid) throw new Error('the Queue is not in grid view (no [data-testid=queue-grid])');
    const columns = Number(grid.dataset.columns) || 1;
    const rowHeight = document.querySelector<HTMLElement>('.grid-row')?.offsetHeight || 176;
    const step = Math.max(1, Math.round(rowHeight / 2));
    const start = grid.scrollTop;
    const end = Math.min(grid.scrollHeight - grid.clientHeight, start + Math.ceil(rows / columns) * rowHeight);
    const durations: number[] = [];
    await new Promise<void>((resolve) => {
      let last = -1;
      let stuck = 0; // the grid got shorter meanwhile (the queue changed): stop where it ends
      const frame = (now: number) => {
        if (last >= 0) durations.push(now - last);
        last = now;
        const before = grid.scrollTop;
        if (before >= end - 0.5 || stuck > 10) return resolve();
        grid.scrollTop = Math.min(end, before + step);
        stuck = grid.scrollTop === before ? stuck + 1 : 0;
        requestAnimationFrame(frame);
      };
      requestAnimationFrame(frame);
    });
    const maxFrameMs = durations.length ? Math.round(Math.max(...durations) * 10) / 10 : 0;
    return { frames: durations.length, maxFrameMs, over50: durations.filter((d) => d > 50).length };
  }, rows);
}
