/**
 * Phase two of planning: what each runbook field becomes in the plan. Every documented default
 * and precedence is pinned here, in process, so a change to plan.ts that breaks one fails a test.
 */
import { describe, expect, it } from 'vitest';
import { buildPlan } from '../../../src/plan/plan.js';
import type { CommandStep, IncludeStep, Plan, PlanStep } from '../../../src/plan/types.js';
import { parseRunbook, type LoadedRunbook } from '../../../src/runbook/parse.js';

function load(file: string, text: string): LoadedRunbook {
  const { runbook, diagnostics } = parseRunbook(file, text);
  expect(diagnostics).toEqual([]);
  return runbook!;
}

/** The plan of `r.yaml` with the given pieces; fails the test on any diagnostic. */
function plan(root: string, pieces: Record<string, string> = {}, explicit: Record<string, string> = {}): Plan {
  const runbooks = new Map(Object.entries({ r: root, ...pieces }).map(([name, text]) => [name, load(`${name}.yaml`, text)]));
  const { plan: p, diagnostics } = buildPlan({ root: runbooks.get('r')!, runbooks, sources: { explicit, file: {}, env: {}, config: {} } });
  expect(diagnostics).toEqual([]);
  return p!;
}

const cmd = (s: PlanStep | undefined): CommandStep => {
  expect(s?.kind).toBe('command');
  return s as CommandStep;
};
/** The one command step of a runbook whose steps are `step`. */
const one = (step: string, top = '') => cmd(plan(`${top}steps:\n  - ${step}\n`).steps[0]);

describe('a command step', () => {
  it.each<[string, string, string, (s: CommandStep) => unknown, unknown]>([
    ['shell default', '', '{ name: a, run: "echo hi" }', (s) => s.command, { kind: 'shell', shell: ['bash', '-c'], template: expect.objectContaining({ source: 'echo hi' }) }],
    ['defaults.shell', 'defaults: { shell: [sh, -eu, -c] }\n', '{ name: a, run: "echo hi" }', (s) => s.command.kind === 'shell' && s.command.shell, ['sh', '-eu', '-c']],
    ['argv', '', '{ name: a, run: [ls, "-l", "{{ vars.x }}"] }', (s) => s.command.kind === 'argv' && s.command.templates.map((t) => t.source), ['ls', '-l', '{{ vars.x }}']],
    ['kill grace default', '', '{ name: a, run: "true" }', (s) => s.killGraceMs, 5000],
    ['defaults.kill_grace', 'defaults: { kill_grace: 2s }\n', '{ name: a, run: "true" }', (s) => s.killGraceMs, 2000],
    ['retry default', '', '{ name: a, run: "true" }', (s) => s.retry, { attempts: 1, delayMs: 1000, backoff: 1 }],
    ['retry: own fields beat defaults.retry, field by field', 'defaults: { retry: { attempts: 3, delay: 5s, backoff: 2 } }\n', '{ name: a, run: "true", retry: { attempts: 7, delay: 1s } }', (s) => s.retry, { attempts: 7, delayMs: 1000, backoff: 2 }],
    ['no timeout by default', '', '{ name: a, run: "true" }', (s) => s.timeoutMs, undefined],
    ['defaults.timeout', 'defaults: { timeout: 1m }\n', '{ name: a, run: "true" }', (s) => s.timeoutMs, 60_000],
    ['own timeout beats defaults.timeout', 'defaults: { timeout: 1m }\n', '{ name: a, run: "true", timeout: 3s }', (s) => s.timeoutMs, 3000],
    ['exit status decides by default', '', '{ name: a, run: "true", expect: stdout != "" }', (s) => [s.failOnExitCode, s.readsJson], [true, false]],
    ['an expect reading exit_code decides instead', '', '{ name: a, run: "true", expect: [stdout != "", exit_code < 2] }', (s) => s.failOnExitCode, false],
    ['json read by expect', '', '{ name: a, run: "true", expect: json.ok }', (s) => s.readsJson, true],
    ['json read by warn', '', '{ name: a, run: "true", warn: json.slow }', (s) => [s.readsJson, s.warn.map((w) => w.source)], [true, ['json.slow']]],
    ['json read by an output', '', '{ name: a, run: "true", outputs: { n: json.n, m: stdout } }', (s) => [s.readsJson, s.outputs.map(([k, e]) => `${k}=${e.source}`)], [true, ['n=json.n', 'm=stdout']]],
    ['expect as a list', '', '{ name: a, run: "true", expect: [stdout != "", stderr == ""] }', (s) => s.expect.map((e) => e.source), ['stdout != ""', 'stderr == ""']],
    ['flags default off', '', '{ name: a, run: "true" }', (s) => [s.continueOnError, s.readonly, s.disaster, s.when, s.confirm, s.cwd, s.rollback, s.skip], [false, false, false, undefined, undefined, undefined, undefined, undefined]],
    ['flags on', '', '{ name: a, run: "true", continue_on_error: true, readonly: true, disaster: true }', (s) => [s.continueOnError, s.readonly, s.disaster], [true, true, true]],
    ['when, confirm, cwd', '', '{ name: a, run: "true", when: vars.on, confirm: "sure {{ vars.on }}?", cwd: /tmp }', (s) => [s.when?.source, s.confirm?.source, s.cwd?.source], ['vars.on', 'sure {{ vars.on }}?', '/tmp']],
    ['id from the name, qid at the root', '', '{ name: Check the disk, run: "true" }', (s) => [s.id, s.qid, s.name.source], ['check_the_disk', 'check_the_disk', 'Check the disk']],
    ['own env, not the root env:', 'env: { ROOT: r }\n', '{ name: a, run: "true", env: { A: "{{ vars.on }}", N: 5 } }', (s) => Object.fromEntries(Object.entries(s.env).map(([k, t]) => [k, t.source])), { A: '{{ vars.on }}', N: '5' }],
  ])('%s', (_what, top, step, pick, expected) => {
    expect(pick(one(step, `vars: { on: true, x: y }\n${top}`))).toEqual(expected);
  });

  it.each<[string, string, string, unknown]>([
    ['manual', '', 'rollback: { manual: "restore {{ vars.x }} by hand" }', { kind: 'manual', text: expect.objectContaining({ source: 'restore {{ vars.x }} by hand' }) }],
    ['a command (shell)', 'defaults: { timeout: 1m }\n', 'rollback: "undo it"', { kind: 'command', command: expect.objectContaining({ kind: 'shell' }), timeoutMs: 60_000, expect: [], failOnExitCode: true, readsJson: false }],
    ['a command (argv), no timeout', '', 'rollback: [undo, it]', { kind: 'command', command: expect.objectContaining({ kind: 'argv' }), timeoutMs: undefined, expect: [], failOnExitCode: true, readsJson: false }],
    [
      'an object: its own timeout beats defaults.timeout; its expect decides',
      'defaults: { timeout: 1m }\n',
      'rollback: { run: "undo", timeout: 7s, expect: [exit_code == 0, json.ok] }',
      { kind: 'command', command: expect.objectContaining({ kind: 'shell' }), timeoutMs: 7000, expect: [expect.objectContaining({ source: 'exit_code == 0' }), expect.objectContaining({ source: 'json.ok' })], failOnExitCode: false, readsJson: true },
    ],
    [
      'an object without timeout takes defaults.timeout',
      'defaults: { timeout: 1m }\n',
      'rollback: { run: [undo], expect: stdout == "" }',
      { kind: 'command', command: expect.objectContaining({ kind: 'argv' }), timeoutMs: 60_000, expect: [expect.objectContaining({ source: 'stdout == ""' })], failOnExitCode: true, readsJson: false },
    ],
  ])('rollback: %s', (_what, top, rollback, expected) => {
    expect(one(`{ name: a, run: "do", ${rollback} }`, `vars: { x: y }\n${top}`).rollback).toEqual(expected);
  });
});

