import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveRealStack, startRealStack, type RealStack } from '../helpers/real-stack.js';

const MIGRATION = `alter table orders add column note text;
update orders set total_cents = 0, note = 'migrated';
`;
const deploymentState = async (s: RealStack) =>
  (await s.kubectl('get', 'deployment', 'api', '-n', 'shop', '-o', 'jsonpath={.spec.template.spec.containers[0].image} {.spec.replicas}')).split(' ');
const columns = (s: RealStack) =>
  s.stack.postgres.psql("select string_agg(column_name, ',' order by ordinal_position) from information_schema.columns where table_name = 'orders'");

describe.skipIf(!haveRealStack())('update-major (window, migrations, real PostgreSQL and restic)', () => {
  let s: RealStack;
  let migrations: string;
  beforeAll(async () => {
    s = await startRealStack();
    migrations = s.file('v2.sql', MIGRATION);
  });
  afterAll(() => s?.stop());
  const run = (integrity: string) =>
    s.maint([
      'run', 'update-major', '--force', '--reason', 'release 2.0 test', '--var', 'namespace=shop', '--var', `migrations=${migrations}`,
      '--var', `health_url=${s.stack.http.healthUrl}`, '--var', 'rollout_timeout=10s', '--var', 'image=registry.example.com/api:2.0.0',
      '--var', `integrity_query=${integrity}`,
    ]);

  it('a failed integrity check restores the data from the backup, the image and the replicas', async () => {
    const r = await run('select sum(total_cents) = 1262500 from orders');
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/FAIL Data integrity/);
    expect(r.stdout).toMatch(/↶ ok +Apply the migrations/);
    expect(await s.stack.postgres.psql('select sum(total_cents) from orders')).toBe('1262500');
    expect(await columns(s)).toBe('id,customer_id,total_cents,placed_at');
    expect(await deploymentState(s)).toEqual(['registry.example.com/api:1.0.0', '3']);
    const log = readFileSync(join(s.dir, 'maintenance-log.md'), 'utf8');
    expect(log).toMatch(/\*\*Result\*\*: failed, rolled back/);
  });

  it('migrates, deploys the new image, scales back up and passes the checks', async () => {
    const r = await run('select count(*) = 100 from orders where note = \'migrated\'');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await columns(s)).toBe('id,customer_id,total_cents,placed_at,note');
    expect(await deploymentState(s)).toEqual(['registry.example.com/api:2.0.0', '3']);
    const log = readFileSync(join(s.dir, 'maintenance-log.md'), 'utf8');
    expect(log).toMatch(/Announce the maintenance \(manual task left pending\)/);
  });
});
