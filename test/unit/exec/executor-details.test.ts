/** The details a log entry and later steps read: statuses, reasons, phases, durations. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SpawnResult } from '../../../src/exec/runner.js';
import { parseTemplate } from '../../../src/expr/template.js';
import { person, planOf, run } from './scripted-run.js';

/** What a finally step sees of earlier steps: its command echoes them. */
const seen = (ids: string[]) =>
  `finally:\n  - { name: f, run: "seen ${ids.map((id) => `{{ steps.${id}.status }}/{{ steps.${id}.stdout }}/{{ steps.${id}.stderr }}/{{ size(steps.${id}.outputs) }}`).join(' ')}" }\n`;

describe('what later steps read of a step', () => {
  it('statuses of manual, skipped, failed-before-running and declined steps', async () => {
    const p = person({ done: [true, false], confirm: ['no'] });
    const r = await run(
      'steps:\n  - { name: m1, manual: "do it" }\n  - { name: m2, manual: "do that" }\n  - { name: w, run: x, when: "false" }\n' +
        '  - { name: e, manual: "{{ steps.w.outputs.k }}", continue_on_error: true }\n  - { name: d, run: y, confirm: "sure?" }\n' + seen(['m1', 'm2', 'w', 'e', 'd']),
      {}, { interaction: p.interaction },
    );
    expect(r.calls).toEqual(["seen passed/''/''/0 pending/''/''/0 skipped/''/''/0 issue/''/''/0 failed/''/''/0"]);
  });

  it('steps left out by --from are skipped, with the reason', async () => {
    const plan = planOf('steps:\n  - { name: a, run: x }\n  - { name: b, run: y }\n' + seen(['a']), { from: 'b' });
    const r = await run(plan);
    expect(r.calls).toEqual(['y', "seen skipped/''/''/0"]);
    expect(r.end('a').reason).toBe(plan.steps[0]!.skip);
    expect(r.end('a').reason).toBeTruthy();
  });

  it('the runbook name and run id are readable', async () => {
    const r = await run('title: Nightly\nsteps:\n  - { name: a, run: "tag {{ runbook.name }} {{ runbook.run_id }}" }\n');
    expect(r.calls).toEqual(['tag t r1']);
  });

  it('a restored step keeps its status and outputs; steps not restored start empty', async () => {
    const plan = planOf('steps:\n  - { name: a, run: x, outputs: { v: stdout } }\n  - { name: m, manual: "check" }\n  - { name: b, run: y }\n' + seen(['a', 'm']), { from: 'b' });
    const r = await run(plan, {}, { restored: new Map([['a', { status: 'warned', outputs: { v: 1 }, stdout: 'o', stderr: 'e', exit_code: 0 }]]) });
    expect(r.calls).toEqual(['y', "seen warned/o/e/1 skipped/''/''/0"]);
  });
});

