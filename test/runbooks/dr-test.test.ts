import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveRealStack, startRealStack, type RealStack } from '../helpers/real-stack.js';

const TOTAL = 'select count(*) || \':\' || sum(total_cents) from orders';

describe.skipIf(!haveRealStack())('maint dr-test (real PostgreSQL and restic)', () => {
  let s: RealStack;
  beforeAll(async () => {
    s = await startRealStack();
  });
  afterAll(() => s?.stop());

  it('restores real data into the scratch database, the checksums match, and RTO/RPO are measured', async () => {
    // The scratch database starts with something the disaster must wipe.
    await s.stack.postgres.psql('create table leftover (x int); insert into leftover values (1)', 'app_scratch');
    const r = await s.maint(['dr-test']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/DR +RTO \d+(ms|\.\d+s|s) \(objective 4h\) met · RPO \d+(ms|\.\d+s|s) \(objective 1h\) met/);
    expect(await s.stack.postgres.psql(TOTAL, 'app_scratch')).toBe(await s.stack.postgres.psql(TOTAL, 'app'));
    expect(await s.stack.postgres.psql("select count(*) from pg_tables where tablename = 'leftover'", 'app_scratch')).toBe('0');
    const log = readFileSync(join(s.dir, 'maintenance-log.md'), 'utf8');
    expect(log).toMatch(/\*\*DR objectives\*\*: RTO .* \(target 4h\) met; RPO .* \(target 1h\) met/);

    const history = await s.maint(['history', '--dr', '--json']);
    const [latest] = JSON.parse(history.stdout);
    expect(latest).toMatchObject({ runbook: 'dr-test', met: true, rto_objective_ms: 4 * 3600_000, rpo_objective_ms: 3600_000 });
    expect(latest.rto_ms).toBeGreaterThan(0);
    expect(latest.rpo_ms).toBeGreaterThan(0);
  });

  it('fails when the restored data does not match production, and wipes the half-restored scratch', async () => {
    // A table in another schema survives the disaster (which drops `public`), so the restored
    // scratch database holds more than production: the checksums differ.
    await s.stack.postgres.psql('create schema extra; create table extra.t (x int); insert into extra.t values (42)', 'app_scratch');
    const r = await s.maint(['dr-test']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/FAIL Restored data matches the checksums/);
    expect(r.stdout).toMatch(/↶ ok +Restore the scratch database from restic/);
    expect(await s.stack.postgres.psql("select count(*) from pg_tables where schemaname = 'public'", 'app_scratch')).toBe('0');
    // production untouched
    expect(await s.stack.postgres.psql(TOTAL, 'app')).toBe('100:1262500');
  });

  it('refuses a scratch target that is production, before touching anything', async () => {
    const r = await s.maint(['dr-test'], { MAINT_DR_SCRATCH_URL: s.env.DATABASE_URL! });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL Scratch target is not production/);
    expect(r.stdout).not.toMatch(/▸ Simulate the disaster/);
    expect(r.stdout).toMatch(/skip Simulate the disaster .*not run: an earlier step failed/);
    expect(await s.stack.postgres.psql(TOTAL, 'app')).toBe('100:1262500');
  });
});
