/**
 * Planning checks every scope's vars and `env:` before it builds anything, and reports every
 * problem as `line:col: path: message`: no input makes buildPlan throw.
 */
import { describe, expect, it } from 'vitest';
import { buildPlan, type PlanInput, type PlanResult } from '../../../src/plan/plan.js';
import type { VarSources } from '../../../src/plan/vars.js';
import { parseRunbook, type LoadedRunbook } from '../../../src/runbook/parse.js';

function load(file: string, text: string): LoadedRunbook {
  const { runbook, diagnostics } = parseRunbook(file, text);
  expect(diagnostics).toEqual([]);
  return runbook!;
}

/** Runbooks by file name (`r.yaml` is the root), sources → each diagnostic as `file:line:col: path: message`. */
function problems(files: Record<string, string>, sources: Partial<VarSources> = {}, extra: Partial<PlanInput> = {}): string[] {
  const runbooks = new Map(Object.entries(files).map(([file, text]) => [file.replace(/\.yaml$/, ''), load(file, text)]));
  const root = runbooks.get('r')!;
  let result: PlanResult | undefined;
  expect(() => {
    result = buildPlan({ root, runbooks, sources: { explicit: {}, file: {}, env: {}, config: {}, ...sources }, ...extra });
  }).not.toThrow();
  const { plan, diagnostics } = result!;
  expect(plan === null).toBe(diagnostics.length > 0);
  return diagnostics.map((d) => `${d.file}:${d.line}:${d.col}: ${d.path}: ${d.message}`);
}

const REQ = 'vars:\n  url: { required: true, env: URL_X }\n';
const PIECE = 'piece.yaml';
const piece = (vars: string, steps = '  - { name: use, run: "echo {{ vars.target }}" }\n') => `vars:\n${vars}steps:\n${steps}`;

