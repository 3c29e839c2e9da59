/**
 * The one door to a photo's pixels for the hosts (serve's /photo, Electron's kliq-photo:): a photo is
 * served only from a regular file that is still the one that was audited.
 *
 * The file is opened once (never again by path: what is checked is what is sent) and fstat'ed on the
 * open handle: it must be a regular file whose size and mtime (whole ms) are those recorded at audit.
 * A path replaced by a link to another file, or by another photo, opens a file of another size or
 * mtime and is refused as 'changed' (409); a file that is missing or unreadable is 'gone' (410).
 * When the size matches but the mtime does not (a `touch`, a copy that kept the content), or when no
 * mtime was recorded (databases audited before it was), the file is read once from the handle and its
 * sha256 compared with the observation's: the same content is served from those bytes and the new
 * mtime recorded (the next request is a plain fstat again); other content is 'changed'.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { Db } from './db';

export const PHOTO_CHANGED_MESSAGE = 'the photo file changed since it was audited: re-import it';
export const PHOTO_GONE_MESSAGE = 'the photo file is gone (moved, deleted or unreadable)';

export interface PhotoPixels {
  ok: true;
  mimeType: string;
  size: number;
  /** The checked bytes, once: a stream from the open handle (or the bytes already read); it closes the handle. */
  stream(): Readable;
  /** Closes the handle when the bytes are not wanted (HEAD). Safe after stream(). */
  close(): Promise<void>;
}

export interface PhotoRefused {
  ok: false;
  reason: 'not-found' | 'changed' | 'gone';
  /** The HTTP status a host answers with: 404, 409, 410. */
  status: 404 | 409 | 410;
  message: string;
}

interface PhotoRow {
  source_path: string;
  mime_type: string | null;
  bytes: number | null;
  file_mtime_ms: number | null;
  sha256: string | null;
}

const refused = (reason: PhotoRefused['reason']): PhotoRefused =>
  reason === 'not-found'
    ? { ok: false, reason, status: 404, message: 'no such photo' }
    : reason === 'changed'
      ? { ok: false, reason, status: 409, message: PHOTO_CHANGED_MESSAGE }
      : { ok: false, reason, status: 410, message: PHOTO_GONE_MESSAGE };

export class PhotoFiles {
  private readonly rowStmt;
  private readonly touchStmt;

  constructor(db: Db) {
    this.rowStmt = db.prepare<[string], PhotoRow>(
      'SELECT source_path, mime_type, bytes, file_mtime_ms, sha256 FROM observations WHERE id = ?',
    );
    this.touchStmt = db.prepare<[number, string, string]>('UPDATE observations SET file_mtime_ms = ? WHERE id = ? AND sha256 = ?');
  }

  /** Opens a photo's file for serving, or says why not (see the module comment). */
  async open(observationId: string): Promise<PhotoPixels | PhotoRefused> {
    const row = this.rowStmt.get(observationId);
    // only files that were decoded as photos: a failed import of any other file is never served
    if (!row || !row.mime_type || !row.sha256) return refused('not-found');
    const mimeType = row.mime_type;
    let fh: fsp.FileHandle;
    try {
      // O_NONBLOCK: a FIFO put in the photo's place must not block the opening thread (no effect on files)
      fh = await fsp.open(row.source_path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    } catch {
      return refused('gone');
    }
    let handed = false;
    try {
      const st = await fh.stat();
      if (!st.isFile() || (row.bytes !== null && st.size !== row.bytes)) return refused('changed');
      const mtimeMs = Math.floor(st.mtimeMs);
      if (row.bytes !== null && row.file_mtime_ms !== null && mtimeMs === row.file_mtime_ms) {
        handed = true;
        return pixels(mimeType, st.size, fh, null);
      }
      // same size, other (or unknown) mtime: the content decides, read once from this handle
      const buffer = await fh.readFile();
      if (crypto.createHash('sha256').update(buffer).digest('hex') !== row.sha256) return refused('changed');
      try {
        this.touchStmt.run(mtimeMs, observationId, row.sha256);
      } catch {
        // best effort (a read-only or busy database): the next request hashes again
      }
      return pixels(mimeType, buffer.length, null, buffer);
    } catch {
      return refused('gone');
    } finally {
      if (!handed) await fh.close().catch(() => undefined);
    }
  }
}

function pixels(mimeType: string, size: number, fh: fsp.FileHandle | null, buffer: Buffer | null): PhotoPixels {
  let closed = false;
  return {
    ok: true,
    mimeType,
    size,
    stream() {
      if (buffer) return Readable.from([buffer]);
      closed = true;
      // exactly the bytes checked: a file that grows meanwhile does not overrun its Content-Length
      return fh!.createReadStream({ start: 0, end: Math.max(0, size - 1), autoClose: true });
    },
    async close() {
      if (closed || !fh) return;
      closed = true;
      await fh.close().catch(() => undefined);
    },
  };
}
