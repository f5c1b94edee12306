import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lines, maint, project } from '../helpers/cli.js';

describe('maint run: results, rollbacks, finally', () => {
  it('rolls back the failed step and every completed step, newest first, then finally; exit 1', async () => {
    const dir = project({
      'rb.yaml': `steps:
  - name: one
    run: echo one >> trail
    rollback: echo undo-one >> trail
  - name: two (no rollback)
    run: echo two >> trail
  - name: three
    run: echo three >> trail
    rollback: echo undo-three >> trail
  - name: four fails
    run: echo four >> trail; exit 7
    rollback: echo undo-four >> trail
  - name: five never runs
    run: echo five >> trail
finally:
  - name: cleanup
    run: echo finally >> trail
`,
    });
    const r = await maint(['run', 'rb'], { cwd: dir });
    expect(r.code).toBe(1);
    const trail = readFileSync(join(dir, 'trail'), 'utf8').trim().split('\n');
    expect(trail).toEqual(['one', 'two', 'three', 'four', 'undo-four', 'undo-three', 'undo-one', 'finally']);
    expect(r.stdout).toMatch(/FAIL four fails .*exit code 7/);
    expect(r.stdout).toMatch(/skip five never runs .*not run: an earlier step failed/);
  });

  it('a failing rollback does not stop the others; exit 3', async () => {
    const dir = project({
      'rb.yaml': `steps:
  - name: a
    run: "true"
    rollback: echo undo-a >> trail
  - name: b
    run: "true"
    rollback: echo undo-b-fails >> trail; exit 1
  - name: c
    run: exit 1
finally:
  - name: fin
    run: echo finally >> trail
`,
    });
    const r = await maint(['run', 'rb'], { cwd: dir });
    expect(r.code).toBe(3);
    expect(readFileSync(join(dir, 'trail'), 'utf8').trim().split('\n')).toEqual(['undo-b-fails', 'undo-a', 'finally']);
    expect(r.stdout).toMatch(/rollback failed/);
  });

  it('--no-rollback skips rollbacks but still runs finally', async () => {
    const dir = project({
      'rb.yaml': 'steps:\n  - name: a\n    run: "true"\n    rollback: echo undo >> trail\n  - name: b\n    run: exit 1\nfinally:\n  - name: f\n    run: echo finally >> trail\n',
    });
    const r = await maint(['run', 'rb', '--no-rollback'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(readFileSync(join(dir, 'trail'), 'utf8').trim()).toBe('finally');
  });

  it('passes outputs between steps and evaluates expect / warn / when with CEL', async () => {
    const dir = project({
      'rb.yaml': `vars:
  limit: 85
steps:
  - name: Disk
    id: disk
    run: printf 'Use%%\\n 42%%\\n'
    outputs:
      used_pct: int(stdout.split("\\n")[1].trim().replace("%", ""))
    expect: steps.disk.outputs.used_pct < vars.limit
  - name: Json
    id: js
    run: echo '{"items":[{"ok":true},{"ok":true}]}'
    expect:
      - json.items.all(i, i.ok)
      - size(json.items) == 2
  - name: Uses output
    run: test {{ steps.disk.outputs.used_pct }} -eq 42
  - name: Skipped when
    when: steps.disk.outputs.used_pct > 90
    run: echo should-not-run >> trail
  - name: Warned
    run: exit 3
    expect: exit_code in [0, 3]
    warn: exit_code == 3
`,
    });
    const r = await maint(['run', 'rb'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(existsSync(join(dir, 'trail'))).toBe(false);
    expect(r.stdout).toMatch(/skip Skipped when .*when steps\.disk\.outputs\.used_pct > 90 is false/);
    expect(r.stdout).toMatch(/WARN Warned/);
    // and the same run with a lower limit fails on the expectation
    const r2 = await maint(['run', 'rb', '--var', 'limit=40'], { cwd: dir });
    expect(r2.code).toBe(1);
    expect(r2.stdout).toMatch(/FAIL Disk .*expected steps\.disk\.outputs\.used_pct < vars\.limit/);
  });

  it('continue_on_error records an issue and goes on; manual tasks are pending when unattended', async () => {
    const dir = project({
      'rb.yaml': `steps:
  - name: flaky check
    run: exit 2
    continue_on_error: true
  - name: Post on the status page
    manual: Post "maintenance complete"
  - name: after
    run: echo after >> trail
`,
    });
    const r = await maint(['run', 'rb'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, 'trail'), 'utf8').trim()).toBe('after');
    expect(r.stdout).toMatch(/ISSUE flaky check/);
    expect(r.stdout).toMatch(/TODO Post on the status page .*Post "maintenance complete"/);
  });

  it('retries with delay and backoff until the step passes', async () => {
    const dir = project({
      'rb.yaml': `steps:
  - name: third time lucky
    run: echo x >> count; test $(wc -l < count) -ge 3
    retry: { attempts: 5, delay: 200ms, backoff: 2 }
`,
    });
    const r = await maint(['run', 'rb'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, 'count'), 'utf8').trim().split('\n')).toHaveLength(3);
    expect(r.stdout).toMatch(/retry 2\/5 in 200ms/);
    expect(r.stdout).toMatch(/retry 3\/5 in 400ms/);
    // 200 ms + 400 ms of waiting at least
    expect(r.ms).toBeGreaterThanOrEqual(600);
  });

  it('retries re-run on a false expectation and fail after the last attempt', async () => {
    const dir = project({
      'rb.yaml': 'steps:\n  - name: never\n    run: echo x >> count; echo 1\n    expect: int(stdout) > 5\n    retry: { attempts: 3, delay: 10ms }\n',
    });
    const r = await maint(['run', 'rb'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(readFileSync(join(dir, 'count'), 'utf8').trim().split('\n')).toHaveLength(3);
  });

  it('runs parallel groups concurrently within the bound', async () => {
    // Each child records its start, waits (up to 20 s) until two children have started, then
    // records its end: with the bound at 2 the first two meet at once, and never are three
    // running. Counting from the trail, not timing, keeps this true on a loaded machine.
    const child = (n: number) =>
      `      - { name: p${n}, run: "echo start >> trail; i=0; while [ $(grep -c start trail) -lt 2 ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; echo end >> trail" }\n`;
    const dir = project({ 'rb.yaml': `steps:\n  - name: group\n    concurrency: 2\n    parallel:\n${[1, 2, 3, 4].map(child).join('')}` });
    const r = await maint(['run', 'rb'], { cwd: dir });
    expect(r.code).toBe(0);
    const trail = readFileSync(join(dir, 'trail'), 'utf8').trim().split('\n');
    expect(trail.filter((l) => l === 'start')).toHaveLength(4);
    let running = 0;
    let most = 0;
    for (const event of trail) {
      running += event === 'start' ? 1 : -1;
      most = Math.max(most, running);
    }
    expect(most).toBe(2);
  });

  it('a wide parallel group (more than Node\'s default 10 listeners per signal) prints no warning', async () => {
    const children = Array.from({ length: 24 }, (_, i) => `      - { name: w${i}, run: [sleep, "0.1"], readonly: true }\n`).join('');
    const dir = project({ 'rb.yaml': `steps:\n  - name: wide\n    concurrency: 24\n    parallel:\n${children}` });
    const r = await maint(['run', 'rb', '-q'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
  });

  it('a failing parallel child fails the group and rolls back completed siblings', async () => {
    const dir = project({
      'rb.yaml': `steps:
  - name: group
    parallel:
      - { name: good, run: "echo good >> trail", rollback: "echo undo-good >> trail" }
      - { name: bad, run: "sleep 0.2; exit 1" }
  - name: after
    run: echo after >> trail
`,
    });
    const r = await maint(['run', 'rb'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(readFileSync(join(dir, 'trail'), 'utf8').trim().split('\n')).toEqual(['good', 'undo-good']);
  });

  it('includes another runbook as a group with its own vars', async () => {
    const dir = project({
      'outer.yaml': 'vars:\n  ns: prod\nsteps:\n  - name: inner checks\n    id: inner\n    runbook: piece\n    vars: { target: "{{ vars.ns }}-db" }\n',
      'piece.yaml': 'vars:\n  target: { required: true }\nsteps:\n  - name: check {{ vars.target }}\n    run: echo checked {{ vars.target }} >> trail\n',
    });
    const r = await maint(['run', 'outer'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, 'trail'), 'utf8').trim()).toBe('checked prod-db');
    expect(r.stdout).toMatch(/ok\s+check prod-db/);
  });

  it('--from and --only select steps', async () => {
    const dir = project({
      'rb.yaml': 'steps:\n  - { name: a, run: echo a >> trail }\n  - { name: b, run: echo b >> trail }\n  - { name: c, run: echo c >> trail }\n',
    });
    expect((await maint(['run', 'rb', '--from', 'b'], { cwd: dir })).code).toBe(0);
    expect((await maint(['run', 'rb', '--only', 'a'], { cwd: dir })).code).toBe(0);
    expect(readFileSync(join(dir, 'trail'), 'utf8').trim().split('\n')).toEqual(['b', 'c', 'a']);
    const bad = await maint(['run', 'rb', '--only', 'x'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--only x: no such step/);
  });

  it('--dry-run prints the plan and runs nothing', async () => {
    const dir = project({ 'rb.yaml': 'steps:\n  - { name: a, run: echo a >> trail }\n' });
    const r = await maint(['run', 'rb', '--dry-run'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\$ echo a >> trail/);
    expect(existsSync(join(dir, 'trail'))).toBe(false);
  });

  it('plain output has no ANSI codes when stdout is not a terminal', async () => {
    const dir = project({ 'rb.yaml': 'steps:\n  - { name: a, run: "exit 1" }\n' });
    const r = await maint(['run', 'rb'], { cwd: dir, env: { NO_COLOR: undefined } });
    expect(r.code).toBe(1);
    expect(r.stdout).not.toMatch(/\u001b\[/);
    expect(lines(r.stdout).some((l) => l.startsWith('FAIL a'))).toBe(true);
  });
});