describe('phase one: every scope is checked before the plan is built, every problem at once', () => {
  it.each<[string, Record<string, string>, Partial<VarSources>, string[]]>([
    [
      'a missing var that an include reads is reported once, with how to set it (was: ExprError "No such key")',
      { 'r.yaml': `${REQ}steps:\n  - { name: inc, runbook: piece, vars: { target: "{{ vars.url }}" } }\n`, [PIECE]: piece('  target: { required: true }\n') },
      {},
      ['r.yaml:2:3: vars.url: required var "url" is not set (set it with --var url=… or the URL_X environment variable)'],
    ],
    [
      'a default built from a missing var is not reported again',
      { 'r.yaml': `${REQ}  other: "{{ vars.url }}/x"\nsteps:\n  - { name: a, run: "echo {{ vars.other }}" }\n` },
      {},
      ['r.yaml:2:3: vars.url: required var "url" is not set (set it with --var url=… or the URL_X environment variable)'],
    ],
    [
      'a default reading an unset environment variable is positioned at the default',
      { 'r.yaml': 'vars:\n  home: { default: "{{ env.NOPE }}/x" }\nsteps:\n  - { name: a, run: "true" }\n' },
      {},
      ['r.yaml:2:24: vars.home.default: {{ env.NOPE }}: the environment variable NOPE is not set (write env.?NOPE.orValue("…") where it may be unset)'],
    ],
    [
      'a non-number --var into a numeric var that flows into an include: one problem, not "no such overload"',
      {
        'r.yaml': 'vars:\n  pct: 85\nsteps:\n  - { name: inc, runbook: piece, vars: { target: "{{ vars.pct + 1 }}" } }\n',
        [PIECE]: piece('  target: 1\n'),
      },
      { explicit: { pct: 'abc' } },
      ['r.yaml:2:3: vars.pct: --var pct: var "pct" must be a number like the default (85), not "abc"'],
    ],
    [
      'a --var past the float range into a numeric var (was: n=null in the plan, "Infinity" in the command)',
      { 'r.yaml': 'vars:\n  n: 1\nsteps:\n  - { name: a, run: "echo {{ vars.n }}" }\n' },
      { explicit: { n: '1e999' } },
      ['r.yaml:2:3: vars.n: --var n: var "n" must be a number like the default (1), not "1e999"'],
    ],
    [
      "an include's vars reading an unset environment variable (was: crash)",
      { 'r.yaml': 'steps:\n  - { name: inc, runbook: piece, vars: { target: "{{ env.NOPE }}" } }\n', [PIECE]: piece('  target: x\n') },
      {},
      ['r.yaml:2:54: steps[0].vars.target: {{ env.NOPE }}: the environment variable NOPE is not set (write env.?NOPE.orValue("…") where it may be unset)'],
    ],
    [
      "an include's vars cannot read steps",
      {
        'r.yaml': 'steps:\n  - { name: a, run: "true" }\n  - { name: inc, runbook: piece, vars: { target: "{{ steps.a.stdout }}" } }\n',
        [PIECE]: piece('  target: x\n'),
      },
      {},
      ['r.yaml:3:50: steps[1].vars.target: is resolved before the run starts: it may read vars and env, not steps'],
    ],
    [
      'the root env: reading an unset variable is exit 2 at plan time (was: plan passed, run crashed)',
      { 'r.yaml': 'env:\n  TOKEN: "{{ env.NOPE_TOKEN }}"\n  OK: "{{ env.HOME }}"\nsteps:\n  - { name: a, run: "true" }\n' },
      { env: { HOME: '/home/x' } },
      ['r.yaml:2:14: env.TOKEN: {{ env.NOPE_TOKEN }}: the environment variable NOPE_TOKEN is not set (write env.?NOPE_TOKEN.orValue("…") where it may be unset)'],
    ],
    [
      "an included runbook's env: is checked with its own vars",
      {
        'r.yaml': 'steps:\n  - { name: inc, runbook: piece, vars: { target: "{{ 10 / 2 }}" } }\n',
        [PIECE]: 'vars:\n  target: 1\nenv:\n  RATIO: "{{ 100 / (vars.target - 5) }}"\nsteps:\n  - { name: use, run: "true" }\n',
      },
      {},
      ['piece.yaml:4:14: env.RATIO: {{ 100 / (vars.target - 5) }}: division by zero'],
    ],
    [
      'an include that does not pass a required var is reported at the include step',
      { 'r.yaml': 'steps:\n  - { name: inc, runbook: piece }\n', [PIECE]: piece('  target: { required: true, env: TARGET }\n') },
      {},
      ['r.yaml:2:5: steps[0]: included runbook "piece" needs var "target" (set it with vars: { target: … } on this step or the TARGET environment variable)'],
    ],
    [
      "an include's value that cannot be typed is reported where the include passes it",
      { 'r.yaml': 'steps:\n  - { name: inc, runbook: piece, vars: { target: "lots" } }\n', [PIECE]: piece('  target: 5\n') },
      {},
      ['r.yaml:2:42: steps[0].vars.target: runbook "piece": var "target" must be a number like the default (5), not "lots"'],
    ],
    [
      'a problem deep in nested includes is found too, and only once',
      {
        'r.yaml': 'steps:\n  - { name: mid, runbook: mid }\n',
        'mid.yaml': 'vars:\n  n: 0\nsteps:\n  - { name: inc, runbook: piece, vars: { target: "{{ 1 / vars.n }}" } }\n',
        [PIECE]: piece('  target: 1\n  twice: "{{ vars.target * 2 }}"\n'),
      },
      {},
      ['mid.yaml:4:54: steps[0].vars.target: {{ 1 / vars.n }}: division by zero'],
    ],
    [
      'an include that is off before the run starts (when: false) is not checked',
      {
        'r.yaml': 'vars:\n  kube: false\nsteps:\n  - { name: inc, when: vars.kube, runbook: piece, vars: { target: "{{ env.KUBECONFIG }}" } }\n',
        [PIECE]: piece('  target: { required: true }\n'),
      },
      {},
      [],
    ],
    [
      'NUL bytes in --var, --vars-file, env and config values',
      { 'r.yaml': 'vars:\n  a: x\n  b: x\n  c: { default: x, env: C_VAR }\n  d: [x]\nsteps:\n  - { name: s, run: "true" }\n' },
      { explicit: { a: 'x\0y' }, file: { b: 'x\0' }, env: { C_VAR: '\0' }, config: { d: ['ok', 'n\0'] } },
      [
        'r.yaml:2:3: vars.a: --var a: var "a" contains a NUL byte, which no command or environment can carry',
        'r.yaml:3:3: vars.b: --vars-file: var "b" contains a NUL byte, which no command or environment can carry',
        'r.yaml:4:3: vars.c: $C_VAR: var "c" contains a NUL byte, which no command or environment can carry',
        'r.yaml:5:3: vars.d: config vars: var "d" contains a NUL byte, which no command or environment can carry',
      ],
    ],
    [
      'unknown --vars-file keys name the file and the key, with a suggestion',
      { 'r.yaml': 'vars:\n  namespace: x\nsteps:\n  - { name: s, run: "true" }\n' },
      { file: { namespce: 'y', zzz: 1 }, fileOrigin: { path: 'vars.yaml', keyAt: (k) => (k === 'zzz' ? { line: 2, col: 1 } : undefined) } },
      [
        'vars.yaml:1:1: namespce: runbook "r" declares no var "namespce"; did you mean "namespace"?',
        'vars.yaml:2:1: zzz: runbook "r" declares no var "zzz"',
      ],
    ],
    [
      'a string from --vars-file or config is typed like the default',
      { 'r.yaml': 'vars:\n  n: 5\n  on: false\nsteps:\n  - { name: s, run: "true" }\n' },
      { file: { n: 'many' }, config: { on: 'maybe' } },
      [
        'r.yaml:2:3: vars.n: --vars-file: var "n" must be a number like the default (5), not "many"',
        'r.yaml:3:3: vars.on: config vars: var "on" must be true or false, not "maybe"',
      ],
    ],
    [
      'a secret that cannot be typed is not echoed, nor is its default',
      { 'r.yaml': 'vars:\n  pin: { default: 1234, secret: true }\nsteps:\n  - { name: s, run: "true" }\n' },
      { explicit: { pin: 'hunter2' } },
      ['r.yaml:2:3: vars.pin: --var pin: var "pin" must be a number like the default (***)'],
    ],
    [
      'a runbook that includes itself is refused, not silently cut off',
      { 'r.yaml': 'steps:\n  - { name: loop, runbook: r }\n' },
      {},
      ['r.yaml:2:28: steps[0].runbook: includes nested more than 20 deep (does "r" include itself?)'],
    ],
    [
      'an include of a runbook that is not there',
      { 'r.yaml': 'steps:\n  - { name: inc, runbook: gone }\n' },
      {},
      ['r.yaml:2:27: steps[0].runbook: no runbook "gone" to include'],
    ],
  ])('%s', (_what, files, sources, expected) => {
    expect(problems(files, sources)).toEqual(expected);
  });

  it('every missing var of the root is listed, each with its --var and environment variable', () => {
    const out = problems({ 'r.yaml': 'vars:\n  a: { required: true, env: A_ENV }\n  b: { required: true }\n  c: { required: true, env: C_ENV, secret: true }\nsteps:\n  - { name: s, run: "true" }\n' });
    expect(out).toEqual([
      'r.yaml:2:3: vars.a: required var "a" is not set (set it with --var a=… or the A_ENV environment variable)',
      'r.yaml:3:3: vars.b: required var "b" is not set (set it with --var b=…)',
      'r.yaml:4:3: vars.c: required var "c" is not set (set it with --var c=… or the C_ENV environment variable)',
    ]);
  });

  it('reads process.env itself in include vars and env: (Node 20 refused it)', () => {
    const runbooks = new Map([
      ['r', load('r.yaml', 'env:\n  WHERE: "{{ env.PATH }}"\nsteps:\n  - { name: inc, runbook: piece, vars: { target: "{{ env.PATH }}" } }\n')],
      ['piece', load(PIECE, piece('  target: x\n'))],
    ]);
    const { plan, diagnostics } = buildPlan({ root: runbooks.get('r')!, runbooks, sources: { explicit: {}, file: {}, env: process.env, config: {} } });
    expect(diagnostics).toEqual([]);
    const inc = plan!.steps[0]!;
    expect(inc.kind === 'include' && inc.inner.vars.target).toBe(process.env.PATH);
  });

  it('has(env.X) and env.?X keep working where an unset variable is expected', () => {
    const out = problems(
      {
        'r.yaml': 'vars:\n  cfg: { default: "{{ has(env.KUBECONFIG) ? env.KUBECONFIG : \'none\' }}" }\n  b: { default: "{{ env.?HOMEDIR.orValue(\'/\') }}" }\nsteps:\n  - { name: s, run: "true" }\n',
      },
      {},
    );
    expect(out).toEqual([]);
  });
});

