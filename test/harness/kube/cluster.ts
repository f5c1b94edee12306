/**
 * What the API server does on top of storage: defaults, generation, optimistic concurrency,
 * dry runs, garbage collection of owned objects, the scale subresource, pod logs and metrics.
 */
import { DeploymentController } from './deployments.js';
import { applyPatch } from './patch.js';
import { RESOURCES, apiVersionOf, storedType, type ResourceType } from './resources.js';
import type { Usage } from './seed.js';
import { Store, canonical, fieldMatcher, labelMatcher, type Obj } from './store.js';

export class ApiError extends Error {
  constructor(readonly code: number, readonly reason: string, message: string, readonly details?: object) {
    super(message);
  }
}

const qualified = (t: ResourceType): string => (t.group ? `${t.plural}.${t.group}` : t.plural);
export const notFound = (t: ResourceType, name: string): ApiError =>
  new ApiError(404, 'NotFound', `${qualified(t)} "${name}" not found`, { name, group: t.group, kind: t.plural });

export interface ClusterSettings {
  failImages: () => RegExp | null;
  rolloutDelayMs: number;
  logs: Record<string, string>;
  usage: Record<string, Usage>;
}

/** The API server drops nulls (e.g. the `creationTimestamp: null` in templates kubectl sends). */
function pruneNulls(v: Obj): Obj {
  if (Array.isArray(v)) return v.map(pruneNulls);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null).map(([k, x]) => [k, pruneNulls(x)]));
}

function withDefaults(t: ResourceType, o: Obj): Obj {
  if (t.kind === 'Deployment') {
    const strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } };
    o.spec = { replicas: 1, revisionHistoryLimit: 10, progressDeadlineSeconds: 600, strategy, ...o.spec };
  }
  if (t.kind === 'Service') {
    const octet = (): number => 1 + Math.floor(Math.random() * 250);
    o.spec = { type: 'ClusterIP', clusterIP: `10.96.${octet()}.${octet()}`, ...o.spec };
  }
  return o;
}

