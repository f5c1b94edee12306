import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveRealStack, startRealStack, type RealStack } from '../helpers/real-stack.js';

const image = (s: RealStack) => s.kubectl('get', 'deployment', 'api', '-n', 'shop', '-o', 'jsonpath={.spec.template.spec.containers[0].image}');

describe.skipIf(!haveRealStack())('update-patch (real PostgreSQL, restic, HTTP service, kubectl)', () => {
  let s: RealStack;
  beforeAll(async () => {
    s = await startRealStack();
  });
  afterAll(() => s?.stop());
  const vars = () => ['--var', 'namespace=shop', '--var', `health_url=${s.stack.http.healthUrl}`, '--var', 'rollout_timeout=10s'];

  it('backs up, rolls the new image out and checks health', async () => {
    const r = await s.maint(['run', 'update-patch', ...vars(), '--var', 'image=registry.example.com/api:1.0.1']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await image(s)).toBe('registry.example.com/api:1.0.1');
    const snapshots = JSON.parse(await s.restic('snapshots', '--json'));
    expect(snapshots.map((x: { tags: string[] }) => x.tags)).toEqual([['pre-update']]);
    // The snapshot is a real dump of the database: restore its table of contents.
    const toc = await s.restic('dump', snapshots[0].short_id, '/database.dump');
    expect(toc.length).toBeGreaterThan(1000);
    expect(readFileSync(join(s.dir, 'maintenance-log.md'), 'utf8')).toMatch(/\*\*Result\*\*: passed/);
  });

  it('undoes the rollout when the new version never becomes available', async () => {
    const before = await image(s);
    s.kube.failImages = /broken/;
    const r = await s.maint(['run', 'update-patch', ...vars(), '--var', 'image=registry.example.com/api:broken']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/↶ rollback .*\$ kubectl rollout undo deployment\/api -n shop/);
    expect(await image(s)).toBe(before);
    const log = readFileSync(join(s.dir, 'maintenance-log.md'), 'utf8');
    expect(log).toMatch(/\*\*Result\*\*: failed, rolled back/);
    // rollout status was retried before giving up, then undone
    expect(r.stdout).toMatch(/retry 3\/3 .*exceeded its progress deadline/);
    expect(r.stdout).toMatch(/FAIL Rollout of api finished/);
  });
});
