/** Groups: parallel (bounded or not) and included runbooks with their own finally. */
import { describe, expect, it } from 'vitest';
import type { SpawnResult } from '../../../src/exec/runner.js';
import { person, planOf, run } from './scripted-run.js';

/** A gate: scripted commands wait until it opens; counts how many run at once. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  let running = 0;
  let most = 0;
  const script = async (): Promise<Partial<SpawnResult>> => {
    running++;
    most = Math.max(most, running);
    await opened;
    running--;
    return {};
  };
  return { script, open: () => open(), most: () => most, running: () => running };
}

const par = (n: number, extra = '') =>
  `steps:\n  - name: g\n    ${extra}parallel:\n${Array.from({ length: n }, (_, i) => `      - { name: p${i}, run: p${i} }\n`).join('')}`;

describe('parallel', () => {
  it('without concurrency runs every child at once', async () => {
    const g = gate();
    const scripts = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`p${i}`, g.script]));
    const running = run(par(6), scripts);
    await vi_waitFor(() => g.running() === 6);
    g.open();
    const r = await running;
    expect(g.most()).toBe(6);
    expect(r.status('g')).toBe('passed');
  });

  it('concurrency bounds how many run at once', async () => {
    const g = gate();
    const scripts = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`p${i}`, g.script]));
    const running = run(par(5, 'concurrency: 2\n    '), scripts);
    await vi_waitFor(() => g.running() === 2);
    g.open();
    const r = await running;
    expect(g.most()).toBe(2);
    expect(r.calls.sort()).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
  });

  it('a failed child: children not yet started are skipped, the group fails, the run stops', async () => {
    const r = await run(par(3, 'concurrency: 1\n    ') + '  - { name: after, run: after }\n', { p0: { exitCode: 1 } });
    expect(r.calls).toEqual(['p0']);
    expect(r.ends).toEqual(['p0:failed', 'p1:skipped', 'p2:skipped', 'g:failed', 'after:skipped']);
    expect(r.end('p1').reason).toBe('not run: a parallel step failed');
    expect(r.end('g').reason).toBe('failed: p0');
    expect(r.result.exitCode).toBe(1);
  });

  it('children that finished are rolled back when the group fails', async () => {
    const r = await run('steps:\n  - name: g\n    concurrency: 1\n    parallel:\n      - { name: a, run: do-a, rollback: undo-a }\n      - { name: b, run: do-b, rollback: undo-b }\n', { 'do-b': { exitCode: 1 } });
    expect(r.calls).toEqual(['do-a', 'do-b', 'undo-b', 'undo-a']);
  });

  it('a warned child makes the group warned', async () => {
    const r = await run('steps:\n  - name: g\n    parallel:\n      - { name: a, run: a, warn: "true" }\n      - { name: b, run: b }\n');
    expect(r.status('g')).toBe('warned');
    expect(r.result.exitCode).toBe(0);
  });

  it('a child issue makes the group warned, not failed', async () => {
    const r = await run('steps:\n  - name: g\n    parallel:\n      - { name: a, run: a, continue_on_error: true }\n      - { name: b, run: b }\n', { a: { exitCode: 1 } });
    expect(r.ends).toEqual(['a:issue', 'b:passed', 'g:warned']);
  });

  it('continue_on_error on the group: its failure is an issue and the run goes on', async () => {
    const r = await run(par(2, 'continue_on_error: true\n    ') + '  - { name: after, run: after }\n', { p1: { exitCode: 1 } });
    expect(r.status('g')).toBe('issue');
    expect(r.calls).toContain('after');
    expect(r.result.exitCode).toBe(0);
  });

  it('a pause wins over a failure in the same group', async () => {
    const r = await run('steps:\n  - name: g\n    parallel:\n      - { name: a, run: a }\n      - { name: b, run: b, confirm: "go?" }\n  - { name: after, run: after }\n', { a: { exitCode: 1 } });
    expect(r.status('g')).toBe('paused');
    expect(r.result).toEqual({ status: 'paused', exitCode: 5, pausedAt: 'b' });
    expect(r.calls).toEqual(['a']);
  });

  it('a pause wins over a failure that comes after it', async () => {
    const r = await run('steps:\n  - name: g\n    concurrency: 1\n    parallel:\n      - { name: b, run: b, confirm: "go?" }\n      - { name: a, run: a }\n', { a: { exitCode: 1 } });
    expect(r.result.status).toBe('paused');
    expect(r.end('a').reason).toBe('not run: paused');
  });
});

const lib = {
  inner: 'vars: { who: { required: true } }\nsteps:\n  - { name: x, run: "x {{ vars.who }}", rollback: "undo-x {{ vars.who }}", outputs: { o: stdout } }\n  - { name: y, run: y }\nfinally:\n  - { name: z, run: "z {{ vars.who }}" }\n',
};

describe('includes', () => {
  it('run in order in their own scope, then their finally; qids are prefixed', async () => {
    const plan = planOf('steps:\n  - { name: sub, runbook: inner, vars: { who: ana } }\n  - { name: after, run: "after {{ steps.sub.status }}" }\n', { runbooks: lib });
    const r = await run(plan, { 'x ana': { stdout: 'out' } });
    expect(r.calls).toEqual(['x ana', 'y', 'z ana', 'after passed']);
    expect(r.ends).toEqual(['sub.x:passed', 'sub.y:passed', 'sub.z:passed', 'sub:passed', 'after:passed']);
    expect(r.end('sub.z').phase).toBe('finally');
  });

  it("a failure inside: the include's finally still runs, the outer run stops and rolls back", async () => {
    const plan = planOf('steps:\n  - { name: sub, runbook: inner, vars: { who: ana } }\n  - { name: after, run: after }\nfinally:\n  - { name: f, run: fin }\n', { runbooks: lib });
    const r = await run(plan, { y: { exitCode: 1 } });
    expect(r.calls).toEqual(['x ana', 'y', 'z ana', 'undo-x ana', 'fin']);
    expect(r.ends).toEqual(['sub.x:passed', 'sub.y:failed', 'sub.z:passed', 'sub:failed', 'after:skipped', 'f:passed']);
    expect(r.end('sub').reason).toBe('failed: y');
  });

  it("a failing include finally fails the group", async () => {
    const plan = planOf('steps:\n  - { name: sub, runbook: inner, vars: { who: ana } }\n  - { name: after, run: after }\n', { runbooks: lib });
    const r = await run(plan, { 'z ana': { exitCode: 1 } });
    expect(r.ends).toEqual(['sub.x:passed', 'sub.y:passed', 'sub.z:failed', 'sub:failed', 'after:skipped']);
  });

  it('continue_on_error on an include: its failure is an issue, the run goes on', async () => {
    const plan = planOf('steps:\n  - { name: sub, runbook: inner, vars: { who: ana }, continue_on_error: true }\n  - { name: after, run: after }\n', { runbooks: lib });
    const r = await run(plan, { y: { exitCode: 1 } });
    expect(r.status('sub')).toBe('issue');
    expect(r.calls).toContain('after');
    expect(r.result.exitCode).toBe(0);
  });

  it('a warned step inside makes the include warned', async () => {
    const plan = planOf('steps:\n  - { name: sub, runbook: w }\n', { runbooks: { w: 'steps:\n  - { name: a, run: a, warn: "true" }\n' } });
    expect((await run(plan)).status('sub')).toBe('warned');
  });

  it('a pause inside pauses the run without running the include finally', async () => {
    const plan = planOf('steps:\n  - { name: sub, runbook: c }\n', { runbooks: { c: 'steps:\n  - { name: a, run: a, confirm: "ok?" }\nfinally:\n  - { name: z, run: z }\n' } });
    const r = await run(plan);
    expect(r.calls).toEqual([]);
    expect(r.result).toEqual({ status: 'paused', exitCode: 5, pausedAt: 'sub.a' });
  });

  it('a person asked inside an include sees the include vars', async () => {
    const p = person({ confirm: ['yes'] });
    const plan = planOf('steps:\n  - { name: sub, runbook: c, vars: { db: main } }\n', { runbooks: { c: 'vars: { db: { required: true } }\nsteps:\n  - { name: a, run: a, confirm: "drop {{ vars.db }}?" }\n' } });
    await run(plan, {}, { interaction: p.interaction });
    expect(p.asked).toEqual(['drop main?']);
  });
});

async function vi_waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setImmediate(r));
  expect(cond()).toBe(true);
}
