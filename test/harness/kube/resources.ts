/**
 * The resource types the fake API server knows, and the discovery/OpenAPI documents kubectl
 * reads to map `kubectl get deploy` to a URL and to decide how to validate and patch.
 */

export interface ResourceType {
  group: string; // '' = core
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
  /** `kubectl get all` lists the resources in category "all". */
  all?: boolean;
  /** Served from live pods/nodes instead of the store (metrics.k8s.io). */
  computed?: boolean;
  subresources?: { name: string; group?: string; version?: string; kind: string; verbs: string[] }[];
}

const CRUD = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];
const core = (plural: string, kind: string, namespaced: boolean, shortNames?: string[]): ResourceType =>
  ({ group: '', version: 'v1', plural, kind, namespaced, shortNames });

export const RESOURCES: ResourceType[] = [
  core('namespaces', 'Namespace', false, ['ns']),
  core('nodes', 'Node', false, ['no']),
  { ...core('pods', 'Pod', true, ['po']), all: true, subresources: [{ name: 'log', kind: 'Pod', verbs: ['get'] }] },
  { ...core('services', 'Service', true, ['svc']), all: true },
  core('configmaps', 'ConfigMap', true, ['cm']),
  core('secrets', 'Secret', true),
  core('events', 'Event', true, ['ev']),
  {
    group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true, shortNames: ['deploy'], all: true,
    // kubectl scale finds the Scale kind through this discovery entry.
    subresources: [{ name: 'scale', group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] }],
  },
  { group: 'apps', version: 'v1', plural: 'replicasets', kind: 'ReplicaSet', namespaced: true, shortNames: ['rs'], all: true },
  { group: 'autoscaling', version: 'v1', plural: 'horizontalpodautoscalers', kind: 'HorizontalPodAutoscaler', namespaced: true, shortNames: ['hpa'] },
  ...(['roles', 'rolebindings', 'clusterroles', 'clusterrolebindings'] as const).map((plural): ResourceType => ({
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    plural,
    kind: { roles: 'Role', rolebindings: 'RoleBinding', clusterroles: 'ClusterRole', clusterrolebindings: 'ClusterRoleBinding' }[plural],
    namespaced: !plural.startsWith('cluster'),
  })),
  { group: 'cert-manager.io', version: 'v1', plural: 'certificates', kind: 'Certificate', namespaced: true, shortNames: ['cert', 'certs'] },
  { group: 'metrics.k8s.io', version: 'v1beta1', plural: 'pods', kind: 'PodMetrics', namespaced: true, computed: true },
  { group: 'metrics.k8s.io', version: 'v1beta1', plural: 'nodes', kind: 'NodeMetrics', namespaced: false, computed: true },
];

export const apiVersionOf = (t: ResourceType): string => (t.group ? `${t.group}/${t.version}` : t.version);
/** Stored kinds are keyed by plural, which is unique among non-computed types. */
export const storedType = (plural: string): ResourceType | undefined => RESOURCES.find((t) => t.plural === plural && !t.computed);
export const typeOfKind = (kind: string): ResourceType | undefined => RESOURCES.find((t) => t.kind === kind && !t.computed);
export const findType = (group: string, version: string, plural: string): ResourceType | undefined =>
  RESOURCES.find((t) => t.group === group && t.version === version && t.plural === plural);

const groupVersions = (types = RESOURCES): { group: string; version: string }[] =>
  [...new Map(types.map((t) => [apiVersionOf(t), { group: t.group, version: t.version }])).values()];

// --- legacy discovery (kubectl accepts plain JSON when the server does not offer aggregated discovery)

export function apiVersions(serverAddress: string): object {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function apiGroup(name: string): object {
  const gv = groupVersions().find((g) => g.group === name)!;
  const v = { groupVersion: `${name}/${gv.version}`, version: gv.version };
  return { name, versions: [v], preferredVersion: v };
}

export function apiGroupList(): object {
  const names = [...new Set(RESOURCES.map((t) => t.group).filter(Boolean))];
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: names.map(apiGroup) };
}

export function apiGroupDoc(name: string): object | undefined {
  return RESOURCES.some((t) => t.group === name && name) ? { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(name) } : undefined;
}

export function apiResourceList(group: string, version: string): object | undefined {
  const types = RESOURCES.filter((t) => t.group === group && t.version === version);
  if (!types.length) return undefined;
  const resources = types.flatMap((t) => [
    {
      name: t.plural, singularName: t.kind.toLowerCase(), namespaced: t.namespaced, kind: t.kind,
      verbs: t.computed ? ['get', 'list'] : CRUD, ...(t.shortNames && { shortNames: t.shortNames }), ...(t.all && { categories: ['all'] }),
    },
    ...(t.subresources ?? []).map((s) => ({
      name: `${t.plural}/${s.name}`, singularName: '', namespaced: t.namespaced, kind: s.kind, verbs: s.verbs,
      ...(s.group !== undefined && { group: s.group, version: s.version }),
    })),
  ]);
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
}

// --- OpenAPI v3: just enough for kubectl's field-validation check. A PATCH operation tagged with
// the GVK that declares the `fieldValidation` query parameter makes kubectl validate server-side
// (it sends fieldValidation=Strict, which we accept) instead of downloading full schemas. Without
// a requestBody kubectl also builds strategic merge patches from its compiled-in types.

const openApiPath = (group: string, version: string): string => (group ? `apis/${group}/${version}` : `api/${version}`);

export function openApiIndex(): object {
  const paths = Object.fromEntries(groupVersions(RESOURCES.filter((t) => !t.computed)).map(({ group, version }) => {
    const p = openApiPath(group, version);
    return [p, { serverRelativeURL: `/openapi/v3/${p}?hash=fake` }];
  }));
  return { paths };
}

export function openApiDoc(path: string): object | undefined {
  const types = RESOURCES.filter((t) => openApiPath(t.group, t.version) === path && !t.computed);
  if (!types.length) return undefined;
  const paths = Object.fromEntries(types.map((t) => [
    `/${path}/${t.namespaced ? 'namespaces/{namespace}/' : ''}${t.plural}/{name}`,
    {
      patch: {
        'x-kubernetes-group-version-kind': { group: t.group, version: t.version, kind: t.kind },
        parameters: [{ name: 'fieldValidation', in: 'query', schema: { type: 'string' } }],
        responses: { '200': { description: 'OK' } },
      },
    },
  ]));
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths };
}
