#!/usr/bin/env node
/**
 * Renders every app icon from the one source, build/icon.svg (run after editing it; the outputs are
 * committed, so packaging never needs electron-builder's icon converter, which is downloaded on demand):
 *   build/icon.png          1024×1024 (macOS/Windows/Linux source; electron-builder's `icon`)
 *   build/icons/NxN.png     the Linux icon set (16…1024) for AppImage and deb
 *   build/icon.ico          Windows: 16, 24, 32, 48, 64, 128, 256 (PNG entries)
 *   build/icon.icns         macOS: 16…1024 including @2x (PNG entries)
 *   src/renderer/public/favicon.svg   the served UI's favicon (Vite copies public/ into out/renderer)
 * Usage: node scripts/make-icon.mjs
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUILD = path.join(ROOT, 'build');
const SOURCE = path.join(BUILD, 'icon.svg');

export const SET_SIZES = [16, 24, 32, 48, 64, 128, 256, 512, 1024];
export const ICO_SIZES = [16, 24, 32, 48, 64, 128, 256];
/** ICNS entry types with PNG payloads: type → pixel size. */
export const ICNS_TYPES = [
  ['icp4', 16],
  ['icp5', 32],
  ['icp6', 64],
  ['ic07', 128],
  ['ic08', 256],
  ['ic09', 512],
  ['ic10', 1024],
  ['ic11', 32],
  ['ic12', 64],
  ['ic13', 256],
  ['ic14', 512],
];

async function png(svg, size) {
  // Rasterize at the target size (crisper small sizes than downscaling the 1024 render).
  return sharp(svg, { density: (72 * size) / 1024 })
    .resize(size, size)
    .png({ compressionLevel: 9 })
    .toBuffer();
}

function ico(images) {
  const header = Buffer.alloc(6);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2);
  header.writeUInt16LE(images.length, 4);
  const dir = Buffer.alloc(16 * images.length);
  let offset = header.length + dir.length;
  images.forEach(({ size, data }, i) => {
    const e = i * 16;
    dir[e] = size >= 256 ? 0 : size;
    dir[e + 1] = size >= 256 ? 0 : size;
    dir.writeUInt16LE(1, e + 4); // planes
    dir.writeUInt16LE(32, e + 6); // bits per pixel
    dir.writeUInt32LE(data.length, e + 8);
    dir.writeUInt32LE(offset, e + 12);
    offset += data.length;
  });
  return Buffer.concat([header, dir, ...images.map((i) => i.data)]);
}

function icns(entries) {
  const chunks = entries.map(({ type, data }) => {
    const head = Buffer.alloc(8);
    head.write(type, 0, 'latin1');
    head.writeUInt32BE(data.length + 8, 4);
    return Buffer.concat([head, data]);
  });
  const body = Buffer.concat(chunks);
  const head = Buffer.alloc(8);
  head.write('icns', 0, 'latin1');
  head.writeUInt32BE(body.length + 8, 4);
  return Buffer.concat([head, body]);
}

async function main() {
  const svg = fs.readFileSync(SOURCE);
  const bySize = new Map();
  for (const size of new Set([...SET_SIZES, ...ICO_SIZES, ...ICNS_TYPES.map(([, s]) => s)])) bySize.set(size, await png(svg, size));

  fs.writeFileSync(path.join(BUILD, 'icon.png'), bySize.get(1024));
  fs.rmSync(path.join(BUILD, 'icons'), { recursive: true, force: true });
  fs.mkdirSync(path.join(BUILD, 'icons'));
  for (const size of SET_SIZES) fs.writeFileSync(path.join(BUILD, 'icons', `${size}x${size}.png`), bySize.get(size));
  fs.writeFileSync(path.join(BUILD, 'icon.ico'), ico(ICO_SIZES.map((size) => ({ size, data: bySize.get(size) }))));
  fs.writeFileSync(path.join(BUILD, 'icon.icns'), icns(ICNS_TYPES.map(([type, size]) => ({ type, data: bySize.get(size) }))));

  const favicon = path.join(ROOT, 'src', 'renderer', 'public', 'favicon.svg');
  fs.mkdirSync(path.dirname(favicon), { recursive: true });
  fs.copyFileSync(SOURCE, favicon);
  console.log('icons written: build/icon.png, build/icons/, build/icon.ico, build/icon.icns, src/renderer/public/favicon.svg');
}

await main();
