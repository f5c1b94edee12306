/**
 * execute() is total: whatever a step's templates and expressions do at run time (missing keys,
 * division by zero, type mismatches, null json, non-bool results), the run ends with a result,
 * every step is accounted for, and no secret leaks.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { person, planOf, run, unattended } from './scripted-run.js';

const SECRET = 'Canary-91xq';

/** Values at run time: `a` printed {"k":1,"zero":0,"s":"text","pw":<secret>}. */
const values = [
  'steps.a.outputs.o.k', // fine
  'steps.a.outputs.o.nope', // missing key
  '10 / int(steps.a.outputs.o.zero)', // division by zero
  'steps.a.outputs.o.s + 1', // type mismatch (dyn)
  'steps.a.outputs.o.pw', // a secret, printed by a command
  'vars.pw', // a secret var
];
/** Bool positions (when, expect, warn) also read the command's own result. */
const bools = [...values.map((v) => `${v} == 1`), 'json.items.size() > 0', 'stdout', 'true', 'false', 'exit_code == 0'];
const afterValues = [...values, 'json.count', 'int(stdout)'];

const tmpl = (v: string) => `x {{ ${v} }}`;

const stepArb = fc.record(
  {
    name: fc.constantFrom(...values),
    kind: fc.constantFrom('run', 'argv', 'manual'),
    run: fc.constantFrom(...values),
    confirm: fc.constantFrom(...values),
    cwd: fc.constantFrom(...values),
    env: fc.constantFrom(...values),
    when: fc.constantFrom(...bools),
    expect: fc.constantFrom(...bools),
    warn: fc.constantFrom(...bools),
    output: fc.constantFrom(...afterValues),
    rollback: fc.constantFrom(...values),
    manualRollback: fc.boolean(),
    continueOnError: fc.boolean(),
    exit: fc.constantFrom(0, 0, 1),
    stdout: fc.constantFrom('', '{"items": [1]}', 'plain', '7', SECRET),
  },
  { requiredKeys: ['name', 'kind', 'run', 'exit', 'stdout'] },
);

type StepSpec = typeof stepArb extends fc.Arbitrary<infer T> ? T : never;

function runbook(steps: StepSpec[], fin: boolean): string {
  const lines = [
    `vars:\n  pw: { secret: true, default: ${SECRET} }`,
    'steps:',
    '  - { name: a, run: do-a, outputs: { o: json } }',
  ];
  steps.forEach((s, i) => {
    const f: Record<string, unknown> = { name: tmpl(s.name), id: `s${i}` };
    if (s.kind === 'manual') f.manual = tmpl(s.run);
    else f.run = s.kind === 'argv' ? ['cmd', tmpl(s.run)] : `cmd${i} {{ ${s.run} }}`;
    if (s.confirm) f.confirm = tmpl(s.confirm);
    if (s.when) f.when = s.when;
    if (s.kind !== 'manual') {
      if (s.cwd) f.cwd = tmpl(s.cwd);
      if (s.env) f.env = { V: tmpl(s.env) };
      if (s.expect) f.expect = s.expect;
      if (s.warn) f.warn = s.warn;
      if (s.output) f.outputs = { out: s.output };
      if (s.rollback) f.rollback = s.manualRollback ? { manual: tmpl(s.rollback) } : `undo {{ ${s.rollback} }}`;
    }
    if (s.continueOnError) f.continue_on_error = true;
    lines.push(`  - ${JSON.stringify(f)}`);
  });
  if (fin) lines.push('finally:', `  - ${JSON.stringify({ name: tmpl(values[1]!), run: 'fin {{ steps.a.outputs.o.nope }}' })}`, '  - { name: fin2, run: fin2 }');
  return `${lines.join('\n')}\n`;
}

describe('execute is total', () => {
  it('ends every run with a result, accounts for every step, leaks no secret', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 4 }), fc.boolean(), fc.boolean(), async (steps, fin, attended) => {
        const plan = planOf(runbook(steps, fin));
        const scripts: Record<string, { exitCode: number; stdout: string }> = {
          'do-a': { exitCode: 0, stdout: `{"k": 1, "zero": 0, "s": "text", "pw": "${SECRET}"}` },
        };
        const p = person({ confirm: ['yes', 'yes', 'no'], done: [true] });
        const r = await run(plan, new Proxy(scripts, {
          get: (t, key: string) => t[key] ?? { exitCode: steps[Number(/^cmd(\d)/.exec(key)?.[1] ?? -1)]?.exit ?? 0, stdout: steps[Number(/^cmd(\d)/.exec(key)?.[1] ?? -1)]?.stdout ?? '' },
        }), { interaction: attended ? p.interaction : { ...unattended, yes: true } });
        expect([0, 1, 3, 5]).toContain(r.result.exitCode);
        expect(r.events.at(-1)!.type).toBe('run:end');
        if (r.result.exitCode !== 5) {
          for (const q of ['a', ...steps.map((_, i) => `s${i}`)]) expect(r.status(q), q).toBeDefined();
          if (fin) expect(r.status('fin2')).toBe('passed');
        }
        expect(JSON.stringify(r.events)).not.toContain(SECRET);
        expect(JSON.stringify(p.asked)).not.toContain(SECRET);
      }),
      { numRuns: 60 },
    );
  });
});