describe('other steps', () => {
  it('manual text, and parallel with its concurrency (all at once unless set)', () => {
    const p = plan('steps:\n  - { name: m, manual: "check {{ runbook.name }}" }\n  - name: g\n    parallel:\n      - { name: a, run: "true" }\n      - { name: b, run: "true" }\n      - { name: c, run: "true" }\n  - name: h\n    concurrency: 2\n    parallel:\n      - { name: d, run: "true" }\n      - { name: e, run: "true" }\n      - { name: f, run: "true" }\n');
    const [m, g, h] = p.steps;
    expect(m?.kind === 'manual' && m.text.source).toBe('check {{ runbook.name }}');
    expect(g?.kind === 'parallel' && [g.concurrency, g.children.map((c) => c.qid)]).toEqual([3, ['a', 'b', 'c']]);
    expect(h?.kind === 'parallel' && h.concurrency).toBe(2);
  });

  it('includes nest: qualified ids, their own scopes, env: of the piece under the step own, finally kept', () => {
    const p = plan(
      'vars: { n: 1 }\nsteps:\n  - { name: Outer, id: o, runbook: mid, vars: { m: "{{ vars.n + 1 }}" } }\nfinally:\n  - { name: cleanup, run: "true" }\n',
      {
        mid: 'requires: [curl]\nvars: { m: 0 }\nenv: { MID: "{{ vars.m }}", BOTH: mid }\nsteps:\n  - { name: Inner, id: i, runbook: leaf, vars: { l: "{{ vars.m * 10 }}" } }\n  - { name: own, run: "true", env: { BOTH: own } }\nfinally:\n  - { name: mid-final, run: "true" }\n',
        leaf: 'requires: [curl, jq]\nvars: { l: 0 }\nsteps:\n  - { name: leaf, run: "echo {{ vars.l }}" }\n',
      },
    );
    const o = p.steps[0] as IncludeStep;
    expect([o.kind, o.runbook, o.qid, o.inner]).toEqual(['include', 'mid', 'o', { prefix: 'o.', runbook: 'mid', vars: { m: 2 } }]);
    const i = o.children[0] as IncludeStep;
    expect([i.qid, i.id, i.inner.vars, i.children.map((c) => c.qid)]).toEqual(['o.i', 'i', { l: 20 }, ['o.i.leaf']]);
    const own = cmd(o.children[1]);
    expect(Object.fromEntries(Object.entries(own.env).map(([k, t]) => [k, t.source]))).toEqual({ MID: '{{ vars.m }}', BOTH: 'own' });
    expect(own.scope).toBe(o.inner);
    expect(o.finally.map((s) => s.qid)).toEqual(['o.mid_final']);
    expect(p.finally.map((s) => s.qid)).toEqual(['cleanup']);
    expect(p.requires.sort()).toEqual(['curl', 'jq']);
  });
});

