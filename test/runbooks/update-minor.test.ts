import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployment } from '../harness/kube-api.js';
import { haveRealStack, startRealStack, type RealStack } from '../helpers/real-stack.js';

const selector = async (s: RealStack) => JSON.parse(await s.kubectl('get', 'service', 'api', '-n', 'shop', '-o', 'jsonpath={.spec.selector}'));
const replicas = async (s: RealStack, name: string) => s.kubectl('get', 'deployment', name, '-n', 'shop', '-o', 'jsonpath={.spec.replicas}');
const exists = async (s: RealStack, name: string) => (await s.kubectl('get', 'deployments', '-n', 'shop', '-o', 'name')).split('\n').includes(`deployment.apps/${name}`);

describe.skipIf(!haveRealStack())('update-minor (blue-green, real kubectl)', () => {
  let s: RealStack;
  let manifests: string;
  beforeAll(async () => {
    s = await startRealStack();
    manifests = join(s.dir, 'green');
    mkdirSync(manifests);
    const green = deployment('shop', 'api-green', { replicas: 2, image: 'registry.example.com/api:1.0.0', labels: { app: 'api', version: 'green' }, container: 'api' });
    writeFileSync(join(manifests, 'api-green.json'), JSON.stringify(green, null, 2));
  });
  afterAll(() => s?.stop());
  const run = () =>
    s.maint([
      'run', 'update-minor', '--var', 'namespace=shop', '--var', 'blue=api', '--var', 'green=api-green', '--var', `green_manifests=${manifests}`,
      '--var', `health_url=${s.stack.http.healthUrl}`, '--var', 'rollout_timeout=10s', '--var', 'image=registry.example.com/api:1.1.0',
    ]);

  it('a failed verification switches the selector back, removes green and leaves blue serving', async () => {
    s.stack.http.set({ status: 503 });
    const r = await run();
    s.stack.http.set({ reset: true });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/FAIL .*answers 200/);
    expect(await selector(s)).toEqual({ app: 'api', version: 'blue' });
    expect(await exists(s, 'api-green')).toBe(false);
    expect(await replicas(s, 'api')).toBe('3');
    // Green did exist with the new image before the rollback removed it.
    expect(s.kube.requests.some((q) => q.startsWith('DELETE /apis/apps/v1/namespaces/shop/deployments/api-green'))).toBe(true);
  });

  it('deploys green with the new image, switches the Service to it and retires blue', async () => {
    const r = await run();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await selector(s)).toEqual({ app: 'api', version: 'green' });
    expect(await s.kubectl('get', 'deployment', 'api-green', '-n', 'shop', '-o', 'jsonpath={.spec.template.spec.containers[0].image}')).toBe('registry.example.com/api:1.1.0');
    expect(await replicas(s, 'api')).toBe('0');
    const log = readFileSync(join(s.dir, 'maintenance-log.md'), 'utf8');
    expect(log).toMatch(/Delete blue after the soak period \(manual task left pending\)/);
  });
});
