/** Failure handling: no further step, rollbacks newest first, then finally; exit codes 1 and 3. */
import { describe, expect, it } from 'vitest';
import { execute } from '../../../src/exec/executor.js';
import { planOf, run, scriptedRunner, unattended } from './scripted-run.js';

const three =
  'vars: { x: none }\nsteps:\n  - { name: a, run: do-a, rollback: undo-a }\n  - { name: m, run: do-m, rollback: { manual: "restore {{ vars.x }} by hand" } }\n' +
  '  - { name: n, run: do-n }\n  - { name: b, run: do-b, rollback: undo-b }\n  - { name: c, run: do-c, rollback: undo-c }\nfinally:\n  - { name: f, run: fin }\n';

describe('failure and rollback', () => {
  it('rolls back the failed step and completed ones newest first, then runs finally; manual rollbacks are handed to a person', async () => {
    const r = await run(planOf(three, { sources: { explicit: { x: 'db' } } }), { 'do-b': { exitCode: 1 } });
    expect(r.calls).toEqual(['do-a', 'do-m', 'do-n', 'do-b', 'undo-b', 'undo-a', 'fin']);
    expect(r.trace).toEqual([
      'run:start', 'start:a', 'end:a:passed', 'start:m', 'end:m:passed', 'start:n', 'end:n:passed', 'start:b', 'end:b:failed', 'end:c:skipped',
      'rb-start:b', 'rb:b:ok', 'rb-manual:m', 'rb-start:a', 'rb:a:ok', 'start:f', 'end:f:passed', 'run:end',
    ]);
    expect(r.end('c').reason).toBe('not run: an earlier step failed');
    expect(r.events.find((e) => e.type === 'rollback:manual')).toMatchObject({ qid: 'm', name: 'm', text: 'restore db by hand' });
    expect(r.result).toEqual({ status: 'failed', exitCode: 1, pausedAt: undefined });
  });

  it('a passing run rolls nothing back and runs finally', async () => {
    const r = await run(three);
    expect(r.calls).toEqual(['do-a', 'do-m', 'do-n', 'do-b', 'do-c', 'fin']);
    expect(r.result.status).toBe('passed');
  });

  it('a failing rollback does not stop the others; the run ends with exit 3', async () => {
    const r = await run(three, { 'do-c': { exitCode: 1 }, 'undo-c': { exitCode: 2 } });
    expect(r.calls).toEqual(['do-a', 'do-m', 'do-n', 'do-b', 'do-c', 'undo-c', 'undo-b', 'undo-a', 'fin']);
    expect(r.events.find((e) => e.type === 'rollback:end' && e.qid === 'c')).toMatchObject({ ok: false, reason: 'exit code 2' });
    expect(r.result).toEqual({ status: 'rollback_failed', exitCode: 3, pausedAt: undefined });
  });

  it('--no-rollback skips rollbacks but not finally', async () => {
    const r = await run(three, { 'do-c': { exitCode: 1 } }, { noRollback: true });
    expect(r.calls).toEqual(['do-a', 'do-m', 'do-n', 'do-b', 'do-c', 'fin']);
    expect(r.result.exitCode).toBe(1);
  });

  it("a rollback runs with its own timeout, and a timed-out rollback fails", async () => {
    const plan = planOf('steps:\n  - name: a\n    run: do-a\n    timeout: 5m\n    rollback: { run: undo-a, timeout: 3s }\n  - { name: b, run: do-b }\n');
    const { runner, requests } = scriptedRunner({ 'do-b': { exitCode: 1 }, 'undo-a': { exitCode: null, timedOut: true } });
    const events: Parameters<Parameters<typeof execute>[1]['emit']>[0][] = [];
    const result = await execute(plan, { runner, emit: (e) => events.push(e), runId: 'r', env: {}, interaction: unattended });
    expect(requests.map((q) => q.timeoutMs)).toEqual([300_000, undefined, 3000]);
    expect(events.find((e) => e.type === 'rollback:end')).toMatchObject({ ok: false, reason: 'timed out after 3.0s' });
    expect(result.exitCode).toBe(3);
  });

  it.each([
    ['expect false', 'expect: stdout == "done"', { stdout: 'nope' }, false, /^expected stdout == "done"$/],
    ['expect true', 'expect: stdout == "done"', { stdout: 'done' }, true, undefined],
    ['expect on exit_code decides', 'expect: exit_code == 4', { exitCode: 4 }, true, undefined],
    ['a spawn error', 'expect: "true"', { exitCode: 127, spawnError: 'command not found: undo' }, false, /^command not found: undo$/],
    ['an expect that cannot be evaluated', 'expect: json.x == 1', { stdout: 'not json' }, false, /^expect json\.x == 1: (?!undefined$)\w/],
  ])("a rollback's %s", async (_, expectYaml, script, ok, reason) => {
    const r = await run(`steps:\n  - name: a\n    run: do-a\n    rollback: { run: undo, ${expectYaml} }\n  - { name: b, run: do-b }\n`, { 'do-b': { exitCode: 1 }, undo: script });
    const rb = r.events.find((e) => e.type === 'rollback:end');
    expect(rb).toMatchObject({ ok });
    if (reason === undefined) expect(rb).toMatchObject({ reason: undefined });
    else expect(rb && rb.type === 'rollback:end' && rb.reason).toMatch(reason);
    expect(r.result.exitCode).toBe(ok ? 1 : 3);
  });

  it('a rollback that is interrupted fails as interrupted', async () => {
    const r = await run('steps:\n  - { name: a, run: do-a, rollback: undo }\n  - { name: b, run: do-b }\n', { 'do-b': { exitCode: 1 }, undo: { exitCode: null, aborted: true } });
    expect(r.events.find((e) => e.type === 'rollback:end')).toMatchObject({ ok: false, reason: 'interrupted' });
  });

  it("a rollback's output is emitted under <qid>:rollback", async () => {
    const r = await run('steps:\n  - { name: a, run: do-a, rollback: undo }\n  - { name: b, run: do-b }\n', { 'do-b': { exitCode: 1 }, undo: { stdout: 'undone\n' } });
    expect(r.events.filter((e) => e.type === 'step:output').map((e) => e.type === 'step:output' && [e.qid, e.text])).toEqual([['a:rollback', 'undone\n']]);
  });

  it('the failed step is rolled back even when a later one would have been; a step under continue_on_error is too', async () => {
    const r = await run('steps:\n  - { name: a, run: do-a, rollback: undo-a, continue_on_error: true }\n  - { name: b, run: do-b, rollback: undo-b }\n', { 'do-a': { exitCode: 1 }, 'do-b': { exitCode: 1 } });
    expect(r.ends).toEqual(['a:issue', 'b:failed']);
    expect(r.calls).toEqual(['do-a', 'do-b', 'undo-b', 'undo-a']);
  });

  it('a skipped step is not rolled back', async () => {
    const r = await run('steps:\n  - { name: a, run: do-a, rollback: undo-a, when: "false" }\n  - { name: b, run: do-b }\n', { 'do-b': { exitCode: 1 } });
    expect(r.calls).toEqual(['do-b']);
  });
});

