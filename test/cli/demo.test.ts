/** `maint demo` end to end: real PostgreSQL, restic and HTTP service, torn down after, also on Ctrl-C. */
import { existsSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findOnPath } from '../../src/exec/preflight.js';
import { maint, project } from '../helpers/cli.js';
import { haveRealStack } from '../helpers/real-stack.js';
import { processesMentioning } from '../unit/stack/helpers.js';

/** The stack's folder, from the line the demo prints when its services are up. */
const stackDir = (stderr: string) => /PostgreSQL on (\/\S+)\/socket/.exec(stderr)?.[1];

describe.skipIf(!haveRealStack())('maint demo', () => {
  it('runs dr-test and daily for real, prints the log, and leaves no process or service folder behind', async () => {
    const r = await maint(['demo'], { cwd: project({}) });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/## \d{4}-\d\d-\d\d: Disaster recovery test[\s\S]*\*\*Result\*\*: passed[\s\S]*\*\*DR objectives\*\*: RTO .* met; RPO .* met/);
    expect(r.stdout).toMatch(/## \d{4}-\d\d-\d\d: Daily health and backup checks[\s\S]*\*\*Result\*\*: passed/);
    expect(r.stdout).toMatch(/~~Certificates~~ — skipped: when vars.kubernetes is false/);
    expect(r.stderr).toMatch(/kubectl checks are skipped: the demo has no cluster/);
    const log = /The maintenance log is (\S+):/.exec(r.stdout)![1]!;
    expect(readFileSync(log, 'utf8')).toMatch(/Restored data matches the checksums/);
    const dir = stackDir(r.stderr)!;
    expect(dir).toBeTruthy();
    expect(existsSync(dir)).toBe(false);
    expect(processesMentioning(dir)).toEqual([]);
  });

  it('on Ctrl-C stops the run and every service, and exits 130', async () => {
    let seen = '';
    const r = await maint(['demo'], {
      cwd: project({}),
      onSpawn: (child) => {
        child.stdout!.on('data', (d: Buffer) => {
          seen += d.toString();
          // Mid-run: the backup step of dr-test has started.
          if (/▸ Back up production/.test(seen) && !child.killed) child.kill('SIGINT');
        });
      },
    });
    expect(r.code, r.stdout + r.stderr).toBe(130);
    expect(r.stdout).not.toMatch(/Daily health and backup checks \(daily/);
    const dir = stackDir(r.stderr)!;
    expect(existsSync(dir)).toBe(false);
    expect(processesMentioning(dir)).toEqual([]);
  });

  it('names a missing tool and how to install it, and exits 2 before starting anything', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'maint-bin-'));
    for (const tool of ['node', 'psql', 'pg_dump', 'pg_restore', 'curl', 'bash']) symlinkSync(findOnPath(tool)!, join(bin, tool));
    const r = await maint(['demo'], { cwd: project({}), env: { PATH: bin } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/restic: apt-get install -y restic/);
    expect(r.stderr).not.toMatch(/starting a throwaway/);
  });
});
