/**
 * A stand-in for the service a runbook maintains: health endpoints on 127.0.0.1 that a test or a
 * demo can make failing or slow, in-process with `set()` or from another process with
 * `POST /_control` (the same JSON). Loopback only, so the unauthenticated control is local.
 *
 *   GET /health → 200 {"status":"ok"}      GET /ready → 200 {"status":"ready"}
 *   GET /_control → the current behaviour  POST /_control {"status":503,"delayMs":1500,"paths":{"/ready":{"status":500}}}
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as z from 'zod/mini';
// Not z.core.$ZodError: reading z.core keeps all of zod's core (~500 KB) in the bundle.
import { $ZodError } from 'zod/v4/core';
import '../zod-setup.js'; // before any schema is built

const MAX_DELAY_MS = 10 * 60_000;
const MAX_CONTROL_BYTES = 64 * 1024;

const Behaviour = z.strictObject({
  /** The response's status code (the body follows: ok below 400, failing from 400). */
  status: z.optional(z.number().check(z.int(), z.gte(100), z.lte(599))),
  /** How long to wait before responding. */
  delayMs: z.optional(z.number().check(z.gte(0), z.lte(MAX_DELAY_MS))),
});
export type HttpBehaviour = z.infer<typeof Behaviour>;

const Control = z.extend(Behaviour, {
  /** Per-path behaviour, over the service-wide one (a path's entry replaces its previous one; `null` removes it). */
  paths: z.optional(z.record(z.string().check(z.startsWith('/')), z.nullable(Behaviour))),
  /** Back to healthy first: no service-wide override, no per-path ones. */
  reset: z.optional(z.boolean()),
});
/** A change of behaviour: fields given replace the current ones, others stay. */
export type HttpControl = z.infer<typeof Control>;

export interface HttpState {
  status: number;
  delayMs: number;
  paths: Record<string, HttpBehaviour>;
}

export interface HttpServiceOptions {
  /** Default 0: any free port. */
  port?: number;
  /** The behaviour to start with (default: healthy and fast). */
  initial?: HttpControl;
}

export interface HttpService {
  /** `http://127.0.0.1:<port>` */
  url: string;
  healthUrl: string;
  readyUrl: string;
  controlUrl: string;
  /** Changes the behaviour; throws on invalid input. Returns the new state. */
  set(control: HttpControl): HttpState;
  readonly state: HttpState;
  /** Requests served so far, except those to /_control. */
  readonly requests: number;
  /** Closes the server and every connection, answering nothing pending. Idempotent; never rejects. */
  stop(): Promise<void>;
}

/** The endpoints and their bodies: healthy, then failing. */
const ROUTES: Record<string, [ok: object, failing: object]> = {
  '/health': [{ status: 'ok' }, { status: 'failing' }],
  '/ready': [{ status: 'ready' }, { status: 'not ready' }],
  '/': [{ service: 'maint stack', status: 'ok' }, { service: 'maint stack', status: 'failing' }],
};

export async function startHttpService(opts: HttpServiceOptions = {}): Promise<HttpService> {
  let state: HttpState = { status: 200, delayMs: 0, paths: {} };
  let requests = 0;
  const pending = new Set<NodeJS.Timeout>();

  const set = (input: unknown): HttpState => {
    const c = Control.parse(input);
    const base = c.reset ? { status: 200, delayMs: 0, paths: {} } : state;
    const paths = { ...base.paths };
    for (const [path, b] of Object.entries(c.paths ?? {})) {
      if (b) paths[path] = b;
      else delete paths[path];
    }
    state = { status: c.status ?? base.status, delayMs: c.delayMs ?? base.delayMs, paths };
    return state;
  };
  if (opts.initial) set(opts.initial);

  const serve = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/_control') return void control(req, res).catch(() => res.destroy()); // The client went away.
    requests++;
    const route = ROUTES[path];
    const override = state.paths[path];
    const status = override?.status ?? (route ? state.status : 404);
    const delayMs = override?.delayMs ?? state.delayMs;
    const body = route ? route[status < 400 ? 0 : 1] : { error: `no route ${path}` };
    const respond = (): void => {
      pending.delete(timer);
      json(res, status, body);
    };
    const timer = setTimeout(respond, delayMs);
    pending.add(timer);
    res.once('close', () => {
      clearTimeout(timer); // The client gave up.
      pending.delete(timer);
    });
  };

  const control = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method === 'GET') return json(res, 200, state);
    if (req.method !== 'POST') return json(res, 405, { error: 'GET or POST' });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_CONTROL_BYTES) {
        res.setHeader('connection', 'close'); // The rest of the body is not read.
        return json(res, 413, { error: `more than ${MAX_CONTROL_BYTES} bytes` });
      }
      chunks.push(chunk as Buffer);
    }
    try {
      json(res, 200, set(JSON.parse(Buffer.concat(chunks).toString() || '{}')));
    } catch (err) {
      const message = err instanceof $ZodError ? z.prettifyError(err) : err instanceof Error ? err.message : String(err);
      json(res, 400, { error: message });
    }
  };

  const server = createServer((req, res) => serve(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  let stopping: Promise<void> | undefined;
  return {
    url,
    healthUrl: `${url}/health`,
    readyUrl: `${url}/ready`,
    controlUrl: `${url}/_control`,
    set,
    get state() {
      return state;
    },
    get requests() {
      return requests;
    },
    stop: () =>
      (stopping ??= new Promise<void>((resolve) => {
        for (const t of pending) clearTimeout(t);
        pending.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
}
