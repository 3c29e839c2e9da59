import type { Letterbox } from '../geometry';
import type { ModelFormat, ProviderChoice, ProviderName } from '../../../shared/domain';

/** Messages between the engine (main thread) and the inference worker that owns the ONNX session. */

export interface InitRequest {
  type: 'init';
  modelPath: string;
  format: ModelFormat;
  labels: string[];
  provider: ProviderChoice;
  /** ONNX Runtime intra-op threads. */
  intraOpThreads: number;
}

export interface InferRequest {
  type: 'infer';
  id: number;
  /** NCHW float32, transferred (not copied). */
  tensor: Float32Array;
  letterbox: Letterbox;
  confThreshold: number;
  iouThreshold: number;
  maxDetections: number;
}

export type WorkerRequest = InitRequest | InferRequest | { type: 'close' };

export interface WorkerDetection {
  classId: number;
  objectName: string;
  confidence: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

export type WorkerResponse =
  | {
      type: 'ready';
      provider: ProviderName;
      fallback: string | null;
      inputWidth: number;
      inputHeight: number;
      inputName: string;
      outputName: string;
    }
  | { type: 'result'; id: number; detections: WorkerDetection[]; inferMs: number; postMs: number; tensor: Float32Array }
  | { type: 'error'; id: number | null; message: string };