describe('statuses and reasons', () => {
  it('a passing step under continue_on_error passes', async () => {
    const r = await run('steps:\n  - { name: a, run: x, continue_on_error: true }\n  - { name: b, run: y }\n');
    expect(r.ends).toEqual(['a:passed', 'b:passed']);
  });

  it('a passed group has no reason; a failed one lists its failed children', async () => {
    const ok = await run('steps:\n  - name: g\n    parallel:\n      - { name: a, run: x }\n');
    expect(ok.end('g').reason).toBeUndefined();
    const bad = await run('steps:\n  - name: g\n    parallel:\n      - { name: a, run: x }\n      - { name: b, run: y }\n      - { name: c, run: z }\n', { x: { exitCode: 1 }, z: { exitCode: 1 } });
    expect(bad.end('g').reason).toBe('failed: a, c');
  });

  it('an interrupted child makes the group interrupted, listed as failed', async () => {
    const soft = new AbortController();
    const r = await run('steps:\n  - name: g\n    parallel:\n      - { name: a, run: x }\n', { x: () => (soft.abort(), { exitCode: null, aborted: true }) }, { signal: soft.signal });
    expect(r.end('g')).toMatchObject({ status: 'interrupted', reason: 'failed: a' });
  });

  it('a failure in a parallel group is not undone by a sibling that passes later', async () => {
    let release!: () => void;
    const later = new Promise<void>((r) => (release = r));
    const r = await run('steps:\n  - name: g\n    parallel:\n      - { name: a, run: x }\n      - { name: b, run: y }\n', {
      x: () => (setImmediate(release), { exitCode: 1 }),
      y: async (): Promise<Partial<SpawnResult>> => (await later, {}),
    });
    expect(r.ends).toEqual(['a:failed', 'b:passed', 'g:failed']);
    expect(r.result.exitCode).toBe(1);
  });

  it('a failing step of an include finally does not stop the rest of it', async () => {
    const plan = planOf('steps:\n  - { name: sub, runbook: inner }\n', { runbooks: { inner: 'steps:\n  - { name: a, run: a }\nfinally:\n  - { name: f1, run: f1 }\n  - { name: f2, run: f2 }\n' } });
    const r = await run(plan, { f1: { exitCode: 1 } });
    expect(r.calls).toEqual(['a', 'f1', 'f2']);
    expect(r.status('sub')).toBe('failed');
  });

  it('a confirm in finally that nobody can answer: that step is not run, the rest is, the run does not pause and does not pass', async () => {
    const r = await run('steps:\n  - { name: a, run: a }\nfinally:\n  - { name: f1, run: f1, confirm: "scale down?" }\n  - { name: f2, run: f2 }\n');
    expect(r.calls).toEqual(['a', 'f2']);
    expect(r.end('f1')).toMatchObject({ status: 'failed', reason: 'not run: waits for confirmation: scale down? (unattended: run with --yes)' });
    expect(r.result).toEqual({ status: 'failed', exitCode: 1, pausedAt: undefined });
  });

  it('every step that ran, or failed before running, has a start event; skipped ones do not', async () => {
    const p = person({ done: [true] });
    const r = await run(
      'steps:\n  - { name: m, manual: "x" }\n  - name: g\n    parallel:\n      - { name: a, run: x }\n  - { name: e, manual: "{{ steps.m.outputs.k }}", continue_on_error: true }\n  - { name: s, run: y, when: "false" }\n',
      {}, { interaction: p.interaction },
    );
    expect(r.trace).toEqual(['run:start', 'start:m', 'end:m:passed', 'start:g', 'start:a', 'end:a:passed', 'end:g:passed', 'start:e', 'end:e:issue', 'end:s:skipped', 'run:end']);
    expect(r.events.filter((e) => e.type === 'step:start').map((e) => e.type === 'step:start' && e.phase)).toEqual(['steps', 'steps', 'steps', 'steps']);
  });

  it('steps skipped because the runbook env failed are in the steps phase; every env error is named', async () => {
    const plan = planOf('steps:\n  - { name: a, run: x }\n');
    plan.env = { A: parseTemplate('{{ env.NOPE }}').template!, B: parseTemplate('{{ env.NADA }}').template! };
    const r = await run(plan);
    expect(r.end('a')).toMatchObject({ phase: 'steps', reason: expect.stringMatching(/env\.A: .*; env\.B: /) });
  });

  it('a name that cannot be rendered is shown as written when the step is skipped or its when fails', async () => {
    const r = await run(
      'steps:\n  - { name: m, manual: x }\n  - { name: "s {{ steps.m.outputs.k }}", id: s, run: y, when: "false" }\n' +
        '  - { name: "w {{ steps.m.outputs.k }}", id: w, run: y, when: "steps.m.outputs.k", continue_on_error: true }\n' +
        '  - { name: b, run: b }\n',
    );
    expect([r.end('s').name, r.end('w').name]).toEqual(['s {{ steps.m.outputs.k }}', 'w {{ steps.m.outputs.k }}']);
  });

  it('a secret in a rollback reason is masked', async () => {
    const r = await run('vars:\n  pw: { secret: true, default: Canary-r0ll }\nsteps:\n  - name: a\n    run: x\n    rollback: { run: undo, expect: \'stdout == "Canary-r0ll"\' }\n  - { name: b, run: y }\n', { y: { exitCode: 1 } });
    expect(r.events.find((e) => e.type === 'rollback:end')).toMatchObject({ ok: false, reason: 'expected stdout == "***"' });
  });
});

describe('durations', () => {
  afterEach(() => void vi.restoreAllMocks());

  it('come from the clock: steps, rollbacks and the run', async () => {
    let now = 1_000_000;
    vi.spyOn(Date, 'now').mockImplementation(() => now);
    const tick = (ms: number) => () => ((now += ms), {});
    const r = await run('steps:\n  - { name: a, run: x, rollback: undo }\n  - { name: b, run: y }\n', { x: tick(500), y: () => ((now += 200), { exitCode: 1 }), undo: tick(50) });
    expect(r.end('a').durationMs).toBe(500);
    expect(r.end('b').durationMs).toBe(200);
    expect(r.events.find((e) => e.type === 'rollback:end')).toMatchObject({ durationMs: 50 });
    expect(r.events.at(-1)).toMatchObject({ type: 'run:end', durationMs: 750, time: 1_000_750 });
    expect(r.events[0]).toMatchObject({ type: 'run:start', time: 1_000_000 });
  });
});
