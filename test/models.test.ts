import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/main/engine/errors';
import { ensureModelFile, loadManifest, modelsDir, resolveModel, type ManifestEntry } from '../src/main/engine/models/manifest';
import { ROOT, SHARED_MODELS, tmpDir } from './helpers';

const manifest = loadManifest();
const entry = (name: string) => manifest.models.find((m) => m.name === name)!;

describe('model manifest', () => {
  it('lists the shared models with the sha256 and sizes of the real files', async () => {
    expect(manifest.default).toBe('yolox-nano-coco');
    const mods = fs.readFileSync(path.join(SHARED_MODELS, 'MODELS.md'), 'utf8');
    for (const m of manifest.models) {
      expect(mods).toContain(m.sha256);
      expect(fs.statSync(path.join(SHARED_MODELS, m.file)).size).toBe(m.bytes);
      expect(m.labels).toHaveLength(80);
    }
    expect(entry('yolox-nano-coco').format).toBe('yolox');
    expect(entry('yolox-nano-coco-v8layout').format).toBe('ultralytics');
  });

  it('puts model files beside the manifest in a checkout, or where KLIQ_MODELS_DIR says', () => {
    expect(modelsDir({})).toBe(path.join(ROOT, 'models'));
    expect(modelsDir({ KLIQ_MODELS_DIR: '/tmp/kliq-models' })).toBe('/tmp/kliq-models');
  });

  it('copies from a mirror folder and verifies the checksum', async () => {
    const dir = tmpDir();
    const file = await ensureModelFile(entry('yolox-nano-coco'), { dir, mirrors: [SHARED_MODELS] });
    expect(file).toBe(path.join(dir, 'yolox_nano.onnx'));
    expect(fs.statSync(file).size).toBe(3660092);
    // second call: already there, verified, no copy
    expect(await ensureModelFile(entry('yolox-nano-coco'), { dir, mirrors: [] })).toBe(file);
  });

  it('names the fix when the local file has a bad checksum', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'yolox_nano.onnx'), 'corrupt');
    await expect(ensureModelFile(entry('yolox-nano-coco'), { dir, mirrors: [SHARED_MODELS] })).rejects.toThrow(
      /Delete the file and run `npm run models`/,
    );
  });

  it('skips a mirror copy with a bad checksum and reports every source tried', async () => {
    const dir = tmpDir();
    const badMirror = tmpDir();
    fs.writeFileSync(path.join(badMirror, 'yolox_nano_v8layout.onnx'), 'not the model');
    const err = await ensureModelFile(entry('yolox-nano-coco-v8layout'), { dir, mirrors: [badMirror] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/sha256 [0-9a-f]{64} does not match/);
    expect((err as Error).message).toMatch(/no source URL in the manifest/);
    expect((err as Error).message).toMatch(/KLIQ_MODELS_MIRROR/);
    expect(fs.readdirSync(dir)).toEqual([]); // no partial file left
  });

  describe('download from the source URL (a real HTTP server on 127.0.0.1)', () => {
    let server: http.Server;
    let base = '';
    beforeAll(async () => {
      server = http.createServer((req, res) => {
        if (req.url === '/yolox_nano.onnx') fs.createReadStream(path.join(SHARED_MODELS, 'yolox_nano.onnx')).pipe(res);
        else if (req.url === '/wrong.onnx') res.end('wrong bytes');
        else {
          res.statusCode = 404;
          res.end();
        }
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    const withUrl = (url: string): ManifestEntry => ({ ...entry('yolox-nano-coco'), url });

    it('downloads and verifies', async () => {
      const dir = tmpDir();
      const file = await ensureModelFile(withUrl(`${base}/yolox_nano.onnx`), { dir, mirrors: [] });
      expect(fs.statSync(file).size).toBe(3660092);
    });

    it('refuses a download with the wrong checksum, a 404, and a host that drops the connection', async () => {
      await expect(ensureModelFile(withUrl(`${base}/wrong.onnx`), { dir: tmpDir(), mirrors: [] })).rejects.toThrow(
        /does not match the manifest/,
      );
      await expect(ensureModelFile(withUrl(`${base}/missing.onnx`), { dir: tmpDir(), mirrors: [] })).rejects.toThrow(/HTTP 404/);
      // a port this test holds (so nothing else can take it) that drops every connection unanswered
      const dropper = net.createServer((socket) => socket.resetAndDestroy());
      await new Promise<void>((r) => dropper.listen(0, '127.0.0.1', r));
      const port = (dropper.address() as { port: number }).port;
      try {
        await expect(ensureModelFile(withUrl(`http://127.0.0.1:${port}/yolox_nano.onnx`), { dir: tmpDir(), mirrors: [] })).rejects.toThrow(
          /127\.0\.0\.1:\d+\/yolox_nano\.onnx: .*(ECONNRESET|other side closed)[\s\S]*Fix: put yolox_nano.onnx/,
        );
      } finally {
        await new Promise<void>((r) => dropper.close(() => r()));
      }
    });
  });

  it('resolves a manifest name, an .onnx path (labels from its metadata), and rejects an unknown name', async () => {
    const v8 = await resolveModel(path.join(SHARED_MODELS, 'yolox_nano_v8layout.onnx'));
    expect(v8).toMatchObject({ format: 'ultralytics', inputSize: [416, 416] });
    expect(v8.labels[0]).toBe('person');
    await expect(resolveModel('no-such-model')).rejects.toThrow(/unknown model "no-such-model"/);
  });
});
