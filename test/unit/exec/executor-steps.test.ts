/** One command step through execute: expect, warn, outputs, retry, timeouts, when, manual. */
import { describe, expect, it } from 'vitest';
import { execute } from '../../../src/exec/executor.js';
import { person, planOf, run, scriptedRunner, unattended } from './scripted-run.js';

describe('a command step', () => {
  it.each([
    ['exit 0 passes', 'run: x', { exitCode: 0 }, 'passed', undefined],
    ['a non-zero exit fails with its code and the last stderr line', 'run: x', { exitCode: 4, stderr: 'a\nno space left\n' }, 'failed', 'exit code 4: no space left'],
    ['killed by a signal', 'run: x', { exitCode: null, signal: 'SIGKILL' as const }, 'failed', 'killed by SIGKILL'],
    ['a spawn error is the reason', 'run: x', { exitCode: 127, spawnError: 'command not found: x' }, 'failed', 'command not found: x'],
    ['a timeout says how long', 'run: x\n    timeout: 90s', { exitCode: null, timedOut: true }, 'failed', 'timed out after 1m30s'],
    ['expect on exit_code decides instead of the exit status', 'run: x\n    expect: exit_code == 3', { exitCode: 3 }, 'passed', undefined],
    ['expect false fails with the expression', 'run: x\n    expect: stdout == "ok"', { stdout: 'no' }, 'failed', 'expected stdout == "ok"'],
    ['every expect must hold', 'run: x\n    expect: [stdout == "ok", stderr == ""]', { stdout: 'ok', stderr: 'e' }, 'failed', 'expected stderr == ""'],
    ['a true warn passes with a warning', 'run: x\n    warn: stdout.contains("slow")', { stdout: 'slow' }, 'warned', undefined],
    ['a false warn is no warning', 'run: x\n    warn: stdout.contains("slow")', { stdout: 'fast' }, 'passed', undefined],
  ])('%s', async (_, yaml, script, status, reason) => {
    const r = await run(`steps:\n  - name: s\n    ${yaml}\n`, { x: script });
    expect(r.end('s').status).toBe(status);
    expect(r.end('s').reason).toBe(reason);
    expect(r.result.exitCode).toBe(status === 'failed' ? 1 : 0);
  });

  it('reports warnings and outputs, readable by later steps, and expect sees its own outputs', async () => {
    const r = await run(
      'steps:\n  - name: a\n    run: x\n    outputs: { n: int(stdout.trim()), tag: "\'v\' + stdout.trim()" }\n    expect: steps.a.outputs.n > 1\n    warn: steps.a.outputs.n > 2\n' +
        '  - name: b\n    run: "echo {{ steps.a.outputs.tag }} {{ steps.a.status }}"\n',
      { x: { stdout: '3\n' } },
    );
    expect(r.end('a')).toMatchObject({ status: 'warned', outputs: { n: 3, tag: 'v3' }, warnings: ['warning: steps.a.outputs.n > 2'] });
    expect(r.calls).toEqual(['x', "echo v3 warned"]);
  });

  it('a warned step leaves the run passed (exit 0)', async () => {
    const r = await run('steps:\n  - name: a\n    run: x\n    warn: "true"\n');
    expect(r.result).toEqual({ status: 'passed', exitCode: 0, pausedAt: undefined });
  });

  it('json reads stdout as JSON, or YAML', async () => {
    const yaml = 'steps:\n  - name: a\n    run: x\n    expect: json.items.size() == 2\n';
    expect((await run(yaml, { x: { stdout: '{"items":[1,2]}' } })).status('a')).toBe('passed');
    expect((await run(yaml, { x: { stdout: 'items:\n  - 1\n  - 2\n' } })).status('a')).toBe('passed');
  });

  it('steps.<id>.stdout and exit_code of an earlier step are readable', async () => {
    const r = await run('steps:\n  - name: a\n    run: x\n    expect: exit_code == 2\n  - name: b\n    run: y\n    when: steps.a.exit_code == 2 && steps.a.stdout == "hi"\n', { x: { exitCode: 2, stdout: 'hi' } });
    expect(r.calls).toEqual(['x', 'y']);
  });

  it('runs argv without a shell, and shell strings through the shell', async () => {
    const plan = planOf('vars: { who: "a b; rm -rf /" }\nsteps:\n  - { name: a, run: [echo, "{{ vars.who }}"] }\n  - { name: b, run: "echo {{ vars.who }}" }\n');
    const { runner, requests } = scriptedRunner();
    await execute(plan, { runner, emit: () => {}, runId: 'r', env: {}, interaction: unattended, sleep: async () => {} });
    expect(requests[0]!.command).toEqual({ kind: 'argv', argv: ['echo', 'a b; rm -rf /'] });
    expect(requests[1]!.command).toEqual({ kind: 'shell', script: "echo 'a b; rm -rf /'", shell: ['bash', '-c'] });
  });

  it('passes the step timeout, kill grace and capture limit to the runner', async () => {
    const plan = planOf('steps:\n  - { name: a, run: x, timeout: 2s }\n  - { name: b, run: y }\n');
    const { runner, requests } = scriptedRunner();
    await execute(plan, { runner, emit: () => {}, runId: 'r', env: {}, interaction: unattended, captureLimit: 77 });
    expect(requests.map((q) => [q.timeoutMs, q.killGraceMs, q.captureLimit])).toEqual([[2000, 5000, 77], [undefined, 5000, 77]]);
    const dflt = scriptedRunner();
    await execute(plan, { runner: dflt.runner, emit: () => {}, runId: 'r', env: {}, interaction: unattended });
    expect(dflt.requests[0]!.captureLimit).toBe(4 * 1024 * 1024);
  });
});

