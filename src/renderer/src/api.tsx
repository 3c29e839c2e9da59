/**
 * The renderer's one way to the engine: a KliqApi (window.kliq in the desktop app, else the WebSocket
 * transport), wrapped so every call's params and result are checked against the contract's zod
 * schemas, and handed to components through context.
 */
import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import { methods, type EngineEvent, type KliqApi, type MethodName, type Params, type Result } from '../../shared/rpc';
import { createWebSocketApi, RpcError, type ConnectedApi, type ConnectionState } from './transport';

export { RpcError };

/** Checks params before sending and results on arrival; a result that breaks the contract is an error, never data. */
export function validated(api: KliqApi): KliqApi {
  return {
    async call<K extends MethodName>(method: K, params: Params<K>): Promise<Result<K>> {
      const m = methods[method];
      if (!m) throw new RpcError('bad-request', `unknown method ${String(method)}`);
      const p = m.params.safeParse(params);
      if (!p.success)
        throw new RpcError(
          'bad-request',
          `${method}: ${p.error.issues.map((i) => `${i.path.join('.') || 'params'}: ${i.message}`).join('; ')}`,
        );
      const raw = await api.call(method, p.data as Params<K>);
      const r = m.result.safeParse(raw);
      if (!r.success)
        throw new RpcError(
          'bad-response',
          `${method}: the engine's answer does not match the contract (${r.error.issues[0]?.message ?? 'invalid'})`,
        );
      return r.data as Result<K>;
    },
    onEvents: (listener) => api.onEvents(listener),
    photoUrl: (id) => api.photoUrl(id),
    thumbUrl: (id) => api.thumbUrl(id),
    viewUrl: (id) => api.viewUrl(id),
    smallViewUrl: (id) => api.smallViewUrl(id),
  };
}

export interface ApiHandle {
  api: KliqApi;
  /** Present when the transport can drop (WebSocket); the desktop IPC is always there. */
  connection: ConnectedApi | null;
}

export function createDefaultApi(): ApiHandle {
  if (window.kliq) return { api: validated(window.kliq), connection: null };
  const ws = createWebSocketApi();
  return { api: validated(ws), connection: ws };
}

const ApiContext = createContext<ApiHandle | null>(null);

export function ApiProvider({ value, children }: { value: ApiHandle; children: ReactNode }) {
  return <ApiContext.Provider value={value}>{children}</ApiContext.Provider>;
}

export function useApiHandle(): ApiHandle {
  const h = useContext(ApiContext);
  if (!h) throw new Error('useApi outside <ApiProvider>');
  return h;
}

export function useApi(): KliqApi {
  return useApiHandle().api;
}

/** Engine events, with the latest listener (no re-subscribe on every render). */
export function useEngineEvents(listener: (events: EngineEvent[]) => void): void {
  const api = useApi();
  const ref = useRef(listener);
  ref.current = listener;
  useEffect(() => api.onEvents((events) => ref.current(events)), [api]);
}

/** Connection state of the transport ('open' for hosts that cannot drop). */
export function useConnectionState(): ConnectionState {
  const { connection } = useApiHandle();
  const [state, setState] = useState<ConnectionState>(connection?.state ?? 'open');
  useEffect(() => {
    if (!connection) return;
    setState(connection.state);
    return connection.onState(setState);
  }, [connection]);
  return state;
}

/** Bumps each time the transport comes back after a drop: screens refetch what they show. */
export function useReconnectCount(): number {
  const { connection } = useApiHandle();
  const [n, setN] = useState(0);
  useEffect(() => {
    if (!connection) return;
    // the first 'open' is the connection, not a reconnection: counting it made screens re-request their
    // first pages and throw the first answers away
    let wasOpen = connection.state === 'open';
    let everOpen = wasOpen;
    return connection.onState((s) => {
      if (s === 'open' && !wasOpen && everOpen) setN((x) => x + 1);
      wasOpen = s === 'open';
      everOpen ||= wasOpen;
    });
  }, [connection]);
  return n;
}

/**
 * The observation ids of 'changed' events, debounced: calls `fn` at most every `ms`. After the connection
 * comes back, calls it at once with `all` true: changes made while it was down sent no event, so whatever
 * a screen keeps from before is not to be trusted (every user of these events is kept right by this one place).
 */
export function useChangedEvents(fn: (ids: Set<string>, all: boolean) => void, ms = 300): void {
  const ref = useRef(fn);
  ref.current = fn;
  const acc = useRef<Set<string>>(new Set());
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );
  // the connection came back: what changed while it was down sent no event, so anything may have (at once)
  const reconnects = useReconnectCount();
  useEffect(() => {
    if (reconnects === 0) return;
    if (timer.current) clearTimeout(timer.current);
    timer.current = null;
    acc.current = new Set();
    ref.current(new Set(), true);
  }, [reconnects]);
  useEngineEvents((events) => {
    let any = false;
    for (const e of events) {
      if (e.type === 'changed') {
        for (const id of e.observationIds) acc.current.add(id);
        any = true;
      } else if ((e.type === 'import' || e.type === 'watch') && e.event.type === 'photo') {
        any = true; // a new or re-audited photo: queues and summaries move
      }
    }
    if (!any || timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      const ids = acc.current;
      acc.current = new Set();
      ref.current(ids, false);
    }, ms);
  });
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
