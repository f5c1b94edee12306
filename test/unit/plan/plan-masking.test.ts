/** `maint plan` and `plan --json` show no secret, in any field, whatever form it takes there. */
import { describe, expect, it } from 'vitest';
import { formatPlan } from '../../../src/plan/format.js';
import { planToJson } from '../../../src/plan/json.js';
import { buildPlan } from '../../../src/plan/plan.js';
import { parseRunbook } from '../../../src/runbook/parse.js';

const SECRET = `Pl4n-s3cret/it's "q" 9`;
const PIN = '48151623';
const TOKEN = 'tok-from-env-Zq81';

const RUNBOOK = `vars:
  token: { secret: true, required: true }
  pin: { default: 0, secret: true }
steps:
  - name: "uses {{ duration(vars.token) }}"
    run: [printf, "%s", "{{ vars.token }}"]
  - name: literal
    run: echo ${TOKEN}
    confirm: "rotate {{ vars.token + '-' + string(vars.pin) }}?"
  - name: by hand
    manual: "type {{ vars.pin }} and {{ vars.token }}"
`;

function plan() {
  const { runbook, diagnostics } = parseRunbook('t.yaml', RUNBOOK);
  expect(diagnostics).toEqual([]);
  const built = buildPlan({ root: runbook!, runbooks: new Map(), sources: { explicit: { token: SECRET, pin: PIN }, file: {}, env: {}, config: {} } });
  expect(built.diagnostics).toEqual([]);
  const p = built.plan!;
  // As prepare.ts adds them: environment variables that are secrets by name.
  p.secrets = [...p.secrets, TOKEN];
  return p;
}

const LEAKS = [SECRET, PIN, TOKEN, SECRET.replaceAll("'", "'\\''"), JSON.stringify(SECRET).slice(1, -1)];

describe('plan previews mask every secret', () => {
  it('text: values, evaluation errors that quote a value, and the runbook text next to an environment secret', () => {
    const text = formatPlan(plan(), {});
    for (const leak of LEAKS) expect(text).not.toContain(leak);
    expect(text).toContain('uses {{ duration(vars.token) }} (error: Invalid duration string: ***)');
    expect(text).toContain("$ printf %s '***'");
    expect(text).toContain('$ echo ***');
    expect(text).toContain('confirm: rotate ***-***?');
    expect(text).toContain('manual: type *** and ***');
    expect(text).toContain('pin=***');
  });

  it('--json: every field, numbers that are secrets included', () => {
    const doc = planToJson(plan(), {});
    const json = JSON.stringify(doc);
    for (const leak of LEAKS) expect(json).not.toContain(leak);
    expect(doc.vars).toEqual({ token: '***', pin: '***' });
    const steps = doc.steps as Record<string, unknown>[];
    expect(steps.map((s) => s.name)).toEqual(['uses {{ duration(vars.token) }} (error: Invalid duration string: ***)', 'literal', 'by hand']);
    expect(steps[1]).toMatchObject({ command: 'echo ***', confirm: 'rotate ***-***?' });
  });
});

describe('planning problems quote no secret', () => {
  const diagnosticsOf = (runbooks: Record<string, string>, explicit: Record<string, string> = {}) => {
    const loaded = new Map(Object.entries(runbooks).map(([name, text]) => [name, parseRunbook(`${name}.yaml`, text).runbook!]));
    const root = loaded.get('root')!;
    const { plan: built, diagnostics } = buildPlan({ root, runbooks: loaded, sources: { explicit, file: {}, env: {}, config: {} } });
    expect(built).toBeNull();
    return diagnostics.map((d) => d.message).join('\n');
  };

  it("a secret var's default, shown as the example of its type when --var cannot be typed", () => {
    const text = diagnosticsOf({ root: 'vars:\n  pin: { default: 98765432, secret: true }\nsteps:\n  - { name: a, run: "echo {{ vars.pin }}" }\n' }, { pin: 'abcd' });
    expect(text).toMatch(/--var pin: var "pin" must be a number/);
    expect(text).not.toContain('98765432');
  });

  it('a secret passed on to an include whose var cannot take it', () => {
    const text = diagnosticsOf({
      root: 'vars:\n  top: { default: hunter2secret, secret: true }\nsteps:\n  - { name: inc, runbook: piece, vars: { n: "{{ vars.top }}" } }\n',
      piece: 'vars: { n: 1 }\nsteps:\n  - { name: p, run: "echo {{ vars.n }}" }\n',
    });
    expect(text).toMatch(/var "n" must be a number/);
    expect(text).not.toContain('hunter2secret');
  });
});