describe('retry', () => {
  it('re-runs while failing, with delay growing by backoff, and passes on a later attempt', async () => {
    const r = await run('steps:\n  - name: a\n    run: x\n    retry: { attempts: 4, delay: 1s, backoff: 3 }\n', { x: [{ exitCode: 1 }, { exitCode: 1 }, { exitCode: 1 }, { exitCode: 0 }] });
    expect(r.calls).toEqual(['x', 'x', 'x', 'x']);
    expect(r.sleeps).toEqual([1000, 3000, 9000]);
    expect(r.end('a')).toMatchObject({ status: 'passed', attempts: 4 });
    expect(r.events.filter((e) => e.type === 'step:retry').map((e) => e.type === 'step:retry' && [e.attempt, e.attempts, e.delayMs, e.reason])).toEqual([
      [2, 4, 1000, 'exit code 1'], [3, 4, 3000, 'exit code 1'], [4, 4, 9000, 'exit code 1'],
    ]);
  });

  it('retries a false expectation, and fails after the last attempt', async () => {
    const r = await run('steps:\n  - name: a\n    run: x\n    expect: stdout == "up"\n    retry: { attempts: 2, delay: 10ms }\n', { x: { stdout: 'down' } });
    expect(r.calls).toEqual(['x', 'x']);
    expect(r.sleeps).toEqual([10]);
    expect(r.end('a')).toMatchObject({ status: 'failed', attempts: 2, reason: 'expected stdout == "up"' });
  });

  it('attempt is readable in expressions', async () => {
    const r = await run('steps:\n  - name: a\n    run: x\n    expect: attempt == 3\n    retry: { attempts: 3, delay: 0s }\n');
    expect(r.end('a')).toMatchObject({ status: 'passed', attempts: 3 });
  });

  it("the step's own retry beats defaults.retry", async () => {
    const r = await run('defaults:\n  retry: { attempts: 3, delay: 1s }\nsteps:\n  - { name: a, run: x, retry: { attempts: 1 } }\n  - { name: b, run: y }\n', { x: { exitCode: 1 }, y: { exitCode: 1 } });
    expect(r.calls).toEqual(['x']);
  });

  it('defaults.retry applies to a step without its own', async () => {
    const r = await run('defaults:\n  retry: { attempts: 3, delay: 1s }\nsteps:\n  - { name: b, run: y }\n', { y: { exitCode: 1 } });
    expect(r.calls).toEqual(['y', 'y', 'y']);
  });

  it('does not retry a passed or warned step', async () => {
    const r = await run('steps:\n  - name: a\n    run: x\n    warn: "true"\n    retry: { attempts: 3 }\n');
    expect(r.calls).toEqual(['x']);
  });

  it('a signal while waiting to retry stops the step as interrupted', async () => {
    const soft = new AbortController();
    const plan = planOf('steps:\n  - { name: a, run: x, retry: { attempts: 3, delay: 1s } }\n');
    const r = await run(plan, { x: { exitCode: 1 } }, { signal: soft.signal, sleep: async () => soft.abort() });
    expect(r.calls).toEqual(['x']);
    expect(r.end('a')).toMatchObject({ status: 'interrupted', reason: 'interrupted while waiting to retry' });
  });
});

