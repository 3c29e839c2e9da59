/**
 * The app icon: one source (build/icon.svg), every size each platform needs (scripts/make-icon.mjs,
 * committed), and the same icon as the served UI's favicon.
 */
import fs from 'node:fs';
import path from 'node:path';
import { convertIcon, type IconFormat } from 'app-builder-lib/out/util/iconConverter';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineHost } from '../src/main/engine/host';
import { serve, type Served } from '../src/main/serve';
import { ROOT, tmpDir } from './helpers';
import { ensureRendererBuilt } from './ui-helpers';

const BUILD = path.join(ROOT, 'build');
const SOURCE = fs.readFileSync(path.join(BUILD, 'icon.svg'));

async function pngSize(data: Buffer): Promise<number[]> {
  const meta = await sharp(data).metadata();
  expect(meta.format).toBe('png');
  return [meta.width, meta.height];
}

describe('app icon', () => {
  it('build/icon.png is 1024×1024 and the Linux set has every size from 16 to 1024', async () => {
    expect(await pngSize(fs.readFileSync(path.join(BUILD, 'icon.png')))).toEqual([1024, 1024]);
    const set = fs.readdirSync(path.join(BUILD, 'icons')).sort((a, b) => parseInt(a) - parseInt(b));
    expect(set).toEqual([
      '16x16.png',
      '24x24.png',
      '32x32.png',
      '48x48.png',
      '64x64.png',
      '128x128.png',
      '256x256.png',
      '512x512.png',
      '1024x1024.png',
    ]);
    for (const f of set) {
      const n = parseInt(f);
      expect(await pngSize(fs.readFileSync(path.join(BUILD, 'icons', f))), f).toEqual([n, n]);
    }
  });

  it('build/icon.ico holds 16 to 256 px images (Windows), build/icon.icns 16 to 1024 px with @2x (macOS)', async () => {
    const ico = fs.readFileSync(path.join(BUILD, 'icon.ico'));
    expect([ico.readUInt16LE(0), ico.readUInt16LE(2)]).toEqual([0, 1]);
    const sizes: number[] = [];
    for (let i = 0; i < ico.readUInt16LE(4); i++) {
      const e = 6 + i * 16;
      const data = ico.subarray(ico.readUInt32LE(e + 12), ico.readUInt32LE(e + 12) + ico.readUInt32LE(e + 8));
      const [w] = await pngSize(data);
      expect(w).toBe(ico[e] || 256);
      sizes.push(w);
    }
    expect(sizes).toEqual([16, 24, 32, 48, 64, 128, 256]);

    const icns = fs.readFileSync(path.join(BUILD, 'icon.icns'));
    expect(icns.toString('latin1', 0, 4)).toBe('icns');
    expect(icns.readUInt32BE(4)).toBe(icns.length);
    const types: Record<string, number> = {};
    for (let off = 8; off < icns.length;) {
      const len = icns.readUInt32BE(off + 4);
      types[icns.toString('latin1', off, off + 4)] = (await pngSize(icns.subarray(off + 8, off + len)))[0];
      off += len;
    }
    expect(types).toEqual({
      icp4: 16,
      icp5: 32,
      icp6: 64,
      ic07: 128,
      ic08: 256,
      ic09: 512,
      ic10: 1024,
      ic11: 32,
      ic12: 64,
      ic13: 256,
      ic14: 512,
    });
  });

  it("electron-builder takes each platform's configured icon as it is: no conversion (its converter is downloaded)", async () => {
    const yml = fs.readFileSync(path.join(ROOT, 'electron-builder.yml'), 'utf8');
    const configured = (platform: string) => new RegExp(`^${platform}:\\n(?:  .*\\n|\\s*\\n)*?  icon: (\\S+)`, 'm').exec(yml)?.[1];
    const out = path.join(tmpDir('kliq-icons-'), 'converted');
    const cases: [string, IconFormat, string][] = [
      ['linux', 'set', 'build/icons'],
      ['win', 'ico', 'build/icon.ico'],
      ['mac', 'icns', 'build/icon.icns'],
    ];
    for (const [platform, format, file] of cases) {
      expect(configured(platform), platform).toBe(file);
      // the same call electron-builder's PlatformPackager.resolveIcon makes
      const result = await convertIcon({ sources: [file], fallbackSources: [], roots: [BUILD, ROOT], format, outDir: out });
      expect(result.isFallback).toBe(false);
      const files = result.icons.map((i) => path.relative(ROOT, i.file));
      expect(
        files.every((f) => f.startsWith(file)),
        `${platform}: ${files.join(', ')}`,
      ).toBe(true);
    }
    expect(fs.existsSync(out)).toBe(false); // nothing was converted
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  });

  describe('favicon of the served UI', () => {
    let served: Served;
    let host: EngineHost;
    beforeAll(async () => {
      ensureRendererBuilt();
      // static files only, but serve keeps its token in the database: a real, empty one
      host = EngineHost.open(path.join(tmpDir(), 'icons.db'));
      served = await serve({ host, rendererDir: path.join(ROOT, 'out', 'renderer'), port: 0 });
    });
    afterAll(async () => {
      await served?.close();
      await host?.close();
    });

    it('is the app icon, linked from index.html and served from out/renderer (no favicon 404)', async () => {
      expect(fs.readFileSync(path.join(ROOT, 'src', 'renderer', 'public', 'favicon.svg'))).toEqual(SOURCE);
      const base = `http://127.0.0.1:${served.port}`;
      const html = await (await fetch(`${base}/`)).text();
      const href = /<link rel="icon" type="image\/svg\+xml" href="([^"]+)"/.exec(html)?.[1];
      expect(href).toBe('./favicon.svg');
      const res = await fetch(new URL(href!, `${base}/`));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/svg+xml');
      expect(Buffer.from(await res.arrayBuffer())).toEqual(SOURCE);
    });
  });
});
