/**
 * The WebSocket transport of `kliq-audit serve`: a KliqApi over `ws://<host>/rpc?token=…`, the token
 * read from the page's own URL (`?token=`). One message per call (nothing is batched on this side),
 * results validated with the contract's zod schemas (see ./api.ts), reconnects with backoff.
 *
 * Calls made while disconnected wait for the connection (up to QUEUED_TIMEOUT_MS); calls in flight
 * when it drops fail with code 'disconnected' (the server may or may not have applied them: the UI
 * reloads what it shows).
 *
 * When a connection attempt fails, the page asks `/session?token=` whether its token is still valid: a
 * 401 (serve was restarted with `--new-token`) is 'bad-token', final (no more retries, queued calls
 * fail); anything else (serve down, restarting) keeps retrying.
 */
import type { EngineEvent, KliqApi, MethodName, Params, Result, ServerMessage } from '../../shared/rpc';
import { RpcError } from '../../shared/errors';

export { RpcError };

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'no-token' | 'bad-token';

/** A KliqApi that can also tell whether it is connected (only transports that can drop have this). */
export interface ConnectedApi extends KliqApi {
  readonly state: ConnectionState;
  onState(listener: (state: ConnectionState) => void): () => void;
  close(): void;
}

const QUEUED_TIMEOUT_MS = 30_000;
const BAD_TOKEN_MESSAGE = 'this address is no longer valid: open the URL `kliq-audit serve` printed';
const BACKOFF_MS = [250, 500, 1000, 2000, 4000];

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export function tokenFromLocation(search: string = location.search): string | null {
  return new URLSearchParams(search).get('token');
}

export function createWebSocketApi(opts: { token?: string | null; base?: string } = {}): ConnectedApi {
  const token = opts.token === undefined ? tokenFromLocation() : opts.token;
  const base = new URL(opts.base ?? location.href);
  const wsUrl = `${base.protocol === 'https:' ? 'wss:' : 'ws:'}//${base.host}/rpc?token=${encodeURIComponent(token ?? '')}`;
  const sessionUrl = `${base.origin}/session?token=${encodeURIComponent(token ?? '')}`;

  let ws: WebSocket | null = null;
  let state: ConnectionState = token ? 'connecting' : 'no-token';
  let attempt = 0;
  let closed = false;
  let nextId = 1;
  const inFlight = new Map<number, Pending>();
  /** Requests waiting for a connection, in call order. */
  const waiting: { id: number; data: string; timer: ReturnType<typeof setTimeout> }[] = [];
  const eventListeners = new Set<(events: EngineEvent[]) => void>();
  const stateListeners = new Set<(s: ConnectionState) => void>();

  const setState = (s: ConnectionState) => {
    if (s === state) return;
    state = s;
    for (const l of stateListeners) l(s);
  };

  const onMessage = (raw: MessageEvent) => {
    let msg: ServerMessage;
    try {
      msg = JSON.parse(String(raw.data)) as ServerMessage;
    } catch {
      return;
    }
    if (msg.kind === 'events') {
      if (!Array.isArray(msg.events)) return;
      for (const l of eventListeners) l(msg.events);
      return;
    }
    if (msg.kind !== 'response') return;
    const p = inFlight.get(msg.id);
    if (!p) return;
    inFlight.delete(msg.id);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(new RpcError(msg.error?.code ?? 'failed', msg.error?.message ?? 'the engine refused the call'));
  };

  /** The token was refused for good: stop, and fail what waits. */
  const badToken = () => {
    closed = true;
    setState('bad-token');
    for (const w of waiting.splice(0)) {
      clearTimeout(w.timer);
      const p = inFlight.get(w.id);
      inFlight.delete(w.id);
      p?.reject(new RpcError('disconnected', BAD_TOKEN_MESSAGE));
    }
  };

  const retry = () => {
    if (closed) return;
    setState('reconnecting');
    const delay = BACKOFF_MS[Math.min(attempt++, BACKOFF_MS.length - 1)];
    setTimeout(connect, delay);
  };

  const connect = () => {
    if (closed || !token) return;
    const sock = new WebSocket(wsUrl);
    let opened = false;
    ws = sock;
    sock.onopen = () => {
      opened = true;
      attempt = 0;
      setState('open');
      for (const w of waiting.splice(0)) {
        clearTimeout(w.timer);
        sock.send(w.data);
      }
    };
    sock.onmessage = onMessage;
    sock.onclose = () => {
      if (ws !== sock) return;
      ws = null;
      for (const [id, p] of inFlight) {
        inFlight.delete(id);
        p.reject(new RpcError('disconnected', 'the connection to the engine was lost before it answered'));
      }
      if (closed) return;
      if (opened) return retry();
      // the attempt failed: a server that is down, or one that no longer knows this token?
      fetch(sessionUrl, { cache: 'no-store' })
        .then((r) => (r.status === 401 ? badToken() : retry()))
        .catch(retry);
    };
  };

  const send = (id: number, data: string) => {
    if (ws && ws.readyState === WebSocket.OPEN) {
      ws.send(data);
      return;
    }
    const timer = setTimeout(() => {
      const i = waiting.findIndex((w) => w.id === id);
      if (i >= 0) waiting.splice(i, 1);
      const p = inFlight.get(id);
      inFlight.delete(id);
      p?.reject(new RpcError('disconnected', 'no connection to the engine (is `kliq-audit serve` still running?)'));
    }, QUEUED_TIMEOUT_MS);
    waiting.push({ id, data, timer });
  };

  connect();

  return {
    get state() {
      return state;
    },
    call<K extends MethodName>(method: K, params: Params<K>): Promise<Result<K>> {
      if (!token) return Promise.reject(new RpcError('no-token', 'this page needs the ?token= of the URL printed by `kliq-audit serve`'));
      if (state === 'bad-token') return Promise.reject(new RpcError('disconnected', BAD_TOKEN_MESSAGE));
      const id = nextId++;
      return new Promise<Result<K>>((resolve, reject) => {
        inFlight.set(id, { resolve: resolve as (v: unknown) => void, reject });
        send(id, JSON.stringify({ id, method, params }));
      });
    },
    onEvents(listener) {
      eventListeners.add(listener);
      return () => {
        eventListeners.delete(listener);
      };
    },
    photoUrl: (observationId) => `/photo/${encodeURIComponent(observationId)}?token=${encodeURIComponent(token ?? '')}`,
    thumbUrl: (observationId) => `/thumb/${encodeURIComponent(observationId)}?token=${encodeURIComponent(token ?? '')}`,
    viewUrl: (observationId) => `/view/${encodeURIComponent(observationId)}?token=${encodeURIComponent(token ?? '')}`,
    smallViewUrl: (observationId) => `/small/${encodeURIComponent(observationId)}?token=${encodeURIComponent(token ?? '')}`,
    onState(listener) {
      stateListeners.add(listener);
      return () => {
        stateListeners.delete(listener);
      };
    },
    close() {
      closed = true;
      ws?.close();
    },
  };
}
