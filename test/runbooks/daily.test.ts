import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSeed } from '../harness/kube-api.js';
import { haveRealStack, startRealStack, stepEnds, type RealStack } from '../helpers/real-stack.js';

describe.skipIf(!haveRealStack())('daily (real PostgreSQL, restic, HTTP service, kubectl)', () => {
  let s: RealStack;
  beforeAll(async () => {
    s = await startRealStack({ logs: { api: 'GET /health 200\nERROR payment timeout\nGET /orders 200\nERROR db reset\n' } });
    // Last night's backup.
    const r = await s.maint(['run', 'update-patch', '--only', 'backup', '--var', 'image=unused']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });
  afterAll(() => s?.stop());
  const vars = (...more: string[]) => [
    'run', 'daily', '--json', '--quiet', '--var', 'namespace=shop', '--var', `health_urls=${JSON.stringify([s.stack.http.healthUrl, s.stack.http.readyUrl])}`,
    '--var', `disk_path=${s.dir}`, '--var', 'max_disk_pct=100', ...more,
  ];

  it('passes on a healthy stack, with the measured values as step outputs', async () => {
    const r = await s.maint(vars());
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const o = stepEnds(r.stdout);
    expect(o.health.outputs.results).toHaveLength(2);
    expect(o.errors.outputs.count).toBe(6); // 2 error lines in each of the 3 api pods
    expect(o.connections.outputs.used).toBeGreaterThan(0);
    expect(o.replication.outputs).toMatchObject({ replicas: 0, streaming: 0 });
    expect(o['backup.latest'].outputs.snapshots).toBe(1);
    expect(o['certs.certs'].outputs).toMatchObject({ certificates: 1, expiring: [] });
    expect(o['nodes.nodes'].outputs).toMatchObject({ nodes: 2, not_ready: [] });
    expect(readFileSync(join(s.dir, 'maintenance-log.md'), 'utf8')).toMatch(/\*\*Result\*\*: passed/);
  });

  it('fails on a slow health endpoint, too many errors, an expiring certificate and a NotReady node', async () => {
    s.stack.http.set({ paths: { '/ready': { delayMs: 1200 } } });
    const cert = defaultSeed({ certNotAfter: new Date(Date.now() + 10 * 86_400_000) }).objects.find((x) => x.kind === 'Certificate');
    s.kube.put('certificates', cert);
    const node = defaultSeed({ nodeNotReady: true }).objects.filter((x) => x.kind === 'Node');
    for (const n of node) s.kube.put('nodes', n);
    // continue_on_error is not set: the first failure stops the run, so run each check alone.
    const health = await s.maint(vars('--only', 'health'));
    const errors = await s.maint(vars('--only', 'errors', '--var', 'max_errors=5'));
    const certs = await s.maint(vars('--only', 'certs'));
    const nodes = await s.maint(vars('--only', 'nodes'));
    s.stack.http.set({ reset: true });
    expect([health.code, errors.code, certs.code, nodes.code]).toEqual([1, 1, 1, 1]);
    expect(stepEnds(health.stdout).health.status).toBe('failed');
    expect(stepEnds(certs.stdout)['certs.certs'].outputs.expiring).toEqual(['api-tls']);
    expect(stepEnds(nodes.stdout)['nodes.nodes'].outputs.not_ready).toHaveLength(1);
  });

  it('skips the kubectl checks with kubernetes=false and fails on an old backup', async () => {
    const r = await s.maint(vars('--var', 'kubernetes=false', '--var', 'max_backup_age=1s'));
    expect(r.code).toBe(1);
    const o = stepEnds(r.stdout);
    expect(o.errors.status).toBe('skipped');
    expect(o['backup.latest'].status).toBe('failed');
  });
});
