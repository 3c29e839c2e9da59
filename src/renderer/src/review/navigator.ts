/**
 * Next/previous in Review follow the queue's order as the auditor saw it when opening Review: a
 * snapshot of queue rows, extended a page at a time in either direction.
 *
 * Photos change while reviewed (accepted, flagged, boxes edited), so they may leave the filtered
 * queue or move in its order, and plain offsets would skip photos. The snapshot keeps every photo it
 * has shown (so "previous" returns to an accepted photo even in the Unreviewed queue), and extends
 * around an anchor: the last (or first) snapshot photo that has not been changed, whose place among
 * the other unchanged photos cannot have moved. Fetch windows are widened by the number of changed
 * photos, which bounds how far the anchor can have shifted.
 */
import type { QueueItem } from '../../../shared/rpc';

export type FetchPage = (offset: number, limit: number) => Promise<{ total: number; items: QueueItem[] }>;

const PAGE = 50;

export class QueueSnapshot {
  items: QueueItem[] = [];
  /** Queue offset (current order) of items[0] and just past the last item, as of the last fetch. */
  private start = 0;
  private end = 0;
  /** Photos changed since the last fetch at each edge. */
  private changedFwd = 0;
  private changedBack = 0;
  private readonly changed = new Set<string>();
  total = 0;
  atEnd = false;
  atStart = false;

  constructor(private readonly fetchPage: FetchPage) {}

  /** Starts around `index`, positioned on `observationId` (returns its position in `items`). */
  async init(index: number, observationId: string, seed?: { offset: number; total: number; items: QueueItem[] }): Promise<number> {
    let offset: number;
    let items: QueueItem[];
    if (seed && seed.items.some((i) => i.observationId === observationId)) {
      ({ offset, items } = seed);
      this.total = seed.total;
    } else {
      offset = Math.max(0, index - Math.floor(PAGE / 2));
      const r = await this.fetchPage(offset, PAGE);
      this.total = r.total;
      items = r.items;
    }
    this.items = items.slice();
    this.start = offset;
    this.end = offset + items.length;
    this.atStart = offset === 0;
    this.atEnd = items.length === 0 || this.end >= this.total;
    const pos = this.items.findIndex((i) => i.observationId === observationId);
    return pos;
  }

  /** Starts on one photo that is not (or no longer) in the queue. */
  initSingle(item: QueueItem, index: number): void {
    this.items = [item];
    this.start = index;
    this.end = index + 1;
    this.changed.add(item.observationId);
    this.changedFwd = this.changedBack = 1;
  }

  /** The queue offset of a snapshot position, as of the last fetch (approximate once photos changed). */
  offsetOf(pos: number): number {
    return Math.max(0, this.start + pos);
  }

  markChanged(observationId: string): void {
    if (this.changed.has(observationId)) return;
    this.changed.add(observationId);
    this.changedFwd++;
    this.changedBack++;
  }

  replace(item: QueueItem): void {
    const i = this.items.findIndex((x) => x.observationId === item.observationId);
    if (i >= 0) this.items[i] = item;
  }

  private forward: Promise<boolean> | null = null;
  private backward: Promise<boolean> | null = null;

  /**
   * Appends the next photos of the queue; false at its end. Calls while one is on its way share it
   * (Review extends ahead of the auditor and again on reaching the end): each photo is appended once.
   */
  extendForward(): Promise<boolean> {
    return (this.forward ??= this.fetchForward().finally(() => (this.forward = null)));
  }

  /** Prepends the previous photos of the queue; false at its start. Shared like extendForward. */
  extendBackward(): Promise<boolean> {
    return (this.backward ??= this.fetchBackward().finally(() => (this.backward = null)));
  }

  private async fetchForward(): Promise<boolean> {
    if (this.atEnd && !this.changedFwd) return false;
    // photos changed while the page is on its way count for the next extension (they may have moved after it was read)
    const slack = this.changedFwd;
    const seen = new Set(this.items.map((i) => i.observationId));
    const anchor = [...this.items].reverse().find((i) => !this.changed.has(i.observationId));
    let offset = Math.max(0, this.end - 1 - slack);
    for (;;) {
      const limit = Math.min(500, PAGE + 2 * slack + 1);
      const r = await this.fetchPage(offset, limit);
      this.total = r.total;
      let from = 0;
      if (anchor) {
        const a = r.items.findIndex((i) => i.observationId === anchor.observationId);
        if (a >= 0) from = a + 1;
      }
      const fresh: QueueItem[] = [];
      let lastIndex = -1;
      for (let i = from; i < r.items.length; i++) {
        if (seen.has(r.items[i].observationId)) continue;
        fresh.push(r.items[i]);
        lastIndex = i;
      }
      if (fresh.length) {
        this.items.push(...fresh);
        this.end = offset + lastIndex + 1;
        this.changedFwd -= slack;
        this.atEnd = this.end >= r.total;
        return true;
      }
      if (offset + r.items.length >= r.total || r.items.length === 0) {
        this.atEnd = true;
        this.changedFwd -= slack;
        this.end = r.total;
        return false;
      }
      offset += r.items.length;
    }
  }

  private async fetchBackward(): Promise<boolean> {
    if (this.atStart && !this.changedBack) return false;
    const slack = this.changedBack;
    const seen = new Set(this.items.map((i) => i.observationId));
    const anchor = this.items.find((i) => !this.changed.has(i.observationId));
    const limit = Math.min(500, PAGE + 2 * slack + 1);
    let offset = Math.max(0, this.start + 1 + slack - limit);
    for (;;) {
      const r = await this.fetchPage(offset, limit);
      this.total = r.total;
      let to = r.items.length;
      if (anchor) {
        const a = r.items.findIndex((i) => i.observationId === anchor.observationId);
        if (a >= 0) to = a;
      }
      const fresh: QueueItem[] = [];
      let firstIndex = -1;
      for (let i = 0; i < to; i++) {
        if (seen.has(r.items[i].observationId)) continue;
        if (firstIndex < 0) firstIndex = i;
        fresh.push(r.items[i]);
      }
      if (fresh.length) {
        this.items.unshift(...fresh);
        this.start = offset + firstIndex;
        this.changedBack -= slack;
        this.atStart = this.start === 0;
        return true;
      }
      if (offset === 0) {
        this.atStart = true;
        this.changedBack -= slack;
        this.start = 0;
        return false;
      }
      offset = Math.max(0, offset - limit);
    }
  }
}
