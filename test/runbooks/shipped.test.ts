/** The shipped runbooks as a whole: valid under --strict, listed, scheduled as the procedures say, documented. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { maint, project, ROOT } from '../helpers/cli.js';

const RUNBOOKS = ['daily', 'dr-test', 'monthly', 'quarterly', 'update-major', 'update-minor', 'update-patch', 'weekly'];
const PIECES = ['backup-age', 'cert-expiry', 'disk-use', 'http-health', 'nodes-ready', 'pg-backup', 'rollout'];
const SECRETS = ['database_url', 'scratch_database_url', 'restic_repository', 'restic_password', 'repository', 'password'];

describe('shipped runbooks', () => {
  it('are all valid under --strict, pieces included', async () => {
    const r = await maint(['validate', '--strict'], { cwd: project({}) });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${RUNBOOKS.length + PIECES.length} runbooks valid (strict)\n`);
    expect(r.code).toBe(0);
  });

  it('are listed; --all adds the pieces', async () => {
    const dir = project({});
    const names = async (...args: string[]) => JSON.parse((await maint(['list', '--json', ...args], { cwd: dir })).stdout).map((x: { name: string }) => x.name);
    expect(await names()).toEqual(RUNBOOKS);
    expect(await names('--all')).toEqual([...RUNBOOKS, ...PIECES.map((p) => `${p} (piece)`)]);
  });

  it('are scheduled as the procedures say', async () => {
    const r = await maint(['schedule', '--json'], { cwd: project({}) });
    const rows = Object.fromEntries(JSON.parse(r.stdout).map((x: { runbook: string; schedule: string; window?: string }) => [x.runbook, x]));
    expect(rows.daily.schedule).toMatch(/^daily 06:00 UTC/);
    expect(rows.weekly.schedule).toMatch(/^Sundays 02:00 UTC/);
    expect(rows.weekly.window).toMatch(/Sundays 02:00 for 4h/);
    expect(rows.monthly.schedule).toMatch(/^first Monday of the month 09:00 UTC/);
    expect(rows.quarterly.schedule).toMatch(/^last Friday of Mar, Jun, Sep, Dec 09:00 UTC/);
  });

  it('describe every var, keep credentials secret, and list the tools they need', () => {
    const dir = join(ROOT, 'runbooks');
    for (const file of readdirSync(dir)) {
      const rb = parse(readFileSync(join(dir, file), 'utf8'));
      expect(rb.title, file).toBeTruthy();
      expect(rb.description, file).toBeTruthy();
      expect(rb.requires?.length, file).toBeGreaterThan(0);
      for (const [name, decl] of Object.entries<Record<string, unknown>>(rb.vars ?? {})) {
        expect(typeof decl === 'object' && decl !== null && typeof decl.description === 'string', `${file}: ${name}`).toBe(true);
        if (SECRETS.includes(name)) expect(decl.secret, `${file}: ${name} is secret`).toBe(true);
      }
    }
  });

  it('never print credentials in a plan', async () => {
    const env = { DATABASE_URL: 'postgresql://app:pg-pass-9731@db/app', RESTIC_REPOSITORY: 's3:https://s3.example/bucket-7781', RESTIC_PASSWORD: 'restic-pass-4410', MAINT_DR_SCRATCH_URL: 'postgresql://scratch-host-5521/x' };
    const required: Record<string, string[]> = {
      'update-patch': ['image=x:1'],
      'update-minor': ['image=x:1', 'green_manifests=/g'],
      'update-major': ['image=x:1', 'migrations=/m.sql'],
    };
    for (const name of RUNBOOKS) {
      const vars = (required[name] ?? []).flatMap((v) => ['--var', v]);
      const r = await maint(['plan', name, ...vars], { cwd: project({}), env });
      expect(r.code, `${name}: ${r.stderr}`).toBe(0);
      for (const secret of ['pg-pass-9731', 'bucket-7781', 'restic-pass-4410', 'scratch-host-5521']) expect(r.stdout, name).not.toContain(secret);
    }
  });
});
