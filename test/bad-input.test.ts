import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { runAudit } from '../src/main/engine/audit';
import { openDb } from '../src/main/engine/db';
import { scanPaths, scanPathsAsync } from '../src/main/engine/ingest/scan';
import type { AuditReport } from '../src/shared/domain';
import { GENERAL, tmpDir } from './helpers';

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}
function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
/** A valid PNG header claiming width×height, with a few bytes of pixel data: a decompression bomb's shape. */
function bombPng(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(Buffer.alloc(1024))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('bad input: each photo fails with a clear error, the batch goes on', () => {
  let dir: string;
  let report: AuditReport;
  const byName = () => new Map(report.photos.map((p) => [path.basename(p.path), p]));

  beforeAll(async () => {
    dir = tmpDir();
    const dog = fs.readFileSync(path.join(GENERAL, 'dog.jpg'));
    fs.writeFileSync(path.join(dir, 'empty.jpg'), Buffer.alloc(0));
    fs.writeFileSync(path.join(dir, 'truncated.jpg'), dog.subarray(0, Math.floor(dog.length / 2)));
    fs.writeFileSync(path.join(dir, 'notes.jpg'), 'shelf 4, aisle 2: recount on Monday\n');
    fs.writeFileSync(path.join(dir, 'huge.jpg'), Buffer.concat([dog, Buffer.alloc(21 * 1024 * 1024 - dog.length, 7)]));
    fs.writeFileSync(path.join(dir, 'bomb.png'), bombPng(50000, 50000));
    fs.mkdirSync(path.join(dir, 'sub dir ü'));
    fs.writeFileSync(path.join(dir, 'sub dir ü', 'café shelf ✓ 1.jpg'), dog);
    fs.copyFileSync(path.join(GENERAL, 'person.jpg'), path.join(dir, 'sub dir ü', 'person.jpg'));
    fs.symlinkSync('..', path.join(dir, 'sub dir ü', 'loop')); // a folder link back to its parent
    fs.symlinkSync(path.join(dir, 'gone.jpg'), path.join(dir, 'broken-link.jpg'));
    // a real PNG with its pixel data overwritten in the middle, one cut in half, and a photo named .jpeg
    const png = fs.readFileSync(path.join(GENERAL, 'chelsea.png'));
    const mid = Math.floor(png.length / 2);
    fs.writeFileSync(
      path.join(dir, 'corrupt.png'),
      Buffer.concat([png.subarray(0, mid), Buffer.alloc(4096, 0x5a), png.subarray(mid + 4096)]),
    );
    fs.writeFileSync(path.join(dir, 'truncated.png'), png.subarray(0, mid));
    fs.writeFileSync(
      path.join(dir, 'eagle.jpeg'),
      Buffer.concat([fs.readFileSync(path.join(GENERAL, 'eagle.jpg')), Buffer.from('other bytes')]),
    );
    fs.symlinkSync(path.join(dir, 'gone-folder'), path.join(dir, 'broken-folder-link'));
    const db = openDb(path.join(tmpDir(), 'bad.db'));
    try {
      report = await runAudit({ paths: [dir], db, provider: 'cpu' });
    } finally {
      db.close();
    }
  });

  it.each([
    ['empty.jpg', /empty file \(0 bytes\)/],
    ['truncated.jpg', /corrupt or truncated/],
    ['notes.jpg', /not a JPEG or PNG image/],
    ['huge.jpg', /21\.0 MB; the limit for a photo is 20 MB/],
    ['bomb.png', /50000×50000 .*limit is 100 MP, refused without decoding/],
    ['broken-link.jpg', /file not found/],
    ['corrupt.png', /corrupt or truncated/],
    ['truncated.png', /corrupt or truncated/],
  ])('%s fails: %s', (file, message) => {
    const p = byName().get(file)!;
    expect(p, file).toBeDefined();
    expect(p.status).toBe('failed');
    expect(p.error).toMatch(message);
    expect(p.observationId).toMatch(/^obs_/);
  });

  it('good photos, unicode and spaces in names included, complete', () => {
    const ok = byName().get('café shelf ✓ 1.jpg')!;
    expect(ok.status).toBe('completed');
    expect(ok.detections.map((d) => d.objectName)).toContain('dog');
    expect(byName().get('person.jpg')!.status).toBe('completed');
    const jpeg = byName().get('eagle.jpeg')!;
    expect(jpeg.status).toBe('completed');
    expect(jpeg.detections.map((d) => d.objectName)).toContain('bird');
    expect(report.counts).toMatchObject({ total: 11, completed: 3, failed: 8 });
  });

  it('the symlink loop is walked once; a broken folder link is reported, not fatal', () => {
    const { files, skipped } = scanPaths([dir]);
    expect(skipped).toEqual([{ path: path.join(dir, 'broken-folder-link'), reason: expect.stringMatching(/^broken link: ENOENT/) }]);
    expect(files.filter((f) => f.endsWith('person.jpg'))).toHaveLength(1);
    expect(files).toHaveLength(11);
  });

  it('the asynchronous scan (used by audits) finds exactly what the synchronous one finds, in the same order', async () => {
    const sync = scanPaths([dir, path.join(dir, 'sub dir ü', 'person.jpg')]);
    const async_ = await scanPathsAsync([dir, path.join(dir, 'sub dir ü', 'person.jpg')]);
    expect(async_).toEqual(sync);
    expect(async_.files).toHaveLength(11);
    await expect(scanPathsAsync([path.join(dir, 'no-such-folder')])).rejects.toThrow(/no-such-folder: no such file or folder/);
  });
});
