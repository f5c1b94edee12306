/**
 * The fake API server is only worth something if the real kubectl accepts it: every test here
 * runs /usr/bin/kubectl with default flags against it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { childEnv } from '../helpers/cli.js';
import { requireTool } from '../helpers/tools.js';
import { defaultSeed, deployment, startKubeApi, type KubeApi } from './kube-api.js';
import { jsonPatch, mergePatch, strategicMergePatch } from './kube/patch.js';

interface Run { code: number; stdout: string; stderr: string }

const HAS_KUBECTL = requireTool('kubectl');

let api: KubeApi;
let dir: string | undefined;
afterEach(async () => {
  await api?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function kubectl(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile('kubectl', args, { env: childEnv(api.env) }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

async function ok(...args: string[]): Promise<string> {
  const r = await kubectl(...args);
  expect(r, `kubectl ${args.join(' ')}`).toMatchObject({ code: 0 });
  return r.stdout;
}

const json = async (...args: string[]) => JSON.parse(await ok(...args, '-o', 'json'));
const image = () => ok('get', 'deployment', 'api', '-n', 'shop', '-o', 'jsonpath={.spec.template.spec.containers[0].image}');
const podImages = () => ok('get', 'pods', '-n', 'shop', '-l', 'app=api', '-o', 'jsonpath={.items[*].spec.containers[0].image}');
interface ReplicaSet {
  metadata: { name: string; annotations: Record<string, string>; ownerReferences: object[] };
  spec: { template: { metadata: { labels: Record<string, string> }; spec: { containers: { image: string }[] } } };
}
const replicaSets = async (): Promise<ReplicaSet[]> => (await json('get', 'rs', '-n', 'shop', '-l', 'app=api')).items;
const imageOf = (rs: ReplicaSet): string => rs.spec.template.spec.containers[0]!.image;
/** image → revision of the api ReplicaSets */
const revisions = async () =>
  Object.fromEntries((await replicaSets()).map((rs) => [imageOf(rs), rs.metadata.annotations['deployment.kubernetes.io/revision']]));

/** A folder with the api-green Deployment manifest. */
function manifests(img = 'registry.example.com/api:1.0.1'): string {
  dir ??= mkdtempSync(join(tmpdir(), 'kube-manifests-'));
  const green = deployment('shop', 'api-green', { replicas: 2, image: img, labels: { app: 'api', version: 'green' }, container: 'api' });
  writeFileSync(join(dir, 'api-green.json'), JSON.stringify(green, null, 2));
  return dir;
}

