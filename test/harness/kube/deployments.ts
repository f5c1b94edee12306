/**
 * A tiny deployment controller. A pod-template change gets its own ReplicaSet (re-using one whose
 * template matches, as `rollout undo` relies on) with the next revision number; a moment later
 * the pods are replaced and the status says rolled out, or — for images in `failImages` — the new
 * pods never become ready (ImagePullBackOff) and the rollout exceeds its progress deadline.
 */
import { createHash, randomBytes } from 'node:crypto';
import { canonical, type Obj, type Store } from './store.js';

const REVISION = 'deployment.kubernetes.io/revision';
const HASH_LABEL = 'pod-template-hash';
const SAFE = 'bcdfghjklmnpqrstvwxz2456789'; // the API server's alphabet for generated names

const suffix = (bytes: Buffer, n: number): string => [...bytes.subarray(0, n)].map((b) => SAFE[b % SAFE.length]).join('');
const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const revisionOf = (o: Obj): number => Number(o.metadata.annotations?.[REVISION] ?? 0);
/** Kubernetes leaves zero counts out of status (omitempty). */
const counts = (c: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(c).filter(([, v]) => v));

function templateKey(template: Obj): string {
  const t = structuredClone(template ?? {});
  if (t.metadata?.labels) delete t.metadata.labels[HASH_LABEL];
  return canonical(t);
}

const isReady = (o: Obj): boolean => (o.status?.conditions ?? []).some((c: Obj) => c.type === 'Ready' && c.status === 'True');

const isControlledBy = (o: Obj, owner: Obj): boolean =>
  (o.metadata.ownerReferences ?? []).some((r: Obj) => r.controller && r.uid === owner.metadata.uid);

const ownerRef = (o: Obj): Obj =>
  ({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, uid: o.metadata.uid, controller: true, blockOwnerDeletion: true });

export interface ControllerSettings {
  failImages: () => RegExp | null;
  rolloutDelayMs: number;
}

export class DeploymentController {
  private readonly pending = new Map<string, NodeJS.Timeout>();

  constructor(private readonly store: Store, private readonly settings: ControllerSettings) {}

  /** After a deployment is created or its spec changed: pick its ReplicaSet now, roll pods out soon (or now). */
  sync(deploy: Obj, immediately = false): void {
    const rs = this.currentReplicaSet(deploy);
    if (deploy.metadata.annotations?.[REVISION] !== rs.metadata.annotations[REVISION]) {
      const annotations = { ...deploy.metadata.annotations, [REVISION]: rs.metadata.annotations[REVISION] };
      this.store.save('deployments', { ...deploy, metadata: { ...deploy.metadata, annotations } });
    }
    const key = `${deploy.metadata.namespace}/${deploy.metadata.name}`;
    clearTimeout(this.pending.get(key));
    const rollout = (): void => {
      this.pending.delete(key);
      this.rollout(deploy.metadata.namespace, deploy.metadata.name);
    };
    if (immediately) rollout();
    else this.pending.set(key, setTimeout(rollout, this.settings.rolloutDelayMs));
  }

  stop(): void {
    for (const t of this.pending.values()) clearTimeout(t);
  }

  private ownedReplicaSets(deploy: Obj): Obj[] {
    return this.store.list('replicasets', deploy.metadata.namespace, (rs) => isControlledBy(rs, deploy));
  }

