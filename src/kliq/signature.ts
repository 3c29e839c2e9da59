/**
 * Webhook signatures: `Kliq-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`.
 * The timestamp is inside the signed content, so a captured delivery cannot be replayed once it is older
 * than the tolerance. Web Crypto only (crypto.subtle): the same code runs in Node 18+ and in browsers.
 */

export const SIGNATURE_HEADER = 'Kliq-Signature';
/** Deliveries older (or newer) than this are refused by default. */
export const DEFAULT_SIGNATURE_TOLERANCE_SECONDS = 300;

const encoder = new TextEncoder();
type Bytes = Uint8Array<ArrayBuffer>;
const bytesOf = (body: string | Uint8Array): Bytes => (typeof body === 'string' ? encoder.encode(body) : (new Uint8Array(body) as Bytes));

function hmacKey(secret: string, usage: 'sign' | 'verify'): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [usage]);
}

function signedContent(timestamp: number, body: Bytes): Bytes {
  const prefix = encoder.encode(`${timestamp}.`);
  const out = new Uint8Array(prefix.length + body.length);
  out.set(prefix, 0);
  out.set(body, prefix.length);
  return out;
}

const hex = (buf: ArrayBuffer) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');

/** The `Kliq-Signature` header value for a body (what the API sends). */
export async function signWebhookPayload(rawBody: string | Uint8Array, secret: string, timestamp = Math.floor(Date.now() / 1000)) {
  const mac = await crypto.subtle.sign('HMAC', await hmacKey(secret, 'sign'), signedContent(timestamp, bytesOf(rawBody)));
  return `t=${timestamp},v1=${hex(mac)}`;
}

export interface VerifyOptions {
  /** Seconds a delivery may be away from now; default 300. */
  toleranceSeconds?: number;
  /** Current time in ms (tests). */
  now?: number;
}

/**
 * Verifies a webhook delivery: the raw body exactly as received, the `Kliq-Signature` header, the webhook's
 * secret. False when the header is malformed, the timestamp is outside the tolerance (replay), or no v1
 * signature matches. The comparison is constant-time (crypto.subtle.verify).
 */
export async function verifyWebhookSignature(
  rawBody: string | Uint8Array,
  signatureHeader: string | null | undefined,
  secret: string,
  opts: VerifyOptions = {},
): Promise<boolean> {
  if (!signatureHeader || !secret) return false;
  let timestamp: number | null = null;
  const signatures: Bytes[] = [];
  for (const part of signatureHeader.split(',')) {
    const [k, v] = part.trim().split('=', 2);
    if (k === 't' && /^\d{1,12}$/.test(v ?? '')) timestamp = Number(v);
    else if (k === 'v1' && /^[0-9a-f]{64}$/i.test(v ?? '')) {
      signatures.push(new Uint8Array(v.match(/../g)!.map((h) => parseInt(h, 16))) as Bytes);
    }
  }
  if (timestamp === null || signatures.length === 0) return false;
  const tolerance = opts.toleranceSeconds ?? DEFAULT_SIGNATURE_TOLERANCE_SECONDS;
  const now = (opts.now ?? Date.now()) / 1000;
  if (Math.abs(now - timestamp) > tolerance) return false;
  const key = await hmacKey(secret, 'verify');
  const content = signedContent(timestamp, bytesOf(rawBody));
  for (const sig of signatures) {
    if (await crypto.subtle.verify('HMAC', key, sig, content)) return true;
  }
  return false;
}