describe('when', () => {
  it('false skips the step with the expression as reason; true runs it', async () => {
    const r = await run('vars: { go: false }\nsteps:\n  - { name: a, run: x, when: vars.go }\n  - { name: b, run: y, when: "!vars.go" }\n');
    expect(r.calls).toEqual(['y']);
    expect(r.end('a')).toMatchObject({ status: 'skipped', reason: 'when vars.go is false' });
    expect(r.result.exitCode).toBe(0);
  });

  it('a step skipped by when is readable as skipped', async () => {
    const r = await run('steps:\n  - { name: a, run: x, when: "false" }\n  - { name: b, run: y, when: steps.a.status == "skipped" }\n');
    expect(r.calls).toEqual(['y']);
  });
});

describe('manual steps', () => {
  it('unattended: pending, nothing asked, the run passes', async () => {
    const r = await run('steps:\n  - { name: m, manual: "Post on the status page" }\n  - { name: b, run: y }\n');
    expect(r.end('m')).toMatchObject({ status: 'pending', reason: 'Post on the status page' });
    expect(r.calls).toEqual(['y']);
    expect(r.result.exitCode).toBe(0);
  });

  it('at a terminal: asks; yes passes, no leaves it pending', async () => {
    const p = person({ done: [true, false] });
    const r = await run('vars: { page: status }\nsteps:\n  - { name: m, manual: "Post on the {{ vars.page }} page" }\n  - { name: n, manual: "Tell the team" }\n', {}, { interaction: p.interaction });
    expect(p.asked).toEqual(['Post on the status page\n  Done?', 'Tell the team\n  Done?']);
    expect(r.ends).toEqual(['m:passed', 'n:pending']);
  });
});

describe('env and cwd', () => {
  it('steps get the process env, the runbook env, then their own', async () => {
    const plan = planOf('vars: { v: one }\nenv: { A: "{{ vars.v }}", B: base }\nsteps:\n  - { name: a, run: x, env: { B: own, C: "{{ env.HOME }}" }, cwd: "/srv/{{ vars.v }}" }\n');
    const { runner, requests } = scriptedRunner();
    await execute(plan, { runner, emit: () => {}, runId: 'r', env: { HOME: '/home/ana', B: 'proc' }, interaction: unattended });
    expect(requests[0]!.env).toEqual({ HOME: '/home/ana', A: 'one', B: 'own', C: '/home/ana' });
    expect(requests[0]!.cwd).toBe('/srv/one');
  });

  it('a var set by --vars-file beats the environment variable it names', async () => {
    const text = 'vars:\n  target: { env: TARGET }\nsteps:\n  - { name: a, run: "deploy {{ vars.target }}" }\n';
    const fromFile = planOf(text, { sources: { file: { target: 'from-file' }, env: { TARGET: 'from-env' } } });
    expect((await run(fromFile)).calls).toEqual(['deploy from-file']);
    const fromEnv = planOf(text, { sources: { env: { TARGET: 'from-env' } } });
    expect((await run(fromEnv)).calls).toEqual(['deploy from-env']);
  });
});