  /** The ReplicaSet whose template is the deployment's, newest revision; created if none matches. */
  private currentReplicaSet(deploy: Obj): Obj {
    const owned = this.ownedReplicaSets(deploy);
    const maxRevision = Math.max(0, ...owned.map(revisionOf));
    const key = templateKey(deploy.spec.template);
    const match = owned.find((rs) => templateKey(rs.spec.template) === key);
    if (match && revisionOf(match) === maxRevision) return match;
    const annotations = { [REVISION]: String(maxRevision + 1), 'deployment.kubernetes.io/desired-replicas': String(deploy.spec.replicas) };
    if (match) {
      return this.store.save('replicasets', { ...match, metadata: { ...match.metadata, annotations: { ...match.metadata.annotations, ...annotations } } });
    }

    const hash = suffix(createHash('sha256').update(key).digest(), 10);
    const template = structuredClone(deploy.spec.template);
    template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, [HASH_LABEL]: hash } };
    return this.store.save('replicasets', {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${deploy.metadata.name}-${hash}`,
        namespace: deploy.metadata.namespace,
        labels: template.metadata.labels,
        annotations,
        ownerReferences: [ownerRef(deploy)],
        generation: 1,
      },
      spec: {
        replicas: 0,
        selector: { ...deploy.spec.selector, matchLabels: { ...deploy.spec.selector?.matchLabels, [HASH_LABEL]: hash } },
        template,
      },
      status: { replicas: 0, observedGeneration: 1 },
    });
  }

  /** Moves the pods to the current ReplicaSet and reports the outcome in the deployment's status. */
  private rollout(ns: string, name: string): void {
    const deploy = this.store.get('deployments', ns, name);
    if (!deploy) return;
    const desired: number = deploy.spec.replicas ?? 1;
    const fail = this.settings.failImages();
    const broken = (rs: Obj): boolean => !!fail && rs.spec.template.spec.containers.some((c: Obj) => fail.test(c.image));
    const owned = this.ownedReplicaSets(deploy);
    const key = templateKey(deploy.spec.template);
    const current = owned.find((rs) => templateKey(rs.spec.template) === key);
    if (!current) return; // a test put() a new template together with a status: leave it as given
    const failing = broken(current);
    for (const rs of owned) this.scale(rs, rs === current ? desired : 0, !broken(rs));
    const pods = this.store.list('pods', ns, (p) => owned.some((rs) => isControlledBy(p, rs)));
    const updated = pods.filter((p) => isControlledBy(p, current)).length;
    const available = pods.filter(isReady).length;
    const rsName = current.metadata.name;
    const time = now();
    const condition = (type: string, status: boolean, reason: string, message: string): Obj =>
      ({ type, status: status ? 'True' : 'False', lastUpdateTime: time, lastTransitionTime: time, reason, message });
    this.store.save('deployments', {
      ...deploy,
      status: {
        observedGeneration: deploy.metadata.generation,
        ...counts({
          replicas: pods.length,
          updatedReplicas: updated,
          readyReplicas: available,
          availableReplicas: available,
          unavailableReplicas: Math.max(0, desired - available),
        }),
        conditions: [
          available >= desired
            ? condition('Available', true, 'MinimumReplicasAvailable', 'Deployment has minimum availability.')
            : condition('Available', false, 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.'),
          failing
            ? condition('Progressing', false, 'ProgressDeadlineExceeded', `ReplicaSet "${rsName}" has timed out progressing.`)
            : condition('Progressing', true, 'NewReplicaSetAvailable', `ReplicaSet "${rsName}" has successfully progressed.`),
        ],
      },
    });
  }

  /** Sets a ReplicaSet's replicas and creates/deletes pods to match; new pods run if `healthy`, else wait on their image. */
  private scale(rs: Obj, replicas: number, healthy: boolean): Obj {
    const ns = rs.metadata.namespace;
    const pods = this.store.list('pods', ns, (p) => isControlledBy(p, rs));
    const keep = pods.filter((p) => !healthy || isReady(p)).slice(0, replicas);
    for (const pod of pods) if (!keep.includes(pod)) this.store.delete('pods', ns, pod.metadata.name);
    const nodes = this.store.list('nodes').filter(isReady);
    for (let i = keep.length; i < replicas; i++) keep.push(this.store.save('pods', this.pod(rs, nodes[i % nodes.length]?.metadata.name, healthy)));
    const ready = keep.filter(isReady).length;
    return this.store.save('replicasets', {
      ...rs,
      spec: { ...rs.spec, replicas },
      status: {
        observedGeneration: rs.metadata.generation,
        ...counts({ replicas, fullyLabeledReplicas: replicas, readyReplicas: ready, availableReplicas: ready }),
      },
    });
  }

  private pod(rs: Obj, nodeName: string | undefined, healthy: boolean): Obj {
    const { metadata, spec } = rs.spec.template;
    const time = now();
    const state = healthy ? { running: { startedAt: time } } : { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image' } };
    const condition = (type: string, status: boolean): Obj => ({ type, status: status ? 'True' : 'False', lastTransitionTime: time });
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        ...metadata,
        name: `${rs.metadata.name}-${suffix(randomBytes(5), 5)}`,
        namespace: rs.metadata.namespace,
        ownerReferences: [ownerRef(rs)],
      },
      spec: { ...spec, nodeName },
      status: {
        phase: healthy ? 'Running' : 'Pending',
        conditions: [
          condition('PodScheduled', true), condition('Initialized', true), condition('ContainersReady', healthy), condition('Ready', healthy),
        ],
        containerStatuses: spec.containers.map((c: Obj) =>
          ({ name: c.name, image: c.image, imageID: '', ready: healthy, restartCount: 0, started: healthy, state })),
        hostIP: '10.0.0.1',
        podIP: `10.244.0.${1 + (randomBytes(1)[0]! % 250)}`,
        qosClass: 'BestEffort',
        startTime: time,
      },
    };
  }
}
