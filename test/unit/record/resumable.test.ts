import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../../src/exec/events.js';
import type { RunMetaFile } from '../../../src/record/journal.js';
import { age, chooseRun, formatResumable, notResumable, stoppedAt, type RunCandidate } from '../../../src/record/resumable.js';

const NOW = Date.UTC(2026, 11, 5, 12, 0, 0);
let n = 0;
function run(runbook: string, status: RunMetaFile['status'], more: Partial<RunMetaFile> = {}): RunCandidate {
  n++;
  return {
    meta: {
      runId: `20261205T0${n}0000Z-00000${n}`, runbook, title: runbook, file: `/rb/${runbook}.yaml`, cwd: '/', pid: 1, host: 'h', by: 'ops@h',
      via: 'cron', startedAt: NOW - n * 3600_000, status, flags: { var: [], log: '/log.md' }, ...more,
    },
  };
}

describe('notResumable', () => {
  it.each([
    ['failed', undefined],
    ['paused', undefined],
    ['interrupted', undefined],
    ['passed', 'ended passed: nothing to resume'],
    ['rollback_failed', 'had a rollback fail; check the system by hand, then start a new run'],
    ['running', 'is still running'],
  ] as const)('%s → %s', (status, why) => expect(notResumable(run('x', status).meta)).toBe(why));

  it('a run resumed once', () => expect(notResumable(run('x', 'failed', { resumedBy: 'R2' }).meta)).toMatch(/already resumed by run R2/));
});

describe('chooseRun: with no run named, only the newest run', () => {
  it('the newest run, when it can be resumed', () => {
    const runs = [run('weekly', 'failed'), run('dr-test', 'interrupted')];
    expect(chooseRun(runs, undefined)).toEqual({ ok: true, run: runs[0], named: false });
    expect(chooseRun(runs, 'last')).toEqual({ ok: true, run: runs[0], named: false });
  });

  it("another runbook's newer run passed: not an older dr-test from its destructive step, but the list", () => {
    const runs = [run('weekly', 'passed'), run('dr-test', 'interrupted'), run('daily', 'paused'), run('old', 'failed', { resumedBy: 'x' })];
    const choice = chooseRun(runs, undefined);
    expect(choice.ok).toBe(false);
    if (choice.ok) return;
    expect(choice.why).toBe(`the newest run, ${runs[0]!.meta.runId} (weekly), ended passed: nothing to resume`);
    expect(choice.resumable).toEqual([runs[1], runs[2]]);
  });

  it('a refused run ran nothing: the newest run is the one before it', () => {
    const runs = [run('daily', 'refused'), run('weekly', 'paused')];
    expect(chooseRun(runs, undefined)).toEqual({ ok: true, run: runs[1], named: false });
    expect(notResumable(runs[0]!.meta)).toBe('ended refused: nothing to resume');
  });

  it('a named run is that run, whatever is newer', () => {
    const runs = [run('weekly', 'passed'), run('dr-test', 'interrupted')];
    expect(chooseRun(runs, runs[1]!.meta.runId)).toEqual({ ok: true, run: runs[1], named: true });
    expect(chooseRun(runs, runs[0]!.meta.runId)).toMatchObject({ ok: false, why: `run ${runs[0]!.meta.runId} (weekly) ended passed: nothing to resume` });
    expect(chooseRun(runs, 'nope')).toMatchObject({ ok: false, why: 'no run nope' });
    expect(chooseRun([], undefined)).toMatchObject({ ok: false, why: 'no runs recorded', resumable: [] });
  });
});

describe('stoppedAt', () => {
  const end = (qid: string, status: 'passed' | 'failed', phase: 'steps' | 'finally' = 'steps'): RunEvent => ({
    type: 'step:end', time: 0, qid, name: qid, phase, status, durationMs: 0, attempts: 1,
  });
  const start = (qid: string): RunEvent => ({ type: 'step:start', time: 0, qid, name: qid, phase: 'steps' });
  it.each<[string, Partial<RunMetaFile>, RunEvent[], string | undefined]>([
    ['paused', { pausedAt: 'migrate' }, [end('a', 'passed')], 'migrate'],
    ['the failed step', {}, [start('a'), end('a', 'passed'), start('b'), end('b', 'failed'), end('fin', 'failed', 'finally')], 'b'],
    ['the step running when maint died', {}, [start('a'), end('a', 'passed'), start('b')], 'b'],
    ['nothing known', {}, [], undefined],
  ])('%s', (_, meta, events, want) => expect(stoppedAt(meta, events)).toBe(want));
});

describe('the list a person sees', () => {
  it.each([
    [0, '0s'],
    [59_000, '59s'],
    [61_000, '1m'],
    [3 * 3600_000, '3h'],
    [47 * 3600_000, '47h'],
    [72 * 3600_000, '3d'],
  ])('age(%i) = %s', (ms, want) => expect(age(ms)).toBe(want));

  it('run, runbook, step, result and age of each', () => {
    const r = run('dr-test', 'interrupted', { startedAt: NOW - 2 * 3600_000 });
    const lines = formatResumable([{ ...r, step: 'restore_db' }], NOW);
    expect(lines[0]).toBe('runs that can be resumed (name one: maint resume RUN):');
    expect(lines[2]).toMatch(new RegExp(`^  ${r.meta.runId}\\s+dr-test\\s+restore_db\\s+interrupted\\s+2h$`));
    expect(formatResumable([], NOW)).toEqual(['no failed, paused or interrupted run can be resumed']);
  });
});
