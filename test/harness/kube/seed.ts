/** The cluster a test starts with: a `shop` namespace with a blue `api` deployment and friends. */
import type { Obj } from './store.js';

export interface Usage { cpu: string; memory: string }

export interface Seed {
  /** Stored at start; deployments come up rolled out, with ReplicaSet revision 1 and Running pods. */
  objects: Obj[];
  /** Log text of every pod of a deployment, by deployment name ('*': pods of any other deployment). */
  logs: Record<string, string>;
  /** What `kubectl top` reports, by deployment name (for each of its pods) or node name; '*' for the rest. */
  usage: Record<string, Usage>;
}

export interface SeedOptions {
  /** node-2 reports Ready=False. */
  nodeNotReady?: boolean;
  /** Expiry of certificate shop/api-tls (default: 90 days from now). */
  certNotAfter?: Date;
  /** Ready condition of certificate shop/api-tls (default true). */
  certReady?: boolean;
  /** Log text of the api pods. */
  apiLogs?: string;
}

const DAY = 86_400_000;
const iso = (d: Date): string => d.toISOString().replace(/\.\d+Z$/, 'Z');

export function defaultSeed(opts: SeedOptions = {}): Seed {
  const notAfter = opts.certNotAfter ?? new Date(Date.now() + 90 * DAY);
  return {
    objects: [
      namespace('default'),
      namespace('kube-system'),
      namespace('shop'),
      node('node-1', true),
      node('node-2', !opts.nodeNotReady),
      deployment('shop', 'api', { replicas: 3, image: 'registry.example.com/api:1.0.0', labels: { app: 'api', version: 'blue' } }),
      deployment('shop', 'dashboard', { replicas: 1, image: 'registry.example.com/dashboard:2.3.0', labels: { app: 'dashboard' } }),
      service('shop', 'api', { app: 'api', version: 'blue' }),
      certificate('shop', 'api-tls', notAfter, opts.certReady ?? true),
      clusterRoleBinding('cluster-admin', 'cluster-admin', [{ kind: 'Group', name: 'system:masters' }]),
    ],
    logs: { api: opts.apiLogs ?? apiLogs(), '*': '' },
    usage: {
      api: { cpu: '12m', memory: '48Mi' },
      dashboard: { cpu: '3m', memory: '24Mi' },
      'node-1': { cpu: '420m', memory: '2100Mi' },
      'node-2': { cpu: '380m', memory: '1900Mi' },
      '*': { cpu: '1m', memory: '8Mi' },
    },
  };
}

function apiLogs(): string {
  const t = (minutesAgo: number): string => iso(new Date(Date.now() - minutesAgo * 60_000));
  return [
    `${t(50)} INFO  listening on :8080`,
    `${t(40)} INFO  GET /orders 200 12ms`,
    `${t(30)} ERROR payment provider timed out after 5000ms`,
    `${t(20)} INFO  GET /healthz 200 1ms`,
    `${t(10)} ERROR database connection reset by peer`,
    `${t(5)} INFO  GET /orders 200 9ms`,
  ].join('\n') + '\n';
}

export function namespace(name: string): Obj {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } };
}

export function node(name: string, ready: boolean): Obj {
  const resources = { cpu: '4', memory: '16393244Ki', pods: '110' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' } },
    spec: {},
    status: {
      capacity: resources,
      allocatable: resources,
      conditions: [{
        type: 'Ready',
        status: ready ? 'True' : 'False',
        reason: ready ? 'KubeletReady' : 'KubeletNotReady',
        message: ready ? 'kubelet is posting ready status' : 'container runtime is down',
        lastHeartbeatTime: iso(new Date()),
        lastTransitionTime: iso(new Date(Date.now() - DAY)),
      }],
      addresses: [{ type: 'InternalIP', address: `10.0.0.${name.replace(/\D/g, '') || 1}` }, { type: 'Hostname', address: name }],
      nodeInfo: {
        kubeletVersion: 'v1.32.4', osImage: 'Ubuntu 24.04 LTS', containerRuntimeVersion: 'containerd://1.7.27', architecture: 'amd64', operatingSystem: 'linux',
      },
    },
  };
}

/** A one-container Deployment manifest (also handy for `kubectl apply` fixtures). */
export interface DeploymentSpec { replicas: number; image: string; labels: Record<string, string>; container?: string }

export function deployment(ns: string, name: string, o: DeploymentSpec): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels: o.labels },
    spec: {
      replicas: o.replicas,
      selector: { matchLabels: o.labels },
      template: {
        metadata: { labels: o.labels },
        spec: { containers: [{ name: o.container ?? name, image: o.image, ports: [{ containerPort: 8080, protocol: 'TCP' }] }] },
      },
    },
  };
}

export function service(ns: string, name: string, selector: Record<string, string>): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns, labels: { app: name } },
    spec: { type: 'ClusterIP', clusterIP: '10.96.0.10', selector, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
  };
}

export function certificate(ns: string, name: string, notAfter: Date, ready: boolean): Obj {
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: { name, namespace: ns },
    spec: { secretName: name, dnsNames: ['api.example.com'], issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer' } },
    status: {
      notBefore: iso(new Date(notAfter.getTime() - 90 * DAY)),
      notAfter: iso(notAfter),
      renewalTime: iso(new Date(notAfter.getTime() - 30 * DAY)),
      conditions: [{
        type: 'Ready',
        status: ready ? 'True' : 'False',
        reason: ready ? 'Ready' : 'Failed',
        message: ready ? 'Certificate is up to date and has not expired' : 'Certificate could not be issued',
        lastTransitionTime: iso(new Date()),
      }],
    },
  };
}

export function clusterRoleBinding(name: string, role: string, subjects: { kind: string; name: string; namespace?: string }[]): Obj {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: subjects.map((s) => (s.kind === 'ServiceAccount' ? s : { apiGroup: 'rbac.authorization.k8s.io', ...s })),
  };
}