describe('the plan itself', () => {
  it('carries the runbook fields, with UTC and the name as defaults', () => {
    const bare = plan('steps:\n  - { name: a, run: "true" }\n');
    expect([bare.runbook, bare.timezone, bare.schedule, bare.window, bare.objectives, bare.requires, bare.secrets, bare.env]).toEqual([
      { name: 'r', title: 'r', description: undefined, file: 'r.yaml' }, 'UTC', undefined, undefined, undefined, [], [], {},
    ]);
    const full = plan(
      'title: The title\ndescription: What it does\ntimezone: Europe/Helsinki\nschedule: "0 6 * * *"\nwindow: { cron: "0 5 * * *", duration: 2h }\nobjectives: { rto: 30m, rpo: 1h }\nrequires: [psql, psql]\nvars:\n  pw: { default: s3cret-1, secret: true }\n  pw2: { default: s3cret-1, secret: true }\nenv: { PGPASSWORD: "{{ vars.pw }}" }\nsteps:\n  - { name: a, run: "true" }\n',
    );
    expect(full.runbook).toEqual({ name: 'r', title: 'The title', description: 'What it does', file: 'r.yaml' });
    expect([full.timezone, full.schedule, full.window, full.objectives]).toEqual(['Europe/Helsinki', '0 6 * * *', { cron: '0 5 * * *', duration: '2h' }, { rtoMs: 1_800_000, rpoMs: 3_600_000 }]);
    expect(full.requires).toEqual(['psql']);
    expect(full.secrets).toEqual(['s3cret-1']);
    expect(full.env.PGPASSWORD!.source).toBe('{{ vars.pw }}');
    expect(full.scope).toEqual({ prefix: '', runbook: 'r', vars: { pw: 's3cret-1', pw2: 's3cret-1' } });
    expect(cmd(full.steps[0]).scope).toBe(full.scope);
  });

  it('an objective left out stays undefined', () => {
    expect(plan('objectives: { rto: 5m }\nsteps:\n  - { name: a, run: "true" }\n').objectives).toEqual({ rtoMs: 300_000, rpoMs: undefined });
  });

  it('includes the secrets of included runbooks', () => {
    const p = plan('steps:\n  - { name: inc, runbook: piece, vars: { pw: "inner-secret-9" } }\n', { piece: 'vars:\n  pw: { secret: true, required: true }\nsteps:\n  - { name: a, run: "true" }\n' });
    expect(p.secrets).toEqual(['inner-secret-9']);
  });

  it('the requires of an include that is off before the run are left out, of one on kept', () => {
    const pieces = { piece: 'requires: [kubectl]\nsteps:\n  - { name: nodes, run: "true" }\n' };
    const root = 'vars: { kube: true }\nsteps:\n  - { name: n, when: vars.kube, runbook: piece }\n';
    expect(plan(root, pieces).requires).toEqual(['kubectl']);
    expect(plan(root, pieces, { kube: 'false' }).requires).toEqual([]);
    // A when that reads what only exists while running is not known to be off.
    expect(plan('steps:\n  - { name: a, run: "true" }\n  - { name: n, when: steps.a.exit_code == 0, runbook: piece }\n', pieces).requires).toEqual(['kubectl']);
  });
});

describe('the contract', () => {
  it('plans validated runbooks only: a template validation would have refused is a bug in the caller, not a diagnostic', () => {
    // parseRunbook checks the schema; templates are checked by validation (RunbookLibrary.loadTree).
    const rb = load('r.yaml', 'steps:\n  - { name: a, run: "echo {{ vars.x" }\n');
    expect(() => buildPlan({ root: rb, runbooks: new Map(), sources: { explicit: {}, file: {}, env: {}, config: {} } })).toThrow('unchecked template: echo {{ vars.x');
  });
});
