import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { maint, project } from '../helpers/cli.js';

describe('rollback: { manual }', () => {
  it('runs nothing, tells the operator, and lists the instructions in the log follow-ups', async () => {
    const dir = project({
      'prune.yaml': `vars:
  repo: offsite-1
steps:
  - name: Prune
    run: "echo pruned >> trail"
    rollback:
      manual: Copy the pruned snapshots back from {{ vars.repo }}
  - name: Later check
    run: "exit 1"
`,
    });
    const r = await maint(['run', 'prune'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/↶ undo by hand Prune: Copy the pruned snapshots back from offsite-1/);
    expect(readFileSync(join(dir, 'trail'), 'utf8')).toBe('pruned\n');
    const log = readFileSync(join(dir, 'maintenance-log.md'), 'utf8');
    expect(log).toMatch(/- \[ \] Prune — undo by hand \(see follow-ups\)/);
    expect(log).toMatch(/Undo Prune by hand: Copy the pruned snapshots back from offsite-1/);
  });

  it('satisfies --strict, and takes exactly one of run and manual', async () => {
    const dir = project({
      'ok.yaml': 'steps:\n  - { name: a, run: "true", rollback: { manual: nothing to undo } }\n',
      'both.yaml': 'steps:\n  - { name: a, run: "true", rollback: { manual: x, run: "true" } }\n',
      'timeout.yaml': 'steps:\n  - { name: a, run: "true", rollback: { manual: x, timeout: 5s } }\n',
    });
    expect((await maint(['validate', '--strict', 'ok'], { cwd: dir })).code).toBe(0);
    const both = await maint(['validate', 'both'], { cwd: dir });
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/both\.yaml:2:\d+: .*exactly one of `run` and `manual`/);
    const timeout = await maint(['validate', 'timeout'], { cwd: dir });
    expect(timeout.stderr).toMatch(/`timeout` and `expect` go with `run`, not with `manual`/);
  });
});
