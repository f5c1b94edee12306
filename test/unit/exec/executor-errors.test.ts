/**
 * execute() never throws for any input: a template or expression that cannot be evaluated at run
 * time fails its step (or the run) with a readable reason; rollbacks and finally still run.
 */
import { describe, expect, it } from 'vitest';
import { parseTemplate } from '../../../src/expr/template.js';
import { person, planOf, run } from './scripted-run.js';

/** `a` prints JSON, so `steps.a.outputs.o.<key>` is only known to be missing at run time. */
const first = '  - { name: a, run: do-a, rollback: undo-a, outputs: { o: json } }\n';
const scripts = { 'do-a': { stdout: '{"k": 1}' } };
const after = '  - { name: c, run: do-c }\nfinally:\n  - { name: f, run: fin }\n';
const missing = '{{ steps.a.outputs.o.nope }}';

describe('run-time template errors fail the step, never the process', () => {
  it.each([
    ['name', `  - { name: "Restore ${missing}", id: b, run: do-b }\n`, /^name: .*nope/],
    ['manual text', `  - { name: b, manual: "Check ${missing}" }\n`, /^manual: .*nope/],
    ['confirm text', `  - { name: b, run: do-b, confirm: "Drop ${missing}?" }\n`, /^confirm: .*nope/],
    ['cwd', `  - { name: b, run: do-b, cwd: "${missing}" }\n`, /^could not render the command: cwd: .*nope/],
    ['step env', `  - { name: b, run: do-b, env: { X: "${missing}" } }\n`, /^could not render the command: env\.X: .*nope/],
    ['command', `  - { name: b, run: "echo ${missing}" }\n`, /^could not render the command: .*nope/],
    ['argv', `  - { name: b, run: [echo, "${missing}"] }\n`, /^could not render the command: .*nope/],
  ])('%s', async (_, step, reason) => {
    const r = await run(`steps:\n${first}${step}${after}`, scripts, { interaction: person({ confirm: ['yes'], done: [true] }).interaction });
    expect(r.end('b').status).toBe('failed');
    expect(r.end('b').reason).toMatch(reason);
    expect(r.calls).toEqual(['do-a', 'undo-a', 'fin']);
    expect(r.ends).toEqual(['a:passed', 'b:failed', 'c:skipped', 'f:passed']);
    expect(r.result).toEqual({ status: 'failed', exitCode: 1, pausedAt: undefined });
  });

  it('a name that cannot be rendered is shown as written', async () => {
    const r = await run(`steps:\n${first}  - { name: "Restore ${missing}", id: b, run: do-b }\n`, scripts);
    expect(r.end('b').name).toBe(`Restore ${missing}`);
    expect(r.events.find((e) => e.type === 'step:start' && e.qid === 'b')).toMatchObject({ name: `Restore ${missing}` });
  });

  it('under continue_on_error, such a step is an issue and the run goes on', async () => {
    const r = await run(`steps:\n${first}  - { name: b, manual: "Check ${missing}", continue_on_error: true }\n${after}`, scripts);
    expect(r.ends).toEqual(['a:passed', 'b:issue', 'c:passed', 'f:passed']);
    expect(r.result.exitCode).toBe(0);
  });

  it('a rollback that cannot be rendered fails (exit 3); the others still run', async () => {
    const r = await run(`steps:\n${first}  - { name: b, run: do-b, rollback: "undo ${missing}" }\n  - { name: c, run: do-c }\n`, { ...scripts, 'do-c': { exitCode: 1 } });
    expect(r.calls).toEqual(['do-a', 'do-b', 'do-c', 'undo-a']);
    expect(r.events.find((e) => e.type === 'rollback:end' && e.qid === 'b')).toMatchObject({ ok: false, reason: expect.stringMatching(/^could not render the rollback: .*nope/) });
    expect(r.result.exitCode).toBe(3);
  });

  it('a manual rollback that cannot be rendered still tells a person to undo by hand', async () => {
    const r = await run(`steps:\n${first}  - { name: b, run: do-b, rollback: { manual: "restore ${missing}" } }\n  - { name: c, run: do-c }\n`, { ...scripts, 'do-c': { exitCode: 1 } });
    expect(r.events.find((e) => e.type === 'rollback:manual')).toMatchObject({ qid: 'b', text: expect.stringMatching(/^undo by hand \(could not render the instructions: .*nope/) });
    expect(r.result.exitCode).toBe(1);
  });

  it('a runbook env that cannot be rendered: no step runs, every one says why, finally runs, exit 1', async () => {
    const plan = planOf(`env: { A: "1" }\nsteps:\n  - { name: a, run: do-a }\n  - { name: b, run: do-b }\nfinally:\n  - { name: f, run: fin }\n`);
    plan.env.B = parseTemplate('{{ env.NOPE }}').template!;
    const r = await run(plan);
    expect(r.calls).toEqual(['fin']);
    expect(r.ends).toEqual(['a:skipped', 'b:skipped', 'f:passed']);
    expect(r.end('a').reason).toMatch(/^not run: the runbook env could not be rendered: env\.B: /);
    expect(r.result).toEqual({ status: 'failed', exitCode: 1, pausedAt: undefined });
  });
});

describe('run-time expression errors fail the step with the reason', () => {
  it.each([
    ['division by zero in expect', 'expect: 10 / int(stdout) > 1', '0', /^expect 10 \/ int\(stdout\) > 1: .*divi/i],
    ['a missing key in expect', 'expect: json.missing == 1', '{"k": 1}', /^expect json\.missing == 1: .*missing/],
    ['a type mismatch in expect', 'expect: json.k + 1 == 2', '{"k": "a"}', /^expect json\.k \+ 1 == 2: .*overload/],
    ['json null (stdout not JSON) in expect', 'expect: json.items.size() > 0', 'hello world', /^expect json\.items\.size\(\) > 0: /],
    ['a non-bool expect', 'expect: stdout', 'yes', /^expect stdout: expected a bool/],
    ['an output that cannot be evaluated', 'outputs: { n: int(stdout) }', 'many', /^outputs\.n: /],
    ['an output reading null json', 'outputs: { n: json.count }', 'plain text', /^outputs\.n: /],
  ])('%s', async (_, yaml, stdout, reason) => {
    const r = await run(`steps:\n  - { name: z, run: do-z, rollback: undo-z }\n  - name: b\n    run: do-b\n    ${yaml}\n  - { name: c, run: do-c }\nfinally:\n  - { name: f, run: fin }\n`, { 'do-b': { stdout } });
    expect(r.end('b')).toMatchObject({ status: 'failed', reason: expect.stringMatching(reason) });
    expect(r.calls).toEqual(['do-z', 'do-b', 'undo-z', 'fin']);
    expect(r.result.exitCode).toBe(1);
  });

  it('a warn that cannot be evaluated is a warning saying why, not a failure', async () => {
    const r = await run('steps:\n  - { name: b, run: do-b, warn: "json.slow == true" }\n', { 'do-b': { stdout: 'text' } });
    expect(r.end('b').status).toBe('warned');
    expect(r.end('b').warnings![0]).toMatch(/^warn json\.slow == true: /);
  });

  it('a when that errors fails the step with the reason', async () => {
    const r = await run(`steps:\n${first}  - { name: b, run: do-b, when: "steps.a.outputs.o.nope == 1" }\n${after}`, scripts);
    expect(r.end('b')).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^when steps\.a\.outputs\.o\.nope == 1: .*nope/) });
    expect(r.calls).toEqual(['do-a', 'undo-a', 'fin']);
  });

  it('a when that errors under continue_on_error is an issue with the reason, not a pass', async () => {
    const r = await run(`steps:\n${first}  - { name: b, run: do-b, when: "steps.a.outputs.o.nope == 1", continue_on_error: true }\n${after}`, scripts);
    expect(r.end('b')).toMatchObject({ status: 'issue', reason: expect.stringMatching(/^when .*nope/) });
    expect(r.calls).toEqual(['do-a', 'do-c', 'fin']);
    expect(r.result.exitCode).toBe(0);
  });

  it('a when that errors in a group under continue_on_error makes the group warned', async () => {
    const r = await run(`steps:\n${first}  - name: g\n    parallel:\n      - { name: b, run: do-b, when: "steps.a.outputs.o.nope == 1", continue_on_error: true }\n`, scripts);
    expect(r.status('g')).toBe('warned');
  });
});