describe('--only and --from', () => {
  const files = {
    'r.yaml': 'steps:\n  - { name: Check disk, id: disk, run: "true" }\n  - { name: Backup, runbook: piece, vars: { target: x } }\n  - { name: Check disk, id: disk2, run: "true" }\n',
    [PIECE]: piece('  target: x\n', '  - { name: Snapshot now, id: snap, run: "true" }\n'),
  };
  const skips = (extra: Partial<PlanInput>) => {
    const runbooks = new Map(Object.entries(files).map(([f, t]) => [f.replace(/\.yaml$/, ''), load(f, t)]));
    const { plan, diagnostics } = buildPlan({ root: runbooks.get('r')!, runbooks, sources: { explicit: {}, file: {}, env: {}, config: {} }, ...extra });
    return plan ? plan.steps.map((s) => `${s.qid}:${s.skip ? 'skip' : 'run'}`) : diagnostics.map((d) => d.message);
  };

  it.each<[Partial<PlanInput>, string[]]>([
    [{ only: 'disk2' }, ['disk:skip', 'backup:skip', 'disk2:run']],
    [{ only: 'backup.snap' }, ['disk:skip', 'backup:run', 'disk2:skip']],
    [{ only: 'snap' }, ['disk:skip', 'backup:run', 'disk2:skip']],
    [{ only: 'Snapshot now' }, ['disk:skip', 'backup:run', 'disk2:skip']],
    [{ only: 'snapshot NOW' }, ['disk:skip', 'backup:run', 'disk2:skip']],
    [{ from: 'Backup' }, ['disk:skip', 'backup:run', 'disk2:run']],
    [{ from: 'Check disk' }, ['--from Check disk: 2 steps have this name; name one by its id: disk, disk2']],
    [{ only: 'dsk2' }, ['--only dsk2: no such step; did you mean "disk2"?']],
    [{ only: 'xyzzy-nothing' }, ['--only xyzzy-nothing: no such step (step ids: disk, backup, backup.snap, disk2)']],
    [{ only: 'nope-a', from: 'nope-b' }, ['--from nope-b: no such step (step ids: disk, backup, backup.snap, disk2)', '--only nope-a: no such step (step ids: disk, backup, backup.snap, disk2)']],
  ])('%j', (extra, expected) => {
    expect(skips(extra)).toEqual(expected);
  });

  it('reports an unknown step together with the problems of the vars', () => {
    const out = problems({ 'r.yaml': `${REQ}steps:\n  - { name: a, run: "true" }\n` }, {}, { only: 'b' });
    expect(out).toEqual([
      'r.yaml:2:3: vars.url: required var "url" is not set (set it with --var url=… or the URL_X environment variable)',
      'r.yaml:1:1: : --only b: no such step; did you mean "a"?',
    ]);
  });
});
