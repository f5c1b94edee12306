/** `runbook.run_id` exists once the run starts: a value fixed before that cannot read it. */
import { describe, expect, it } from 'vitest';
import { buildPlan } from '../../../src/plan/plan.js';
import { parseRunbook } from '../../../src/runbook/parse.js';

function planOf(runbooks: Record<string, string>) {
  const loaded = new Map(Object.entries(runbooks).map(([name, text]) => [name, parseRunbook(`${name}.yaml`, text).runbook!]));
  return buildPlan({ root: loaded.get('root')!, runbooks: loaded, sources: { explicit: {}, file: {}, env: {}, config: {} } });
}

describe('runbook.run_id at plan time', () => {
  it('a var default reading it is a positioned problem, not an empty string', () => {
    const { plan, diagnostics } = planOf({ root: 'vars:\n  rid: "{{ runbook.run_id }}"\nsteps:\n  - { name: a, run: "echo {{ vars.rid }}" }\n' });
    expect(plan).toBeNull();
    expect(diagnostics).toMatchObject([{ file: 'root.yaml', line: 2, message: expect.stringMatching(/runbook\.run_id is known only once the run starts/) }]);
  });

  it('include vars reading it are a positioned problem', () => {
    const { plan, diagnostics } = planOf({
      root: 'steps:\n  - { name: inc, runbook: piece, vars: { rid: "{{ runbook.run_id }}" } }\n',
      piece: 'vars: { rid: "" }\nsteps:\n  - { name: p, run: "echo {{ vars.rid }}" }\n',
    });
    expect(plan).toBeNull();
    expect(diagnostics).toMatchObject([{ file: 'root.yaml', line: 2, message: expect.stringMatching(/runbook\.run_id is known only once the run starts/) }]);
  });

  it('the runbook env and steps read it at run time, where it exists', () => {
    const { plan, diagnostics } = planOf({ root: 'env:\n  RID: "{{ runbook.run_id }}"\nsteps:\n  - { name: a, run: "echo {{ runbook.run_id }} {{ runbook.name }}" }\n' });
    expect(diagnostics).toEqual([]);
    expect(plan).not.toBeNull();
  });
});
