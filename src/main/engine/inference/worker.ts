/**
 * Inference worker (worker_threads): owns the ONNX session for the life of a run, decodes outputs,
 * applies NMS and undoes the letterbox. One request at a time; the engine keeps the queue.
 */
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { openSession } from './session';
import { decodeUltralytics, decodeYolox } from './decode';
import { nms, unletterbox } from '../geometry';
import type { ModelFormat } from '../../../shared/domain';
import type { InferRequest, WorkerDetection, WorkerRequest, WorkerResponse } from './protocol';

if (!parentPort) throw new Error('worker.ts must run in a worker thread');
const port = parentPort;

let session: ort.InferenceSession | null = null;
let labels: string[] = [];
let format: ModelFormat = 'yolox';
let inputName = 'images';
let outputName = 'output';
let inputW = 0;
let inputH = 0;

let queue: Promise<void> = Promise.resolve();

const post = (msg: WorkerResponse, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);

async function infer(req: InferRequest): Promise<void> {
  if (!session) throw new Error('the model is not loaded');
  const t0 = performance.now();
  const input = new ort.Tensor('float32', req.tensor, [1, 3, inputH, inputW]);
  const out = await session.run({ [inputName]: input });
  const t1 = performance.now();
  const output = out[outputName];
  const data = output.data as Float32Array;
  const opts = { inputWidth: inputW, inputHeight: inputH, numClasses: labels.length, confThreshold: req.confThreshold };
  const raw = format === 'yolox' ? decodeYolox(data, opts) : decodeUltralytics(data, { ...opts, anchors: Number(output.dims[2]) });
  const kept = nms(raw, req.iouThreshold, req.maxDetections);
  const detections: WorkerDetection[] = kept
    .map((b) => {
      const u = unletterbox(b, req.letterbox);
      return {
        classId: b.classId,
        objectName: labels[b.classId] ?? `class_${b.classId}`,
        confidence: Math.round(b.score * 10000) / 10000,
        x: Math.round(u.x1),
        y: Math.round(u.y1),
        width: Math.round(u.x2) - Math.round(u.x1),
        height: Math.round(u.y2) - Math.round(u.y1),
      };
    })
    .filter((d) => d.width > 0 && d.height > 0);
  output.dispose?.();
  input.dispose?.();
  post({ type: 'result', id: req.id, detections, inferMs: t1 - t0, postMs: performance.now() - t1, tensor: req.tensor }, [
    req.tensor.buffer as ArrayBuffer,
  ]);
}

port.on('message', (msg: WorkerRequest) => {
  if (msg.type === 'init') {
    openSession(msg.modelPath, msg.provider, msg.intraOpThreads)
      .then(({ session: s, provider, fallback }) => {
        session = s;
        labels = msg.labels;
        format = msg.format;
        inputName = s.inputNames[0];
        outputName = s.outputNames[0];
        const meta = s.inputMetadata[0];
        const shape = meta && 'shape' in meta ? meta.shape : [];
        const h = Number(shape[2]);
        const w = Number(shape[3]);
        if (!Number.isInteger(w) || !Number.isInteger(h) || w <= 0 || h <= 0) {
          throw new Error(`the model input ${inputName} has no fixed size (${JSON.stringify(shape)}); dynamic sizes are not supported yet`);
        }
        inputW = w;
        inputH = h;
        post({ type: 'ready', provider, fallback, inputWidth: w, inputHeight: h, inputName, outputName });
      })
      .catch((err: Error) => post({ type: 'error', id: null, message: err.message }));
  } else if (msg.type === 'infer') {
    // one session.run at a time, in arrival order; the engine bounds how many wait here
    queue = queue
      .then(() => infer(msg))
      .catch((err: Error) => post({ type: 'error', id: msg.id, message: `inference failed: ${err.message}` }));
  } else if (msg.type === 'close') {
    void session?.release().finally(() => port.close());
    if (!session) port.close();
  }
});
