/** Maps Kubernetes REST paths onto the cluster: discovery, CRUD, watch and subresources. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, notFound, type Cluster } from './cluster.js';
import { PatchError } from './patch.js';
import { decodeMetadata } from './protobuf.js';
import {
  apiGroupDoc, apiGroupList, apiResourceList, apiVersionOf, apiVersions, findType, openApiDoc, openApiIndex, type ResourceType,
} from './resources.js';
import { fieldMatcher, labelMatcher, type Obj } from './store.js';

// The gcloud kubectl dispatcher at /usr/bin/kubectl asks /version first and runs the matching kubectl.
const VERSION = {
  major: '1', minor: '32', gitVersion: 'v1.32.4', gitCommit: 'fake', gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z', goVersion: 'go1.23.8', compiler: 'gc', platform: 'linux/amd64',
};

const json = (res: ServerResponse, code: number, body: unknown): void => {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
};

const statusObject = (status: 'Success' | 'Failure', more: object): object => ({ kind: 'Status', apiVersion: 'v1', metadata: {}, status, ...more });
const sendError = (res: ServerResponse, e: ApiError): void =>
  json(res, e.code, statusObject('Failure', { message: e.message, reason: e.reason, details: e.details, code: e.code }));

const pathNotFound = (): ApiError => new ApiError(404, 'NotFound', 'the server could not find the requested resource');
const found = <T>(x: T | undefined): T => {
  if (x === undefined) throw pathNotFound();
  return x;
};
const methodNotAllowed = (method: string): ApiError =>
  new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (${method})`);

async function readJson(req: IncomingMessage): Promise<Obj> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const body = Buffer.concat(chunks);
  if (req.headers['content-type']?.includes('protobuf')) {
    const obj = decodeMetadata(body);
    if (obj.kind === 'Namespace') return obj;
    throw new ApiError(415, 'UnsupportedMediaType', `this fake API server reads protobuf only for Namespace, not ${obj.kind}: send JSON`);
  }
  if (!body.length) return undefined;
  try {
    return JSON.parse(body.toString());
  } catch {
    throw new ApiError(400, 'BadRequest', 'the request body is not JSON');
  }
}

export function createHandler(cluster: Cluster, requests: string[]): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const dryRun = url.searchParams.get('dryRun') === 'All';
    requests.push(`${req.method} ${url.pathname}${dryRun ? ' (dry run)' : ''}`);
    handle(cluster, req, res, url, dryRun).catch((e: unknown) => {
      if (e instanceof ApiError) sendError(res, e);
      else if (e instanceof PatchError) sendError(res, new ApiError(422, 'Invalid', e.message));
      else sendError(res, new ApiError(500, 'InternalError', String((e as Error)?.stack ?? e)));
    });
  };
}

async function handle(cluster: Cluster, req: IncomingMessage, res: ServerResponse, url: URL, dryRun: boolean): Promise<void> {
  const path = url.pathname.replace(/\/+$/, '');
  if (path === '/version') return json(res, 200, VERSION);
  if (['/healthz', '/livez', '/readyz'].includes(path)) return void res.end('ok');
  if (path === '/api') return json(res, 200, apiVersions(req.headers.host ?? ''));
  if (path === '/apis') return json(res, 200, apiGroupList());
  if (path === '/openapi/v3') return json(res, 200, openApiIndex());
  if (path.startsWith('/openapi/v3/')) return json(res, 200, found(openApiDoc(path.slice('/openapi/v3/'.length))));

  // /api/v1/[namespaces/NS/]PLURAL[/NAME[/SUB]] or /apis/GROUP/VERSION/...
  const seg = path.split('/').slice(1);
  const core = seg[0] === 'api';
  if ((!core && seg[0] !== 'apis') || !seg[1]) throw pathNotFound();
  if (!core && !seg[2]) return json(res, 200, found(apiGroupDoc(seg[1])));
  const [group, version] = core ? ['', seg[1]] : [seg[1], seg[2]!];
  let rest = seg.slice(core ? 2 : 3);
  if (!rest.length) return json(res, 200, found(apiResourceList(group, version)));
  let ns: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) [ns, rest] = [rest[1], rest.slice(2)];
  const [plural = '', name, sub] = rest;
  const t = findType(group, version, plural);
  if (!t || (ns && !t.namespaced) || rest.length > 3) throw pathNotFound();
  const method = req.method ?? 'GET';
  const q = url.searchParams;

  if (t.computed) return metrics(res, cluster, t, ns, name, method);
  if (sub === 'log' && t.plural === 'pods' && method === 'GET') {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    return void res.end(cluster.logs(ns!, name!, q));
  }
  if (sub === 'scale' && t.plural === 'deployments') {
    if (method === 'GET') return json(res, 200, cluster.scale(t, ns!, name!));
    if (method === 'PUT') return json(res, 200, cluster.setScale(t, ns!, name!, await readJson(req), dryRun));
    if (method === 'PATCH') return json(res, 200, cluster.patchScale(t, ns!, name!, req.headers['content-type'] ?? '', await readJson(req), dryRun));
    throw methodNotAllowed(method);
  }
  if (sub) throw pathNotFound();

  if (!name) {
    if (method === 'GET' && q.get('watch') === 'true') return watch(cluster, t, ns, q, res);
    if (method === 'GET') return json(res, 200, list(t, cluster.list(t, ns, q), cluster.store.resourceVersion));
    if (method === 'POST') return json(res, 201, cluster.create(t, ns, await readJson(req), dryRun));
    throw methodNotAllowed(method);
  }
  switch (method) {
    case 'GET': return json(res, 200, cluster.get(t, ns, name));
    case 'PUT': return json(res, 200, cluster.replace(t, ns, name, await readJson(req), dryRun));
    case 'PATCH': return json(res, 200, cluster.patch(t, ns, name, req.headers['content-type'] ?? '', await readJson(req), dryRun));
    case 'DELETE': {
      const gone = dryRun ? cluster.get(t, ns, name) : cluster.delete(t, ns, name);
      return json(res, 200, statusObject('Success', { details: { name, group: t.group, kind: t.plural, uid: gone.metadata.uid } }));
    }
    default: throw methodNotAllowed(method);
  }
}

const list = (t: ResourceType, items: Obj[], resourceVersion: string): Obj =>
  ({ kind: `${t.kind}List`, apiVersion: apiVersionOf(t), metadata: { resourceVersion }, items });

/** A chunked response of newline-separated watch events, open until the client leaves or timeoutSeconds pass. */
function watch(cluster: Cluster, t: ResourceType, ns: string | undefined, q: URLSearchParams, res: ServerResponse): void {
  const labels = labelMatcher(q.get('labelSelector'));
  const fields = fieldMatcher(q.get('fieldSelector'));
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.flushHeaders();
  const stop = cluster.store.watch(t.plural, q.get('resourceVersion') ?? undefined, (event) => {
    const o = event.object;
    if (!res.writableEnded && (!ns || o.metadata.namespace === ns) && labels(o) && fields(o)) res.write(`${JSON.stringify(event)}\n`);
  });
  const timer = setTimeout(() => res.end(), Number(q.get('timeoutSeconds') ?? 1800) * 1000);
  res.on('close', () => {
    stop();
    clearTimeout(timer);
  });
}

function metrics(res: ServerResponse, cluster: Cluster, t: ResourceType, ns: string | undefined, name: string | undefined, method: string): void {
  if (method !== 'GET') throw methodNotAllowed(method);
  const apiVersion = apiVersionOf(t);
  const items = cluster.metrics(t, ns).map((m) => ({ kind: t.kind, apiVersion, ...m }));
  if (!name) return json(res, 200, list(t, items, cluster.store.resourceVersion));
  const one = items.find((m) => m.metadata.name === name);
  if (!one) throw notFound(t, name);
  json(res, 200, one);
}
