import type { PriceTagRead } from '../../../shared/retail';

/** Messages between the engine and the OCR worker (price tags), which owns the two OCR ONNX sessions. */
export type OcrRequest =
  | { type: 'init'; intraOpThreads: number }
  | {
      type: 'read';
      id: number;
      /** An encoded photo (JPEG/PNG), already oriented and scaled by `scale`; transferred. */
      image: ArrayBuffer;
      /** The image is the photo scaled by this factor: boxes are divided by it. */
      scale: number;
    }
  | { type: 'close' };

export type OcrResponse =
  | { type: 'ready' }
  | { type: 'result'; id: number; tags: PriceTagRead[]; texts: number; ms: number }
  | { type: 'error'; id: number | null; message: string };