const selectorString = (sel: Obj): string => Object.entries(sel?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');

export class Cluster {
  readonly store = new Store();
  private readonly deployments: DeploymentController;

  constructor(private readonly settings: ClusterSettings) {
    this.deployments = new DeploymentController(this.store, settings);
  }

  close(): void {
    this.deployments.stop();
  }

  /** Test-side write: stored as given (plus defaults); a deployment without status is rolled out at once. */
  put(plural: string, obj: Obj): void {
    const t = storedType(plural);
    if (!t) throw new Error(`unknown kind ${plural}`);
    const o = structuredClone(obj);
    const typed = { apiVersion: apiVersionOf(t), kind: t.kind, ...o, metadata: { generation: 1, ...o.metadata } };
    const saved = this.store.save(plural, withDefaults(t, typed));
    if (t.kind === 'Deployment' && !obj.status) this.deployments.sync(saved, true);
  }

  get(t: ResourceType, ns: string | undefined, name: string): Obj {
    const o = this.store.get(t.plural, ns, name);
    if (!o) throw notFound(t, name);
    return o;
  }

  list(t: ResourceType, ns: string | undefined, q: URLSearchParams): Obj[] {
    const labels = labelMatcher(q.get('labelSelector'));
    const fields = fieldMatcher(q.get('fieldSelector'));
    return this.store.list(t.plural, ns, (o) => labels(o) && fields(o));
  }

  create(t: ResourceType, ns: string | undefined, obj: Obj, dryRun: boolean): Obj {
    const m = (obj.metadata ??= {});
    m.name ??= m.generateName && `${m.generateName}${Math.random().toString(36).slice(2, 7)}`;
    if (t.namespaced) {
      m.namespace ??= ns;
      if (!this.store.get('namespaces', undefined, m.namespace)) throw notFound(storedType('namespaces')!, m.namespace);
    }
    if (this.store.get(t.plural, m.namespace, m.name)) {
      throw new ApiError(409, 'AlreadyExists', `${qualified(t)} "${m.name}" already exists`, { name: m.name, group: t.group, kind: t.plural });
    }
    return this.write(t, obj, undefined, dryRun);
  }

  replace(t: ResourceType, ns: string | undefined, name: string, obj: Obj, dryRun: boolean): Obj {
    return this.write(t, obj, this.get(t, ns, name), dryRun);
  }

  patch(t: ResourceType, ns: string | undefined, name: string, contentType: string, patch: Obj, dryRun: boolean): Obj {
    if (t.group === 'cert-manager.io' && contentType.includes('strategic')) {
      // Custom resources have no strategic merge patch, as on a real cluster.
      throw new ApiError(415, 'UnsupportedMediaType', 'the body of the request was in an unknown format - '
        + 'accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml');
    }
    const old = this.get(t, ns, name);
    return this.write(t, applyPatch(contentType, old, patch), old, dryRun);
  }

  /** Create/update as the API server would; HTTP writes never change status (it is a subresource). */
  private write(t: ResourceType, obj: Obj, old: Obj | undefined, dryRun: boolean): Obj {
    const next = withDefaults(t, pruneNulls({ ...obj, apiVersion: apiVersionOf(t), kind: t.kind }));
    const m = (next.metadata = { ...next.metadata });
    if (old) {
      [m.name, m.namespace] = [old.metadata.name, old.metadata.namespace];
      if (m.resourceVersion && m.resourceVersion !== old.metadata.resourceVersion) {
        throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(t)} "${m.name}": `
          + 'the object has been modified; please apply your changes to the latest version and try again');
      }
      m.generation = canonical(next.spec) === canonical(old.spec) ? old.metadata.generation : old.metadata.generation + 1;
      next.status = old.status;
    } else {
      m.generation = 1;
      next.status = t.kind === 'Namespace' ? { phase: 'Active' } : undefined;
    }
    if (dryRun) return { ...next, metadata: { ...m, resourceVersion: old?.metadata.resourceVersion } };
    const saved = this.store.save(t.plural, next);
    if (t.kind === 'Deployment' && m.generation !== old?.metadata.generation) this.deployments.sync(saved);
    return this.store.get(t.plural, m.namespace, m.name);
  }

  /** Deletes the object, then what it owns (ReplicaSets, pods) and, for a namespace, what is in it. */
  delete(t: ResourceType, ns: string | undefined, name: string): Obj {
    const gone = this.store.delete(t.plural, ns, name);
    if (!gone) throw notFound(t, name);
    this.collectGarbage(gone);
    return gone;
  }

  private collectGarbage(owner: Obj): void {
    for (const t of RESOURCES.filter((r) => !r.computed)) {
      for (const o of this.store.list(t.plural)) {
        const owned = (o.metadata.ownerReferences ?? []).some((r: Obj) => r.uid === owner.metadata.uid);
        if (owned || (owner.kind === 'Namespace' && o.metadata.namespace === owner.metadata.name)) {
          this.store.delete(t.plural, o.metadata.namespace, o.metadata.name);
          this.collectGarbage(o);
        }
      }
    }
  }

  // --- deployments/NAME/scale (autoscaling/v1 Scale)

  scale(t: ResourceType, ns: string, name: string): Obj {
    const { metadata: m, spec, status } = this.get(t, ns, name);
    return {
      apiVersion: 'autoscaling/v1',
      kind: 'Scale',
      metadata: { name, namespace: ns, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
      spec: { replicas: spec.replicas },
      status: { replicas: status?.replicas ?? 0, selector: selectorString(spec.selector) },
    };
  }

  setScale(t: ResourceType, ns: string, name: string, scale: Obj, dryRun: boolean): Obj {
    const d = this.get(t, ns, name);
    const next = {
      ...d,
      metadata: { ...d.metadata, resourceVersion: scale.metadata?.resourceVersion },
      spec: { ...d.spec, replicas: scale.spec?.replicas },
    };
    this.write(t, next, d, dryRun);
    return dryRun ? { ...scale, status: this.scale(t, ns, name).status } : this.scale(t, ns, name);
  }

  patchScale(t: ResourceType, ns: string, name: string, contentType: string, patch: Obj, dryRun: boolean): Obj {
    return this.setScale(t, ns, name, applyPatch(contentType, this.scale(t, ns, name), patch), dryRun);
  }

  // --- pods/NAME/log and metrics.k8s.io, both keyed by the deployment a pod belongs to

  private deploymentOf(pod: Obj): string | undefined {
    const rsRef = pod.metadata.ownerReferences?.find((r: Obj) => r.kind === 'ReplicaSet');
    const rs = rsRef && this.store.get('replicasets', pod.metadata.namespace, rsRef.name);
    return rs?.metadata.ownerReferences?.find((r: Obj) => r.kind === 'Deployment')?.name;
  }

  logs(ns: string, name: string, q: URLSearchParams): string {
    const pod = this.get(storedType('pods')!, ns, name);
    const waiting = pod.status?.containerStatuses?.find((c: Obj) => c.state?.waiting);
    if (waiting) {
      throw new ApiError(400, 'BadRequest', `container "${waiting.name}" in pod "${name}" is waiting to start: trying and failing to pull image`);
    }
    const text = this.settings.logs[this.deploymentOf(pod) ?? ''] ?? this.settings.logs['*'] ?? '';
    const tail = Number(q.get('tailLines') ?? -1);
    if (tail < 0) return text;
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    return tail === 0 ? '' : lines.slice(-tail).map((l) => `${l}\n`).join('');
  }

  metrics(t: ResourceType, ns: string | undefined): Obj[] {
    const timestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const usage = (key: string | undefined): Usage => this.settings.usage[key ?? ''] ?? this.settings.usage['*'] ?? { cpu: '0', memory: '0' };
    const meta = ({ metadata: m }: Obj): Obj => ({ name: m.name, namespace: m.namespace, labels: m.labels, creationTimestamp: timestamp });
    const ready = (o: Obj): boolean => o.status?.conditions?.some((c: Obj) => c.type === 'Ready' && c.status === 'True');
    if (t.plural === 'nodes') {
      return this.store.list('nodes').filter(ready).map((n) => ({ metadata: meta(n), timestamp, window: '30s', usage: usage(n.metadata.name) }));
    }
    return this.store.list('pods', ns).filter(ready).map((p) => ({
      metadata: meta(p),
      timestamp,
      window: '30s',
      containers: p.spec.containers.map((c: Obj) => ({ name: c.name, usage: usage(this.deploymentOf(p)) })),
    }));
  }
}