describe.skipIf(!HAS_KUBECTL)('kubectl against the fake API server', () => {
  it('reads nodes, workloads, a deployment, cert-manager certificates and a service', async () => {
    api = await startKubeApi();
    const nodes = await json('get', 'nodes');
    expect(nodes.items.map((n: { metadata: { name: string } }) => n.metadata.name)).toEqual(['node-1', 'node-2']);
    expect(nodes.items[1].status.conditions).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'True' }));

    const all = await json('get', 'deployments,services,pods', '-n', 'shop');
    expect(all.items.map((o: { kind: string }) => o.kind).sort()).toEqual(['Deployment', 'Deployment', 'Pod', 'Pod', 'Pod', 'Pod', 'Service']);

    const d = await json('get', 'deployment', 'api', '-n', 'shop');
    expect(d.spec.replicas).toBe(3);
    expect(d.metadata.annotations['deployment.kubernetes.io/revision']).toBe('1');
    expect(d.status).toMatchObject({ observedGeneration: 1, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 });
    expect(await image()).toBe('registry.example.com/api:1.0.0');

    const certs = await json('get', 'certificates', '-n', 'shop');
    const days = (Date.parse(certs.items[0].status.notAfter) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(89);
    expect(certs.items[0].status.conditions[0]).toMatchObject({ type: 'Ready', status: 'True' });

    expect(await ok('get', 'certificates.cert-manager.io', '-n', 'shop', '-o', 'name')).toBe('certificate.cert-manager.io/api-tls\n');
    expect((await json('get', 'service', 'api', '-n', 'shop')).spec.selector).toEqual({ app: 'api', version: 'blue' });
    expect((await json('get', 'clusterrolebindings')).items[0]).toMatchObject({ roleRef: { name: 'cluster-admin' }, subjects: [{ name: 'system:masters' }] });
    expect(await ok('get', 'deploy', '-n', 'shop', '-o', 'name')).toBe('deployment.apps/api\ndeployment.apps/dashboard\n');

    const missing = await kubectl('get', 'deployment', 'nope', '-n', 'shop');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Error from server (NotFound): deployments.apps "nope" not found');
    const res = await fetch(`${api.url}/no/such/path`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ kind: 'Status', reason: 'NotFound', code: 404 });
  });

  it('seeds a NotReady node and an expiring, failed certificate', async () => {
    api = await startKubeApi(defaultSeed({ nodeNotReady: true, certNotAfter: new Date(Date.now() + 3 * 86_400_000), certReady: false }));
    const ready = await ok('get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}');
    expect(ready.trim()).toBe('node-1=True node-2=False');
    const cert = await json('get', 'certificate', 'api-tls', '-n', 'shop');
    expect(cert.status.conditions[0].status).toBe('False');
    expect(Date.parse(cert.status.notAfter) - Date.now()).toBeLessThan(4 * 86_400_000);

    const c = api.get('certificates', 'shop', 'api-tls');
    c.status.conditions[0].status = 'True';
    api.put('certificates', c);
    expect(await ok('get', 'cert', 'api-tls', '-n', 'shop', '-o', 'jsonpath={.status.conditions[0].status}')).toBe('True');
  });

  it('set image makes a new ReplicaSet and pods; rollout status waits until it is rolled out', async () => {
    api = await startKubeApi();
    expect(await ok('set', 'image', 'deployment/api', 'api=registry.example.com/api:1.0.1', '-n', 'shop')).toContain('deployment.apps/api image updated');
    expect(api.requests).toContain('PATCH /apis/apps/v1/namespaces/shop/deployments/api');
    const d = api.get('deployments', 'shop', 'api');
    expect(d.metadata.generation).toBe(2);
    expect(d.metadata.annotations['deployment.kubernetes.io/revision']).toBe('2');

    expect(await ok('rollout', 'status', 'deployment/api', '-n', 'shop', '--timeout=20s')).toContain('deployment "api" successfully rolled out');
    expect(api.get('deployments', 'shop', 'api').status).toMatchObject({ observedGeneration: 2, updatedReplicas: 3, availableReplicas: 3 });
    expect(await revisions()).toEqual({ 'registry.example.com/api:1.0.0': '1', 'registry.example.com/api:1.0.1': '2' });
    const rs = (await replicaSets()).find((r) => imageOf(r).endsWith(':1.0.1'))!;
    expect(rs.metadata.ownerReferences[0]).toMatchObject({ kind: 'Deployment', name: 'api', uid: d.metadata.uid, controller: true });
    expect(rs.spec.template.metadata.labels).toEqual({ app: 'api', version: 'blue', 'pod-template-hash': expect.stringMatching(/^[a-z0-9]{10}$/) });
    expect(rs.metadata.name).toBe(`api-${rs.spec.template.metadata.labels['pod-template-hash']}`);
    expect(await podImages()).toBe('registry.example.com/api:1.0.1 registry.example.com/api:1.0.1 registry.example.com/api:1.0.1');
  });

  it('rollout undo (and --to-revision) brings an old ReplicaSet back with a new revision', async () => {
    api = await startKubeApi();
    await ok('set', 'image', 'deployment/api', 'api=registry.example.com/api:1.0.1', '-n', 'shop');
    await ok('rollout', 'status', 'deployment/api', '-n', 'shop', '--timeout=20s');

    expect(await ok('rollout', 'undo', 'deployment/api', '-n', 'shop')).toContain('deployment.apps/api rolled back');
    await ok('rollout', 'status', 'deployment/api', '-n', 'shop', '--timeout=20s');
    expect(await image()).toBe('registry.example.com/api:1.0.0');
    expect(await revisions()).toEqual({ 'registry.example.com/api:1.0.0': '3', 'registry.example.com/api:1.0.1': '2' });
    expect(await podImages()).toMatch(/^(registry\.example\.com\/api:1\.0\.0 ?){3}$/);

    await ok('rollout', 'undo', 'deployment/api', '-n', 'shop', '--to-revision=2');
    await ok('rollout', 'status', 'deployment/api', '-n', 'shop', '--timeout=20s');
    expect(await image()).toBe('registry.example.com/api:1.0.1');
    const missing = await kubectl('rollout', 'undo', 'deployment/api', '-n', 'shop', '--to-revision=9');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('unable to find specified revision 9');
  });

  it('an image in failImages never becomes available and exceeds the progress deadline; undo recovers', async () => {
    api = await startKubeApi();
    api.failImages = /api:6\.6\.6$/;
    await ok('set', 'image', 'deployment/api', 'api=registry.example.com/api:6.6.6', '-n', 'shop');
    const t0 = Date.now();
    const status = await kubectl('rollout', 'status', 'deployment/api', '-n', 'shop', '--timeout=20s');
    expect(status.code).not.toBe(0);
    expect(status.stderr).toContain('deployment "api" exceeded its progress deadline');
    // The deadline ends the wait, not --timeout=20s (a generous bound: the machine may be loaded).
    expect(Date.now() - t0).toBeLessThan(15_000);
    const d = api.get('deployments', 'shop', 'api');
    expect(d.spec.replicas).toBe(3);
    expect(d.status.updatedReplicas).toBe(3);
    expect(d.status.availableReplicas ?? 0).toBeLessThan(3);
    expect(d.status.conditions).toContainEqual(expect.objectContaining({ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }));
    const waiting = await ok('get', 'pods', '-n', 'shop', '-l', 'app=api', '-o', 'jsonpath={.items[*].status.containerStatuses[0].state.waiting.reason}');
    expect(waiting).toBe('ImagePullBackOff ImagePullBackOff ImagePullBackOff');

    await ok('rollout', 'undo', 'deployment/api', '-n', 'shop');
    expect(await ok('rollout', 'status', 'deployment/api', '-n', 'shop', '--timeout=20s')).toContain('successfully rolled out');
    expect(await podImages()).toMatch(/^(registry\.example\.com\/api:1\.0\.0 ?){3}$/);
  });

  it('scale through the scale subresource, down to 0 and back', async () => {
    api = await startKubeApi();
    expect(await ok('scale', 'deployment/api', '--replicas=0', '-n', 'shop')).toContain('deployment.apps/api scaled');
    expect(await ok('get', 'deployment', 'api', '-n', 'shop', '-o', 'jsonpath={.spec.replicas}')).toBe('0');
    await ok('rollout', 'status', 'deployment/api', '-n', 'shop', '--timeout=20s');
    expect(await podImages()).toBe('');
    await ok('scale', 'deployment/api', '--replicas=2', '-n', 'shop');
    await ok('rollout', 'status', 'deployment/api', '-n', 'shop', '--timeout=20s');
    expect((await podImages()).split(' ')).toHaveLength(2);
    expect(await revisions()).toEqual({ 'registry.example.com/api:1.0.0': '1' });
  });

  it('patches a service selector with a merge patch and a strategic merge patch', async () => {
    api = await startKubeApi();
    await ok('patch', 'service', 'api', '-n', 'shop', '--type=merge', '-p', '{"spec":{"selector":{"app":"api","version":"green"}}}');
    expect(api.get('services', 'shop', 'api').spec.selector).toEqual({ app: 'api', version: 'green' });
    await ok('patch', 'service', 'api', '-n', 'shop', '-p', '{"spec":{"selector":{"version":"blue"}}}');
    expect(api.get('services', 'shop', 'api').spec.selector).toEqual({ app: 'api', version: 'blue' });
  });

  it('apply creates then patches; diff reports drift without changing anything; delete removes it', async () => {
    api = await startKubeApi();
    const folder = manifests();
    expect(await ok('apply', '-f', folder)).toContain('deployment.apps/api-green created');
    expect(api.requests).toContain('POST /apis/apps/v1/namespaces/shop/deployments');
    expect(api.get('deployments', 'shop', 'api-green').metadata.annotations).toHaveProperty(['kubectl.kubernetes.io/last-applied-configuration']);
    await ok('rollout', 'status', 'deployment/api-green', '-n', 'shop', '--timeout=20s');
    expect(await ok('get', 'pods', '-n', 'shop', '-l', 'version=green', '-o', 'name')).toMatch(/^(pod\/api-green-\S+\n){2}$/);

    expect(await ok('apply', '-f', folder)).toContain('deployment.apps/api-green unchanged');
    manifests('registry.example.com/api:1.0.2');
    expect(await ok('apply', '-f', folder)).toContain('deployment.apps/api-green configured');
    expect(api.requests).toContain('PATCH /apis/apps/v1/namespaces/shop/deployments/api-green');
    await ok('rollout', 'status', 'deployment/api-green', '-n', 'shop', '--timeout=20s');
    expect(api.get('deployments', 'shop', 'api-green').metadata.annotations['deployment.kubernetes.io/revision']).toBe('2');

    expect(await kubectl('diff', '-f', folder)).toMatchObject({ code: 0, stdout: '' });
    await ok('set', 'image', 'deployment/api-green', 'api=registry.example.com/api:9.9.9', '-n', 'shop');
    const drift = await kubectl('diff', '-f', folder);
    expect(drift.code).toBe(1);
    expect(drift.stdout).toMatch(/^-\s+- image: registry\.example\.com\/api:9\.9\.9$/m);
    expect(drift.stdout).toMatch(/^\+\s+- image: registry\.example\.com\/api:1\.0\.2$/m);
    expect(api.requests).toContain('PATCH /apis/apps/v1/namespaces/shop/deployments/api-green (dry run)');
    expect(api.get('deployments', 'shop', 'api-green').spec.template.spec.containers[0].image).toBe('registry.example.com/api:9.9.9');

    expect(await ok('delete', 'deployment', 'api-green', '-n', 'shop')).toContain('deployment.apps "api-green" deleted');
    expect(api.get('deployments', 'shop', 'api-green')).toBeUndefined();
    expect(await ok('get', 'rs,pods', '-n', 'shop', '-l', 'version=green', '-o', 'name')).toBe('');
    const again = await kubectl('delete', 'deployment', 'api-green', '-n', 'shop');
    expect(again).toMatchObject({ code: 1, stderr: expect.stringContaining('deployments.apps "api-green" not found') });

    await ok('apply', '-f', folder);
    expect(await ok('delete', '-f', folder)).toContain('deployment.apps "api-green" deleted');
    expect(api.get('deployments', 'shop', 'api-green')).toBeUndefined();
  });

  it('logs of a deployment and of pods by label', async () => {
    api = await startKubeApi({ logs: { api: 'INFO up\nERROR boom\nINFO done\n' } });
    expect(await ok('logs', 'deployment/api', '-n', 'shop', '--since=24h')).toBe('INFO up\nERROR boom\nINFO done\n');
    const all = await ok('logs', '-l', 'app=api', '-n', 'shop', '--since=24h', '--tail=-1');
    expect(all.match(/ERROR boom/g)).toHaveLength(3);
    api.logs.api = 'ERROR changed\n';
    expect(await ok('logs', '-l', 'app=api', '-n', 'shop', '--tail=1')).toBe('ERROR changed\n'.repeat(3));
    expect(await ok('logs', 'deployment/dashboard', '-n', 'shop')).toBe('');
  });

  it('top pods and nodes from metrics.k8s.io', async () => {
    api = await startKubeApi();
    const pods = await ok('top', 'pods', '-n', 'shop');
    expect(pods).toMatch(/^NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)/);
    expect(pods).toMatch(/^api-\S+\s+12m\s+48Mi/m);
    const byCpu = await ok('top', 'pods', '-n', 'shop', '--sort-by=cpu', '--no-headers');
    expect(byCpu.trim().split('\n').map((l) => l.split(/\s+/)[1])).toEqual(['12m', '12m', '12m', '3m']);
    const nodes = await ok('top', 'nodes', '--no-headers');
    expect(nodes).toMatch(/^node-1\s+420m\s+10%\s+2100Mi\s+13%/m);
  });

  it('wait for a condition; create and list namespaces', async () => {
    api = await startKubeApi();
    expect(await ok('wait', '--for=condition=Available', 'deployment/api', '-n', 'shop', '--timeout=10s')).toContain('condition met');
    expect(await ok('create', 'namespace', 'x')).toContain('namespace/x created');
    expect(await ok('get', 'namespaces', '-o', 'name')).toBe('namespace/default\nnamespace/kube-system\nnamespace/shop\nnamespace/x\n');
    expect((await kubectl('create', 'namespace', 'x')).stderr).toContain('Error from server (AlreadyExists): namespaces "x" already exists');
  });
});

