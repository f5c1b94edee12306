import { describe, expect, it } from 'vitest';
import { buildPlan } from '../../../src/plan/plan.js';
import { formatPlan } from '../../../src/plan/format.js';
import { parseRunbook, type LoadedRunbook } from '../../../src/runbook/parse.js';

function load(file: string, text: string): LoadedRunbook {
  const { runbook, diagnostics } = parseRunbook(file, text);
  expect(diagnostics).toEqual([]);
  return runbook!;
}

const sources = { explicit: {}, file: {}, env: {}, config: {} };

describe('buildPlan', () => {
  it('applies defaults, merges retry field by field, and marks steps whose expect reads exit_code', () => {
    const rb = load('r.yaml', `defaults:
  timeout: 5m
  retry: { attempts: 3, delay: 2s }
steps:
  - name: a
    run: "true"
    retry: { backoff: 2 }
  - name: b
    run: [ls, /]
    timeout: 10s
    expect: exit_code in [0, 1]
`);
    const { plan } = buildPlan({ root: rb, runbooks: new Map(), sources });
    const a = plan!.steps[0]!;
    const b = plan!.steps[1]!;
    expect(a.kind === 'command' && [a.timeoutMs, a.retry, a.failOnExitCode]).toEqual([300_000, { attempts: 3, delayMs: 2000, backoff: 2 }, true]);
    expect(b.kind === 'command' && [b.timeoutMs, b.failOnExitCode]).toEqual([10_000, false]);
  });

  it('expands includes with their own scope and qualified ids', () => {
    const outer = load('outer.yaml', 'vars:\n  ns: prod\nsteps:\n  - name: Daily too\n    id: daily\n    runbook: piece\n    vars: { target: "{{ vars.ns }}" }\n');
    const piece = load('piece.yaml', 'vars:\n  target: x\n  other: "{{ vars.target }}-2"\nsteps:\n  - { name: disk, run: "df {{ vars.other }}" }\n');
    const { plan, diagnostics } = buildPlan({ root: outer, runbooks: new Map([['piece', piece]]), sources });
    expect(diagnostics).toEqual([]);
    const inc = plan!.steps[0]!;
    expect(inc.kind).toBe('include');
    if (inc.kind !== 'include') return;
    expect(inc.inner.vars).toEqual({ target: 'prod', other: 'prod-2' });
    expect(inc.children.map((c) => c.qid)).toEqual(['daily.disk']);
    expect(formatPlan(plan!, {})).toContain("$ df prod-2");
  });

  it("gives an included runbook's steps its env and adds its requires to the plan's", () => {
    const outer = load('outer.yaml', 'requires: [curl]\nsteps:\n  - { name: Backup, id: b, runbook: piece, vars: { pw: s3cret-pw } }\n');
    const piece = load(
      'piece.yaml',
      'requires: [restic, curl]\nvars:\n  pw: x\nenv: { RESTIC_PASSWORD: "{{ vars.pw }}", KEEP: outer }\nsteps:\n  - { name: snap, run: "restic snapshots", env: { KEEP: own } }\n',
    );
    const { plan } = buildPlan({ root: outer, runbooks: new Map([['piece', piece]]), sources });
    const inc = plan!.steps[0]!;
    const snap = inc.kind === 'include' ? inc.children[0]! : undefined;
    expect(snap?.kind === 'command' && Object.keys(snap.env).sort()).toEqual(['KEEP', 'RESTIC_PASSWORD']);
    expect(snap?.kind === 'command' && snap.env.KEEP!.segments).toEqual([{ kind: 'text', text: 'own' }]);
    expect(plan!.requires.sort()).toEqual(['curl', 'restic']);
  });

  it("leaves out the requires of an include that vars turn off before the run", () => {
    const outer = load('outer.yaml', 'vars:\n  kube: true\nsteps:\n  - { name: Nodes, id: n, when: vars.kube, runbook: piece }\n');
    const piece = load('piece.yaml', 'requires: [kubectl]\nsteps:\n  - { name: nodes, run: "kubectl get nodes" }\n');
    const on = buildPlan({ root: outer, runbooks: new Map([['piece', piece]]), sources });
    const off = buildPlan({ root: outer, runbooks: new Map([['piece', piece]]), sources: { ...sources, explicit: { kube: 'false' } } });
    expect(on.plan!.requires).toEqual(['kubectl']);
    expect(off.plan!.requires).toEqual([]);
  });

  it('types --var lists (JSON or commas) and maps, and reports values that cannot be typed, all at once', () => {
    const rb = load('r.yaml', 'vars:\n  urls: [a]\n  labels: { default: { app: x } }\n  limit: 85\n  on: false\nsteps:\n  - { name: a, run: "true" }\n');
    const ok = buildPlan({ root: rb, runbooks: new Map(), sources: { ...sources, explicit: { urls: 'http://a, http://b', labels: '{"app":"api"}' } } });
    expect(ok.plan!.scope.vars).toMatchObject({ urls: ['http://a', 'http://b'], labels: { app: 'api' } });
    const json = buildPlan({ root: rb, runbooks: new Map(), sources: { ...sources, explicit: { urls: '["x,y"]' } } });
    expect(json.plan!.scope.vars.urls).toEqual(['x,y']);
    const bad = buildPlan({ root: rb, runbooks: new Map(), sources: { ...sources, explicit: { limit: 'lots', on: 'yes', labels: '[1]' } } });
    expect(bad.plan).toBeNull();
    expect(bad.diagnostics.map((d) => d.message)).toEqual([
      '--var labels: var "labels" must be a JSON object, not "[1]"',
      '--var limit: var "limit" must be a number like the default (85), not "lots"',
      '--var on: var "on" must be true or false, not "yes"',
    ]);
  });

  it('reports a missing required var and an unknown --var together', () => {
    const rb = load('r.yaml', 'vars:\n  url: { required: true, env: URL_X }\nsteps:\n  - { name: a, run: "true" }\n');
    const { plan, diagnostics } = buildPlan({ root: rb, runbooks: new Map(), sources: { ...sources, explicit: { nope: '1' } } });
    expect(plan).toBeNull();
    expect(diagnostics.map((d) => d.message)).toEqual([
      '--var nope: runbook "r" declares no var "nope"',
      'required var "url" is not set (set it with --var url=… or the URL_X environment variable)',
    ]);
  });

  it('types --var values like the default, and collects secrets', () => {
    const rb = load('r.yaml', 'vars:\n  limit: 85\n  on: false\n  pw: { secret: true, env: PW }\nsteps:\n  - { name: a, run: "true" }\n');
    const { plan } = buildPlan({ root: rb, runbooks: new Map(), sources: { ...sources, explicit: { limit: '90', on: 'true' }, env: { PW: 'sekrit-1' } } });
    expect(plan!.scope.vars).toEqual({ limit: 90, on: true, pw: 'sekrit-1' });
    expect(plan!.secrets).toEqual(['sekrit-1']);
  });

  it('--from skips the steps before, --only keeps a nested step and its group', () => {
    const rb = load('r.yaml', 'steps:\n  - { name: a, run: "true" }\n  - name: g\n    parallel:\n      - { name: p1, run: "true" }\n      - { name: p2, run: "true" }\n  - { name: c, run: "true" }\n');
    const from = buildPlan({ root: rb, runbooks: new Map(), sources, from: 'g' }).plan!;
    expect(from.steps.map((s) => s.skip ?? 'run')).toEqual(['before --from g', 'run', 'run']);
    const rb2 = load('r.yaml', 'steps:\n  - { name: a, run: "true" }\n  - name: g\n    parallel:\n      - { name: p1, run: "true" }\n      - { name: p2, run: "true" }\n  - { name: c, run: "true" }\n');
    const only = buildPlan({ root: rb2, runbooks: new Map(), sources, only: 'p2' }).plan!;
    const g = only.steps[1]!;
    expect(only.steps.map((s) => s.skip ?? 'run')).toEqual(['not --only p2', 'run', 'not --only p2']);
    expect(g.kind === 'parallel' && g.children.map((s) => s.skip ?? 'run')).toEqual(['not --only p2', 'run']);
  });
});
