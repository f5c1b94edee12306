import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveRealStack, startRealStack, stepEnds, type RealStack } from '../helpers/real-stack.js';

const BLOAT = `create table events (id serial primary key, payload int);
insert into events (payload) select g from generate_series(1, 100000) g;
create index events_payload_idx on events (payload);
delete from events where id % 50 <> 0;
analyze events;`;

describe.skipIf(!haveRealStack())('monthly (real PostgreSQL and restic)', () => {
  let s: RealStack;
  beforeAll(async () => {
    s = await startRealStack();
    await s.stack.postgres.psql(BLOAT);
    const r = await s.maint(['run', 'update-patch', '--only', 'backup', '--var', 'image=unused']);
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(() => s?.stop());

  it('verifies the backup by a restore, vacuums, rebuilds the bloated indexes and runs the DR test', async () => {
    const size = () => s.stack.postgres.psql("select pg_relation_size('events_payload_idx')").then(Number);
    const before = await size();
    const r = await s.maint(['run', 'monthly', '--json', '--quiet', '--force', '--reason', 'test', '--var', `disk_path=${s.dir}`, '--var', 'max_disk_pct=100']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const e = stepEnds(r.stdout);
    expect(e.restore_check.outputs.files).toBe(1);
    expect(e.vacuum.status).toBe('passed');
    expect(e.bloat.outputs.indexes).toEqual(expect.arrayContaining(['public.events_payload_idx', 'public.events_pkey']));
    expect(e.bloat.outputs.indexes).not.toContain('public.orders_customer_id_idx');
    expect(e.reindex.status).toBe('passed');
    expect(await size()).toBeLessThan(before / 5);
    expect(e.db_size.outputs.largest[0]).toMatch(/^public\./);
    expect(e['dr.verify'].status).toBe('passed');
    const log = readFileSync(join(s.dir, 'maintenance-log.md'), 'utf8');
    expect(log).toMatch(/Access review \(manual task left pending\)/);
    expect(log).toMatch(/Secret rotation \(manual task left pending\)/);
  });
});
