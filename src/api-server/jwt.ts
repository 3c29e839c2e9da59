/** HS256 JWTs (RFC 7519) with node:crypto, signed with the server's secret (kept in its database). */
import crypto from 'node:crypto';

export interface Claims {
  /** user email or OAuth2 client id */
  sub: string;
  /** tenant */
  tid: string;
  typ: 'access' | 'refresh';
  jti: string;
  iat: number;
  /** NumericDate, seconds (fractional allowed) */
  exp: number;
}

const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64url');
const HEADER = b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

export class Jwt {
  constructor(private readonly secret: Buffer) {}

  sign(c: { sub: string; tid: string; typ: Claims['typ'] }, ttlMs: number): { token: string; claims: Claims } {
    const now = Date.now();
    const claims: Claims = { ...c, jti: crypto.randomBytes(12).toString('hex'), iat: Math.floor(now / 1000), exp: (now + ttlMs) / 1000 };
    const body = `${HEADER}.${b64(JSON.stringify(claims))}`;
    return { token: `${body}.${b64(crypto.createHmac('sha256', this.secret).update(body).digest())}`, claims };
  }

  /** The claims of a valid, unexpired token of this type; null otherwise. */
  verify(token: string, typ: Claims['typ']): Claims | null {
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== HEADER) return null;
    const want = crypto.createHmac('sha256', this.secret).update(`${parts[0]}.${parts[1]}`).digest();
    const got = Buffer.from(parts[2], 'base64url');
    if (got.length !== want.length || !crypto.timingSafeEqual(got, want)) return null;
    let claims: Claims;
    try {
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Claims;
    } catch {
      return null;
    }
    if (claims.typ !== typ || typeof claims.exp !== 'number' || Date.now() / 1000 >= claims.exp) return null;
    return claims;
  }
}