describe('finally', () => {
  it('a failing finally step does not stop the rest of finally, and fails the run', async () => {
    const r = await run('steps:\n  - { name: a, run: do-a }\nfinally:\n  - { name: f1, run: f1 }\n  - { name: f2, run: f2 }\n', { f1: { exitCode: 1 } });
    expect(r.calls).toEqual(['do-a', 'f1', 'f2']);
    expect(r.ends).toEqual(['a:passed', 'f1:failed', 'f2:passed']);
    expect(r.end('f1').phase).toBe('finally');
    expect(r.result).toEqual({ status: 'failed', exitCode: 1, pausedAt: undefined });
  });

  it('finally steps see the main steps and can use when', async () => {
    const r = await run('steps:\n  - { name: a, run: do-a }\nfinally:\n  - { name: f, run: notify, when: steps.a.status == "failed" }\n', { 'do-a': { exitCode: 1 } });
    expect(r.calls).toEqual(['do-a', 'notify']);
  });

  it('finally runs even when every step failed before running', async () => {
    const r = await run('steps:\n  - { name: a, run: "{{ vars.nope }}" }\nfinally:\n  - { name: f, run: fin }\n');
    expect(r.calls).toEqual(['fin']);
    expect(r.result.exitCode).toBe(1);
  });
});

describe('continue_on_error', () => {
  it('a failure is an issue and the run goes on; exit 0', async () => {
    const r = await run('steps:\n  - { name: a, run: do-a, continue_on_error: true }\n  - { name: b, run: do-b }\n', { 'do-a': { exitCode: 1 } });
    expect(r.ends).toEqual(['a:issue', 'b:passed']);
    expect(r.end('a').reason).toBe('exit code 1');
    expect(r.result.exitCode).toBe(0);
  });
});
