/** confirm: unattended pauses (exit 5) without reading stdin; at a terminal yes / no / pause; --yes. */
import { describe, expect, it } from 'vitest';
import { person, run, unattended } from './scripted-run.js';

const book =
  'vars: { db: main }\nsteps:\n  - { name: a, run: do-a, rollback: undo-a }\n  - { name: b, confirm: "Drop {{ vars.db }}?", run: do-b, rollback: undo-b }\n  - { name: c, run: do-c }\n' +
  'finally:\n  - { name: f, run: fin }\n';

describe('confirm', () => {
  it('unattended: pauses before the step, no rollback, no finally, exit 5, never asks', async () => {
    const r = await run(book);
    expect(r.calls).toEqual(['do-a']);
    expect(r.result).toEqual({ status: 'paused', exitCode: 5, pausedAt: 'b' });
    expect(r.end('b')).toMatchObject({ status: 'paused', reason: 'waits for confirmation: Drop main? (unattended: resume with --yes)' });
    // The steps after it are not over either: `maint resume` runs them.
    expect(r.ends).toEqual(['a:passed', 'b:paused']);
  });

  it('--yes goes ahead without asking', async () => {
    const r = await run(book, {}, { interaction: { ...unattended, yes: true } });
    expect(r.calls).toEqual(['do-a', 'do-b', 'do-c', 'fin']);
    expect(r.result.exitCode).toBe(0);
  });

  it('at a terminal, yes runs the step', async () => {
    const p = person({ confirm: ['yes'] });
    const r = await run(book, {}, { interaction: p.interaction });
    expect(p.asked).toEqual(['Drop main?']);
    expect(r.calls).toEqual(['do-a', 'do-b', 'do-c', 'fin']);
  });

  it('at a terminal, no aborts: rollbacks, finally, exit 1, recorded as declined by user@host', async () => {
    const p = person({ confirm: ['no'] });
    const r = await run(book, {}, { interaction: p.interaction });
    expect(r.calls).toEqual(['do-a', 'undo-a', 'fin']);
    expect(r.end('b')).toMatchObject({ status: 'failed', reason: 'declined by ana@db1: Drop main?' });
    expect(r.result).toEqual({ status: 'failed', exitCode: 1, pausedAt: undefined });
  });

  it('at a terminal, pause is an explicit answer: exit 5, nothing rolled back', async () => {
    const p = person({ confirm: ['pause'] });
    const r = await run(book, {}, { interaction: p.interaction });
    expect(r.calls).toEqual(['do-a']);
    expect(r.result).toEqual({ status: 'paused', exitCode: 5, pausedAt: 'b' });
    expect(r.end('b').reason).toBe('paused by ana@db1: Drop main? (resume with maint resume)');
  });

  it('a declined confirm aborts even inside a group under continue_on_error', async () => {
    const p = person({ confirm: ['no'] });
    const r = await run('steps:\n  - name: g\n    continue_on_error: true\n    parallel:\n      - { name: a, run: do-a, confirm: "go?" }\n  - { name: after, run: after }\n', {}, { interaction: p.interaction });
    expect(r.calls).toEqual([]);
    expect(r.ends).toEqual(['a:failed', 'g:failed', 'after:skipped']);
    expect(r.result.exitCode).toBe(1);
  });

  it('a declined confirm aborts even under the step\'s continue_on_error', async () => {
    const p = person({ confirm: ['no'] });
    const r = await run('steps:\n  - { name: a, run: do-a, confirm: "go?", continue_on_error: true }\n  - { name: b, run: do-b }\n', {}, { interaction: p.interaction });
    expect(r.calls).toEqual([]);
    expect(r.result.exitCode).toBe(1);
  });

  it('in finally, a no at a terminal declines that step (the run fails), a yes runs it', async () => {
    const p = person({ confirm: ['no', 'yes'] });
    const r = await run('steps:\n  - { name: a, run: do-a }\nfinally:\n  - { name: f1, run: f1, confirm: "one?" }\n  - { name: f2, run: f2, confirm: "two?" }\n', {}, { interaction: p.interaction });
    expect(r.calls).toEqual(['do-a', 'f2']);
    expect(r.end('f1')).toMatchObject({ status: 'failed', reason: 'declined by ana@db1: one?' });
    expect(r.result.exitCode).toBe(1);
  });

  it('the question is masked', async () => {
    const p = person({ confirm: ['yes'] });
    await run('vars:\n  pw: { secret: true, default: s3cr3t-pw }\nsteps:\n  - { name: a, run: x, confirm: "use {{ vars.pw }}?" }\n', {}, { interaction: p.interaction });
    expect(p.asked).toEqual(['use ***?']);
  });
});
