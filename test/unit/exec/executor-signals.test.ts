/** SIGINT/SIGTERM as the session passes them: a soft signal, then a hard one. */
import { describe, expect, it } from 'vitest';
import type { SpawnRequest, SpawnResult } from '../../../src/exec/runner.js';
import { run } from './scripted-run.js';

const aborted = (req: SpawnRequest): Partial<SpawnResult> => ({ exitCode: null, aborted: req.signal?.aborted === true });
const book =
  'steps:\n  - { name: a, run: do-a, rollback: undo-a }\n  - { name: b, run: do-b, rollback: undo-b }\n  - { name: c, run: do-c, rollback: undo-c }\n  - { name: d, run: do-d }\n' +
  'finally:\n  - { name: f, run: fin }\n  - { name: g, run: fin2 }\n';

function signals(code = 130) {
  const soft = new AbortController();
  const hard = new AbortController();
  return { soft, hard, opts: { signal: soft.signal, hardSignal: hard.signal, interruptCode: () => code } };
}

describe('signals', () => {
  it('first signal: the running step is interrupted, the rest skipped, rollbacks and finally run, exit 130', async () => {
    const s = signals(130);
    const r = await run(book, { 'do-c': (req) => (s.soft.abort(), aborted(req)) }, s.opts);
    expect(r.calls).toEqual(['do-a', 'do-b', 'do-c', 'undo-c', 'undo-b', 'undo-a', 'fin', 'fin2']);
    expect(r.ends).toEqual(['a:passed', 'b:passed', 'c:interrupted', 'd:skipped', 'f:passed', 'g:passed']);
    expect(r.end('c').reason).toBe('interrupted');
    expect(r.result).toEqual({ status: 'interrupted', exitCode: 130, pausedAt: undefined });
  });

  it('the step gets the soft signal; rollbacks and finally get the hard one', async () => {
    const s = signals();
    const seen: [string, AbortSignal | undefined][] = [];
    const spy = (ret: Partial<SpawnResult> = {}) => (req: SpawnRequest) => (seen.push([req.command.kind === 'shell' ? req.command.script : '', req.signal]), ret);
    await run(book, { 'do-a': spy(), 'do-b': spy({ exitCode: 1 }), 'undo-b': spy(), fin: spy() }, s.opts);
    expect(seen.map(([c, sig]) => [c, sig === s.soft.signal ? 'soft' : sig === s.hard.signal ? 'hard' : 'none'])).toEqual([
      ['do-a', 'soft'], ['do-b', 'soft'], ['undo-b', 'hard'], ['fin', 'hard'],
    ]);
  });

  it('SIGTERM exits 143', async () => {
    const s = signals(143);
    const r = await run(book, { 'do-a': (req) => (s.soft.abort(), aborted(req)) }, s.opts);
    expect(r.result.exitCode).toBe(143);
  });

  it('a signal before a step starts skips it as interrupted', async () => {
    const s = signals();
    s.soft.abort();
    const r = await run(book, {}, s.opts);
    expect(r.calls).toEqual(['fin', 'fin2']);
    expect(r.end('a')).toMatchObject({ status: 'skipped', reason: 'not run: interrupted' });
    expect(r.result.exitCode).toBe(130);
  });

  it('second signal during a step: every rollback is recorded as skipped; nothing is undone; finally is skipped', async () => {
    const s = signals();
    const r = await run(book, { 'do-c': (req) => (s.soft.abort(), s.hard.abort(), aborted(req)) }, s.opts);
    expect(r.calls).toEqual(['do-a', 'do-b', 'do-c']);
    expect(r.trace.filter((t) => t.startsWith('rb'))).toEqual(['rb:c:skipped', 'rb:b:skipped', 'rb:a:skipped']);
    expect(r.events.find((e) => e.type === 'rollback:end')).toMatchObject({ ok: false, skipped: true, reason: 'skipped: interrupted again' });
    expect(r.ends.slice(-2)).toEqual(['f:skipped', 'g:skipped']);
    expect(r.result).toEqual({ status: 'interrupted', exitCode: 130, pausedAt: undefined });
  });

  it('second signal during the rollbacks: the running one is interrupted, the rest recorded as skipped, exit 130', async () => {
    const s = signals();
    const r = await run(book, {
      'do-c': (req) => (s.soft.abort(), aborted(req)),
      'undo-b': (req) => (s.hard.abort(), aborted(req)),
    }, s.opts);
    expect(r.calls).toEqual(['do-a', 'do-b', 'do-c', 'undo-c', 'undo-b']);
    expect(r.trace.filter((t) => t.startsWith('rb:'))).toEqual(['rb:c:ok', 'rb:b:failed', 'rb:a:skipped']);
    expect(r.result.exitCode).toBe(130);
  });

  it('a signal during the rollbacks of a failed run ends it interrupted (not 3 or 1), and the rollbacks go on', async () => {
    const s = signals(143);
    const r = await run(book, { 'do-c': { exitCode: 1 }, 'undo-c': () => (s.soft.abort(), { exitCode: 1 }) }, s.opts);
    expect(r.calls).toEqual(['do-a', 'do-b', 'do-c', 'undo-c', 'undo-b', 'undo-a', 'fin', 'fin2']);
    expect(r.result).toEqual({ status: 'interrupted', exitCode: 143, pausedAt: undefined });
  });

  it('a signal during finally of a passing run ends it interrupted; finally goes on', async () => {
    const s = signals(130);
    const r = await run(book, { fin: () => (s.soft.abort(), { exitCode: 1 }) }, s.opts);
    expect(r.calls).toEqual(['do-a', 'do-b', 'do-c', 'do-d', 'fin', 'fin2']);
    expect(r.result).toEqual({ status: 'interrupted', exitCode: 130, pausedAt: undefined });
  });

  it('without an interrupt code, 130', async () => {
    const soft = new AbortController();
    const r = await run(book, { 'do-a': (req) => (soft.abort(), aborted(req)) }, { signal: soft.signal });
    expect(r.result.exitCode).toBe(130);
  });

  it('manual rollbacks are still handed to a person after a second signal', async () => {
    const s = signals();
    const r = await run('steps:\n  - { name: a, run: do-a, rollback: { manual: "undo by hand" } }\n  - { name: b, run: do-b }\n', { 'do-b': (req) => (s.soft.abort(), s.hard.abort(), aborted(req)) }, s.opts);
    expect(r.trace).toContain('rb-manual:a');
  });
});
