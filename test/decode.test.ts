import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { decodeUltralytics, decodeYolox } from '../src/main/engine/inference/decode';
import { iou, nms } from '../src/main/engine/geometry';
import { preparePhotoTensor, probePhoto } from '../src/main/engine/ingest/photo';
import { parseUltralyticsNames, readOnnxMetadata } from '../src/main/engine/models/onnx-metadata';
import { GENERAL, SHARED_MODELS } from './helpers';

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
