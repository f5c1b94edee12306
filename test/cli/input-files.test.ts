/**
 * Through the built CLI: an input file that is a device is exit 2 with one line (was: Node aborted
 * with std::bad_alloc, exit 134), and a tagged YAML value never reaches a command.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { maint, project } from '../helpers/cli.js';

const RUNBOOK = 'name: t\nvars:\n  n: 1\n  dir: x\nsteps:\n  - { name: s, run: "echo rm -rf /srv/data/{{ vars.dir }} {{ vars.n }}" }\n';

describe('input files through the CLI', () => {
  it.skipIf(!existsSync('/dev/zero'))('--vars-file /dev/zero: exit 2, one line', async () => {
    const dir = project({ 't.yaml': RUNBOOK });
    const r = await maint(['run', 't', '--vars-file', '/dev/zero'], { cwd: dir, env: { HOME: dir } });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('maint: --vars-file /dev/zero: is a device, not a plain file');
    expect(r.stdout).not.toMatch(/rm -rf/);
  });

  it('a !!set var is exit 2 at its position, nothing run (was: rm -rf /srv/data/\'\')', async () => {
    const dir = project({ 't.yaml': RUNBOOK.replace('dir: x', 'dir: !!set {a, b}') });
    const r = await maint(['run', 't'], { cwd: dir, env: { HOME: dir } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/t\.yaml:4:\d+: YAML: the tag !!set is not supported/);
    expect(r.stdout).not.toMatch(/rm -rf/);
  });

  it('--var n=1e999 into a numeric var is exit 2 (was: echo Infinity)', async () => {
    const dir = project({ 't.yaml': RUNBOOK });
    const r = await maint(['run', 't', '--var', 'n=1e999'], { cwd: dir, env: { HOME: dir } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/var "n" must be a number like the default \(1\), not "1e999"/);
  });
});