describe('patch formats', () => {
  const d = { spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } }, containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }] } };

  it('strategic merge patch merges containers by name and obeys $patch, $retainKeys, $setElementOrder', () => {
    const patched = strategicMergePatch(d, {
      spec: {
        strategy: { $retainKeys: ['type'], type: 'Recreate' },
        '$setElementOrder/containers': [{ name: 'a' }, { name: 'b' }],
        containers: [{ name: 'a', image: 'z' }, { name: 'b', $patch: 'delete' }],
      },
    });
    expect(patched).toEqual({ spec: { strategy: { type: 'Recreate' }, containers: [{ name: 'a', image: 'z' }] } });
  });

  it('JSON patch and merge patch', () => {
    expect(jsonPatch(d, [{ op: 'replace', path: '/spec/containers/0/image', value: 'z' }, { op: 'remove', path: '/spec/strategy' }]))
      .toEqual({ spec: { containers: [{ name: 'a', image: 'z' }, { name: 'b', image: 'y' }] } });
    expect(() => jsonPatch(d, [{ op: 'replace', path: '/spec/nope', value: 1 }])).toThrow(/does not exist/);
    expect(mergePatch(d, { spec: { strategy: null, containers: [{ name: 'c' }] } })).toEqual({ spec: { containers: [{ name: 'c' }] } });
  });
});
