/**
 * Pure decoding of detector outputs: the raw YOLOX head and the Ultralytics (YOLOv8/YOLO11) export
 * layout, to candidate boxes in model-input pixels. NMS, letterbox and tiles live in ../geometry.ts.
 * No onnxruntime or sharp here, so it is unit-testable and runs inside the inference worker.
 */
import type { RawBox } from '../geometry';

export interface DecodeOptions {
  inputWidth: number;
  inputHeight: number;
  numClasses: number;
  confThreshold: number;
}

const YOLOX_STRIDES = [8, 16, 32];

/** YOLOX raw head `[1, N, 5 + C]`: (tx, ty, tw, th, obj, cls...) per grid point over strides 8/16/32. */
export function decodeYolox(out: Float32Array, opts: DecodeOptions): RawBox[] {
  const { inputWidth, inputHeight, numClasses, confThreshold } = opts;
  const stride = 5 + numClasses;
  const boxes: RawBox[] = [];
  let row = 0;
  for (const s of YOLOX_STRIDES) {
    const gw = Math.floor(inputWidth / s);
    const gh = Math.floor(inputHeight / s);
    for (let gy = 0; gy < gh; gy++) {
      for (let gx = 0; gx < gw; gx++, row++) {
        const o = row * stride;
        if (o + stride > out.length) throw new Error(`YOLOX output too short for a ${inputWidth}x${inputHeight} input`);
        const obj = out[o + 4];
        if (obj < confThreshold) continue; // score = obj * cls <= obj
        let decoded = false;
        let cx = 0,
          cy = 0,
          w = 0,
          h = 0;
        for (let c = 0; c < numClasses; c++) {
          const score = obj * out[o + 5 + c];
          if (score < confThreshold) continue;
          if (!decoded) {
            cx = (out[o] + gx) * s;
            cy = (out[o + 1] + gy) * s;
            w = Math.exp(out[o + 2]) * s;
            h = Math.exp(out[o + 3]) * s;
            decoded = true;
          }
          boxes.push({ classId: c, score, x1: cx - w / 2, y1: cy - h / 2, x2: cx + w / 2, y2: cy + h / 2 });
        }
      }
    }
  }
  if (row * stride !== out.length) {
    throw new Error(`YOLOX output has ${out.length / stride} rows, expected ${row} for a ${inputWidth}x${inputHeight} input`);
  }
  return boxes;
}

/** Ultralytics layout `[1, 4 + C, N]`: rows cx, cy, w, h (input pixels) then class scores. */
export function decodeUltralytics(out: Float32Array, opts: DecodeOptions & { anchors: number }): RawBox[] {
  const { numClasses, confThreshold, anchors: n } = opts;
  if (out.length !== (4 + numClasses) * n) {
    throw new Error(`Ultralytics output has ${out.length} values, expected (4 + ${numClasses}) x ${n}`);
  }
  const boxes: RawBox[] = [];
  for (let i = 0; i < n; i++) {
    let decoded = false;
    let cx = 0,
      cy = 0,
      w = 0,
      h = 0;
    for (let c = 0; c < numClasses; c++) {
      const score = out[(4 + c) * n + i];
      if (score < confThreshold) continue;
      if (!decoded) {
        cx = out[i];
        cy = out[n + i];
        w = out[2 * n + i];
        h = out[3 * n + i];
        decoded = true;
      }
      boxes.push({ classId: c, score, x1: cx - w / 2, y1: cy - h / 2, x2: cx + w / 2, y2: cy + h / 2 });
    }
  }
  return boxes;
}
