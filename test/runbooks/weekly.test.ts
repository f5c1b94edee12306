import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployment } from '../harness/kube-api.js';
import { haveRealStack, startRealStack, stepEnds, type RealStack } from '../helpers/real-stack.js';

describe.skipIf(!haveRealStack())('weekly (real restic, PostgreSQL, kubectl)', () => {
  let s: RealStack;
  let manifests: string;
  beforeAll(async () => {
    s = await startRealStack();
    for (let i = 0; i < 3; i++) {
      const r = await s.maint(['run', 'update-patch', '--only', 'backup', '--var', 'image=unused']);
      expect(r.code, r.stderr).toBe(0);
    }
    manifests = join(s.dir, 'manifests');
    mkdirSync(manifests);
    const api = deployment('shop', 'api', { replicas: 3, image: 'registry.example.com/api:1.0.0', labels: { app: 'api', version: 'blue' }, container: 'api' });
    writeFileSync(join(manifests, 'api.json'), JSON.stringify(api, null, 2));
  });
  afterAll(() => s?.stop());
  const run = (env: Record<string, string> = {}) =>
    s.maint(['run', 'weekly', '--json', '--quiet', '--force', '--reason', 'test', '--var', 'namespace=shop', '--var', `manifests=${manifests}`, '--var', 'check_subset=100%'], env);

  it('checks the repository, applies retention, and reports unused indexes and drift as warnings', async () => {
    expect(JSON.parse(await s.restic('snapshots', '--json'))).toHaveLength(3);
    // Someone changed the live image by hand: the cluster no longer matches the manifests.
    await s.kubectl('set', 'image', 'deployment/api', 'api=registry.example.com/api:9.9.9', '-n', 'shop');
    const r = await run();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const e = stepEnds(r.stdout);
    expect(e.restic_check.status).toBe('passed');
    expect(e.retention.status).toBe('passed');
    expect(JSON.parse(await s.restic('snapshots', '--json'))).toHaveLength(1); // keep-daily 7: one per day
    expect(e.cert_report.outputs.report).toEqual([expect.stringMatching(/^api-tls expires \d{4}-/)]);
    expect(e.slow_queries.status).toBe('skipped'); // pg_stat_statements is not installed
    expect(e.unused_indexes).toMatchObject({ status: 'warned', outputs: { unused: ['public.orders_customer_id_idx'] } });
    expect(e.top_pods.outputs.top.length).toBeGreaterThanOrEqual(4);
    expect(e.drift).toMatchObject({ status: 'warned', exitCode: 1 });
    expect(readFileSync(join(s.dir, '.maint/runs', JSON.parse(r.stdout.split('\n')[0]!).runId, 'steps/drift.log'), 'utf8')).toMatch(/-.*api:9\.9\.9[\s\S]*\+.*api:1\.0\.0/);
    const log = readFileSync(join(s.dir, 'maintenance-log.md'), 'utf8');
    expect(log).toMatch(/Patch-level dependency review \(manual task left pending\)/);
  });

  it('after a failure, the prune it cannot undo is a follow-up for a person', async () => {
    const r = await run({ DATABASE_URL: s.stack.postgres.url('no_such_db') });
    expect(r.code).toBe(1);
    expect(stepEnds(r.stdout).pgss.status).toBe('failed');
    const log = readFileSync(join(s.dir, 'maintenance-log.md'), 'utf8');
    expect(log).toMatch(/Undo Retention .* by hand: Pruned snapshots cannot be brought back/);
  });
});
