import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { decodeUltralytics, decodeYolox } from '../src/main/engine/inference/decode';
import { iou, letterboxFor, nms, unletterbox, type RawBox } from '../src/main/engine/geometry';
import { preparePhotoTensor, probePhoto } from '../src/main/engine/ingest/photo';
import { parseUltralyticsNames, readOnnxMetadata } from '../src/main/engine/models/onnx-metadata';
import { GENERAL, SHARED_MODELS } from './helpers';

const box = (classId: number, score: number, x1: number, y1: number, x2: number, y2: number): RawBox => ({
  classId,
  score,
  x1,
  y1,
  x2,
  y2,
});

describe('NMS and letterbox', () => {
  it('suppresses overlaps within a class, keeps them across classes, caps the count', () => {
    const boxes = [box(0, 0.9, 0, 0, 10, 10), box(0, 0.8, 1, 1, 11, 11), box(1, 0.7, 1, 1, 11, 11), box(0, 0.6, 50, 50, 60, 60)];
    expect(iou(boxes[0], boxes[1])).toBeGreaterThan(0.45);
    expect(nms(boxes, 0.45, 100).map((b) => b.score)).toEqual([0.9, 0.7, 0.6]);
    expect(nms(boxes, 0.45, 2).map((b) => b.score)).toEqual([0.9, 0.7]);
  });

  it('places the photo top-left for YOLOX and centred for Ultralytics, and maps boxes back', () => {
    const y = letterboxFor('yolox', 800, 400, 416, 416);
    expect(y).toMatchObject({ scale: 0.52, padX: 0, padY: 0, resizedWidth: 416, resizedHeight: 208 });
    const u = letterboxFor('ultralytics', 800, 400, 416, 416);
    expect(u).toMatchObject({ padX: 0, padY: 104, resizedHeight: 208 });
    const back = unletterbox(box(0, 1, 52, 104 + 52, 104, 104 + 104), u);
    expect([back.x1, back.y1, back.x2, back.y2]).toEqual([100, 100, 200, 200]);
    expect(unletterbox(box(0, 1, -5, -5, 500, 500), u)).toMatchObject({ x1: 0, y1: 0, x2: 800, y2: 400 });
  });

  it('decodes a YOLOX grid cell with stride and exp', () => {
    const rows = 52 * 52 + 26 * 26 + 13 * 13;
    const out = new Float32Array(rows * 7); // 2 classes
    const r = 52 * 52 + 3 * 26 + 5; // stride 16, gx 5, gy 3
    out.set([0.5, 0.5, Math.log(2), Math.log(4), 0.9, 0.1, 1.0], r * 7);
    const boxes = decodeYolox(out, { inputWidth: 416, inputHeight: 416, numClasses: 2, confThreshold: 0.25 });
    expect(boxes).toHaveLength(1);
    const b = boxes[0];
    expect(b.classId).toBe(1);
    expect(b.score).toBeCloseTo(0.9, 6);
    // centre ((5 + 0.5) * 16, (3 + 0.5) * 16) = (88, 56), size (2 * 16, 4 * 16)
    [b.x1, b.y1, b.x2, b.y2].forEach((v, i) => expect(v).toBeCloseTo([72, 24, 104, 88][i], 4));
    expect(() => decodeYolox(out.subarray(7), { inputWidth: 416, inputHeight: 416, numClasses: 2, confThreshold: 0.25 })).toThrow(
      /YOLOX output/,
    );
  });
});

describe('ONNX metadata', () => {
  it('reads the Ultralytics names and imgsz of the v8-layout model, and none from the raw model', () => {
    const props = readOnnxMetadata(fs.readFileSync(path.join(SHARED_MODELS, 'yolox_nano_v8layout.onnx')));
    const names = parseUltralyticsNames(props.names);
    const coco = fs.readFileSync(path.join(SHARED_MODELS, 'coco80.txt'), 'utf8').split('\n').filter(Boolean);
    expect(names).toEqual(coco);
    expect(props.imgsz).toMatch(/416/);
    expect(readOnnxMetadata(fs.readFileSync(path.join(SHARED_MODELS, 'yolox_nano.onnx'))).names).toBeUndefined();
  });

  it('rejects a file that is not a model', () => {
    expect(() => readOnnxMetadata(Buffer.from('hello, this is text, not protobuf at all'))).toThrow();
  });
});

describe('both decoders on one photo, same input pixels', () => {
  it('give equal detections (the two models differ only in layout)', async () => {
    const buf = fs.readFileSync(path.join(GENERAL, 'person.jpg'));
    const info = await probePhoto(buf);
    // the same placement (top-left) for both, so only channel order/scale and the output layout differ
    const bgr = await preparePhotoTensor(buf, info, { format: 'yolox', width: 416, height: 416 });
    const plane = 416 * 416;
    const rgb = new Float32Array(3 * plane);
    rgb.set(
      bgr.data.subarray(2 * plane, 3 * plane).map((v) => v / 255),
      0,
    );
    rgb.set(
      bgr.data.subarray(plane, 2 * plane).map((v) => v / 255),
      plane,
    );
    rgb.set(
      bgr.data.subarray(0, plane).map((v) => v / 255),
      2 * plane,
    );

    const raw = await ort.InferenceSession.create(path.join(SHARED_MODELS, 'yolox_nano.onnx'));
    const v8 = await ort.InferenceSession.create(path.join(SHARED_MODELS, 'yolox_nano_v8layout.onnx'));
    const a = (await raw.run({ images: new ort.Tensor('float32', bgr.data, [1, 3, 416, 416]) })).output;
    const b = (await v8.run({ images: new ort.Tensor('float32', rgb, [1, 3, 416, 416]) })).output0;
    const opts = { inputWidth: 416, inputHeight: 416, numClasses: 80, confThreshold: 0.25 };
    const da = nms(decodeYolox(a.data as Float32Array, opts), 0.45, 100);
    const db = nms(decodeUltralytics(b.data as Float32Array, { ...opts, anchors: Number(b.dims[2]) }), 0.45, 100);
    expect(da.length).toBeGreaterThanOrEqual(3);
    expect(db.map((d) => d.classId)).toEqual(da.map((d) => d.classId));
    da.forEach((d, i) => {
      expect(db[i].score).toBeCloseTo(d.score, 4);
      expect(iou(db[i], d)).toBeGreaterThan(0.999);
    });
    await raw.release();
    await v8.release();
  });
});
