/**
 * Where the name of each box goes on the photo, so that every label drawn is whole and readable:
 * above its box, or inside its top edge when there is no room above (a box at y = 0), or, when both
 * would overlap a label already placed, not at all (the box list, the hover and the tooltip still name
 * it). Labels are placed in the order given: the caller puts the selected and hovered boxes first,
 * then the others by score, so the labels that matter most always win.
 */
import type { BoundingBox } from '../../../shared/domain';

/** On-screen size of the label text (CSS px, whatever the zoom) and its gap to the box. */
export const LABEL_FONT_PX = 12;
const GAP_PX = 3;
/** The text's outline (paint-order stroke) and a hair of air between two labels. */
const MARGIN_PX = 2;

export interface LabelRequest {
  id: number;
  box: BoundingBox;
  text: string;
}

export interface PlacedLabel {
  /** Baseline start, in photo pixels. */
  x: number;
  y: number;
  inside: boolean;
}

export interface TextMetrics {
  width(text: string): number;
  ascent: number;
  descent: number;
}

let canvasMetrics: TextMetrics | null = null;

/** Text metrics of the label font from a 2D canvas (the same font the SVG text uses), cached. */
export function labelMetrics(): TextMetrics {
  if (canvasMetrics) return canvasMetrics;
  const ctx = document.createElement('canvas').getContext('2d');
  const font = `${LABEL_FONT_PX}px system-ui, sans-serif`;
  if (!ctx) return { width: (t) => t.length * LABEL_FONT_PX * 0.62, ascent: LABEL_FONT_PX, descent: LABEL_FONT_PX * 0.3 };
  ctx.font = font;
  const m = ctx.measureText('Hg');
  const widths = new Map<string, number>();
  canvasMetrics = {
    width: (t) => {
      let w = widths.get(t);
      if (w === undefined) {
        w = ctx.measureText(t).width;
        if (widths.size > 2000) widths.clear();
        widths.set(t, w);
      }
      return w;
    },
    ascent: m.fontBoundingBoxAscent || LABEL_FONT_PX,
    descent: m.fontBoundingBoxDescent || LABEL_FONT_PX * 0.3,
  };
  return canvasMetrics;
}

interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

const overlaps = (a: Rect, b: Rect) => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;

/**
 * Places labels in the order given (photo pixels; `scale` = screen px per photo px). A label that fits
 * neither above nor inside its box without overlapping one placed before it is left out.
 */
export function placeLabels(
  requests: readonly LabelRequest[],
  scale: number,
  photoWidth: number,
  metrics: TextMetrics,
): Map<number, PlacedLabel> {
  const placed = new Map<number, PlacedLabel>();
  const taken: Rect[] = [];
  const k = 1 / scale;
  const ascent = metrics.ascent * k;
  const descent = metrics.descent * k;
  const margin = MARGIN_PX * k;
  for (const r of requests) {
    const w = metrics.width(r.text) * k;
    // kept inside the photo on the right too
    const x = Math.max(0, Math.min(r.box.x, photoWidth - w));
    const rect = (baseline: number): Rect => ({
      x0: x - margin,
      y0: baseline - ascent - margin,
      x1: x + w + margin,
      y1: baseline + descent + margin,
    });
    const above = r.box.y - GAP_PX * k - descent;
    const inside = r.box.y + GAP_PX * k + ascent;
    const options: { y: number; inside: boolean }[] = [];
    // above only when it is not cut off by the photo's top edge
    if (above - ascent >= 0) options.push({ y: above, inside: false });
    options.push({ y: inside, inside: true });
    for (const o of options) {
      const box = rect(o.y);
      if (taken.some((t) => overlaps(t, box))) continue;
      taken.push(box);
      placed.set(r.id, { x, y: o.y, inside: o.inside });
      break;
    }
  }
  return placed;
}
