/**
 * Review's photos decoded and scaled to the photo's area off the main thread (usePhotoCache's decode ahead).
 *
 * createImageBitmap decodes on Chromium's image threads, but the resize it is asked for runs on the
 * thread that called it: 22–34 ms of the page's main thread per 2000 px view (measured in Debian's
 * Chromium), long enough to make a keypress that lands meanwhile miss two frames. Here that thread is
 * this worker's; the bitmap is handed over (transferred, not copied) when done.
 *
 * Measured pressing straight on in Review at 12 MP (200 photos, three runs each, side by side): keypress
 * → painted p95 104–126 ms resizing on the page with 'medium', 66–76 ms here with bilinear; the median
 * went from 33–36 to 39–45 ms (this thread runs at the page's priority, Chromium's image threads below
 * it). Scaling by at most half, bilinear is as sharp as 'medium' (mipmaps, about twice the time); beyond
 * it aliases, so the page asks for 'medium' then.
 *
 * Each request is decoded at once, not one after another: one at a time fell behind an auditor pressing
 * straight on (p50 80 ms, waiting for pixels, against 40).
 */
import { decodeScaled, type DecodeReply, type DecodeRequest } from './decode';

onmessage = async (e: MessageEvent<DecodeRequest>) => {
  const bitmap = await decodeScaled(e.data);
  const reply: DecodeReply = { id: e.data.id, bitmap };
  postMessage(reply, { transfer: bitmap ? [bitmap] : [] });
};
