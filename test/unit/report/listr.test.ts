import { Writable } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { RunEvent, StepStatus } from '../../../src/exec/events.js';
import type { Plan, PlanStep } from '../../../src/plan/types.js';
import { createListrReporter } from '../../../src/report/listr.js';
import type { Reporter, ReporterOptions } from '../../../src/report/reporter.js';
import { LineTail } from '../../../src/report/tail.js';

const CURSOR_SHOW = '\u001b[?25h';
const SGR = /\u001b\[[0-9;]*m/;

/** A terminal stand-in: a TTY-looking stream that records every write, synchronously. */
class FakeTty extends Writable {
  isTTY = true;
  columns = 100;
  rows = 500;
  chunks: string[] = [];
  constructor() {
    super({ decodeStrings: false });
  }
  override _write(chunk: unknown, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.chunks.push(String(chunk));
    cb();
  }
  raw(): string {
    return this.chunks.join('');
  }
  text(): string {
    return stripVTControlCharacters(this.raw());
  }
  /** Writes with something visible in them, escape codes removed. */
  visible(): string[] {
    return this.chunks.map((ch) => stripVTControlCharacters(ch)).filter((s) => s.trim() !== '');
  }
  /** The frame on screen now (log-update writes a whole frame per write). */
  lastFrame(): string {
    return this.visible().at(-1) ?? '';
  }
  /** After close(): the tree listr2 leaves on the terminal (the write before the summary). */
  finalTree(): string {
    return this.visible().at(-2) ?? '';
  }
  summary(): string {
    return this.visible().at(-1) ?? '';
  }
}

const tpl = (source: string) => ({ source, segments: [{ kind: 'text', text: source }] });

function cmd(qid: string, name = qid): PlanStep {
  return { kind: 'command', id: qid.split('.').at(-1), qid, name: tpl(name) } as unknown as PlanStep;
}
function manual(qid: string, name = qid): PlanStep {
  return { kind: 'manual', id: qid, qid, name: tpl(name), text: tpl('do it') } as unknown as PlanStep;
}
function parallel(qid: string, children: PlanStep[], concurrency = 2, name = qid): PlanStep {
  return { kind: 'parallel', id: qid, qid, name: tpl(name), children, concurrency } as unknown as PlanStep;
}
function include(qid: string, children: PlanStep[], fin: PlanStep[] = [], name = qid): PlanStep {
  return { kind: 'include', id: qid, qid, name: tpl(name), children, finally: fin } as unknown as PlanStep;
}
function plan(steps: PlanStep[], fin: PlanStep[] = []): Plan {
  return {
    runbook: { name: 'nightly', title: 'Nightly upkeep', file: 'nightly.yaml' },
    scope: { prefix: '', runbook: 'nightly', vars: {} },
    env: {},
    requires: [],
    steps,
    finally: fin,
    secrets: [],
  } as unknown as Plan;
}

function setup(p: Plan, o: Partial<ReporterOptions> = {}): { tty: FakeTty; rep: Reporter } {
  const tty = new FakeTty();
  const rep = createListrReporter({ plan: p, out: tty, color: false, verbose: false, quiet: false, tailLines: 3, ...o });
  return { tty, rep };
}

let clock = 1_000;
const t = () => (clock += 10);
const runStart = (): RunEvent => ({ type: 'run:start', time: t(), runId: 'r1', runbook: 'nightly', title: 'Nightly upkeep', dryRun: false });
const start = (qid: string, name = qid, command?: string): RunEvent => ({ type: 'step:start', time: Date.now(), qid, name, phase: 'steps', command });
const output = (qid: string, text: string, stream: 'stdout' | 'stderr' = 'stdout'): RunEvent => ({ type: 'step:output', time: t(), qid, stream, text });
const end = (qid: string, status: StepStatus, extra: Partial<Extract<RunEvent, { type: 'step:end' }>> = {}): RunEvent => ({
  type: 'step:end', time: t(), qid, name: qid, phase: 'steps', status, durationMs: 1200, attempts: 1, ...extra,
});
const runEnd = (status: 'passed' | 'failed' | 'rollback_failed' | 'paused' | 'interrupted', exitCode: number): RunEvent => ({
  type: 'run:end', time: t(), status, exitCode, durationMs: 4200,
});

async function waitFor(what: () => boolean, label: string, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!what()) {
    if (Date.now() > until) throw new Error(`timed out waiting for: ${label}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('listr reporter: a whole run fed at once (every event buffered before listr2 reaches its task)', () => {
  it('draws each step with its result and reason, groups and finally, then the summary', async () => {
    const p = plan(
      [
        cmd('prep', 'Prepare'),
        cmd('early', 'Skipped early'),
        parallel('par', [cmd('par.a', 'Left'), cmd('par.b', 'Right')]),
        include('inc', [cmd('inc.x', 'Inner')], [cmd('inc.cleanup', 'Inner cleanup')]),
        cmd('warny', 'Check disk'),
        manual('keys', 'Rotate keys'),
        cmd('flaky', 'Optional probe'),
        cmd('later', 'Never reached'),
      ],
      [cmd('notify', 'Notify')],
    );
    const { tty, rep } = setup(p);
    const events: RunEvent[] = [
      runStart(),
      end('prep', 'skipped', { name: 'Prepare', reason: 'before --from', durationMs: 0, attempts: 0 }),
      end('early', 'skipped', { name: 'Skipped early', reason: 'when x is false', durationMs: 0, attempts: 0 }),
      start('par'),
      start('par.a', 'Left'),
      start('par.b', 'Right'),
      end('par.a', 'passed', { name: 'Left' }),
      end('par.b', 'failed', { name: 'Right', reason: 'exit code 3', exitCode: 3 }),
      end('par', 'failed', { name: 'par', reason: 'failed: b' }),
      // After the failure: the executor skips the rest of the main phase.
      end('inc', 'skipped', { reason: 'not run: an earlier step failed', durationMs: 0, attempts: 0 }),
      end('warny', 'skipped', { reason: 'not run: an earlier step failed', durationMs: 0, attempts: 0 }),
      end('keys', 'skipped', { reason: 'not run: an earlier step failed', durationMs: 0, attempts: 0 }),
      end('flaky', 'skipped', { reason: 'not run: an earlier step failed', durationMs: 0, attempts: 0 }),
      end('later', 'skipped', { reason: 'not run: an earlier step failed', durationMs: 0, attempts: 0 }),
      start('notify', 'Notify ops', 'curl -X POST https://hooks.example/ops'),
      end('notify', 'passed', { name: 'Notify ops' }),
      runEnd('failed', 1),
    ];
    for (const e of events) rep.handle(e);
    await rep.close();

    const tree = tty.finalTree();
    expect(tty.text()).toContain('Nightly upkeep (nightly, run r1)');
    // Titles; the name from step:end replaces the plan's template source.
    for (const title of ['Prepare', 'Skipped early', 'par', 'Left', 'Right', 'Notify ops']) expect(tree).toContain(title);
    expect(tree).not.toContain('Rollback');
    // A failed step shows its reason; so does the group it failed.
    expect(tree).toMatch(/✖ Right.*\n.*exit code 3/);
    expect(tree).toContain('par (failed: b)');
    // Skipped steps show why.
    expect(tree).toMatch(/Prepare.*\n.*before --from/);
    expect(tree).toMatch(/Skipped early.*\n.*when x is false/);
    expect(tree).toContain('not run: an earlier step failed');
    expect(tree).toMatch(/✔ Notify ops \(finally\)/);
    expect(tty.summary()).toMatch(/^✖ failed in 4\.2s \(exit 1\)\s*$/);
    // The terminal is left with the cursor shown, after the last frame.
    expect(tty.raw().lastIndexOf(CURSOR_SHOW)).toBeGreaterThan(tty.raw().lastIndexOf('\u001b[?25l'));
  });

  it('marks warned, pending, paused and issue steps the way the brief says', async () => {
    const p = plan([cmd('disk', 'Check disk'), manual('keys', 'Rotate keys'), cmd('probe', 'Probe'), cmd('go', 'Go live')]);
    const { tty, rep } = setup(p);
    for (const e of [
      runStart(),
      start('disk', 'Check disk', 'df -h'),
      end('disk', 'warned', { name: 'Check disk', warnings: ['disk at 91%'] }),
      start('keys', 'Rotate keys'),
      end('keys', 'pending', { name: 'Rotate keys', reason: 'rotate the API keys' }),
      start('probe', 'Probe', 'probe --fast'),
      end('probe', 'issue', { name: 'Probe', reason: 'exit code 2' }),
      end('go', 'paused', { name: 'Go live', reason: 'declined: go live?', durationMs: 0, attempts: 0 }),
      runEnd('paused', 5),
    ])
      rep.handle(e);
    await rep.close();
    const tree = tty.finalTree();
    expect(tree).toMatch(/✔ Check disk ⚠ 1 warning/);
    expect(tree).toContain('disk at 91%');
    expect(tree).toContain('pending: rotate the API keys');
    expect(tree).toMatch(/✖ Probe.*\n.*issue: exit code 2/);
    expect(tree).toContain('paused: declined: go live?');
    expect(tty.summary()).toContain('paused in 4.2s (exit 5)');
  });

  it('shows a Rollback task only when rollback events arrive, with the failed rollback', async () => {
    const p = plan([cmd('db', 'Migrate'), cmd('app', 'Deploy')], [cmd('notify', 'Notify')]);
    const { tty, rep } = setup(p);
    for (const e of [
      runStart(),
      start('db', 'Migrate', 'migrate up'),
      end('db', 'passed', { name: 'Migrate' }),
      start('app', 'Deploy', 'deploy'),
      end('app', 'failed', { name: 'Deploy', reason: 'expected status == 200' }),
      { type: 'rollback:start', time: t(), qid: 'app', name: 'Deploy', command: 'undeploy' },
      output('app:rollback', 'undeploy: nothing to undo\n'),
      { type: 'rollback:end', time: t(), qid: 'app', name: 'Deploy', ok: true, durationMs: 300 },
      { type: 'rollback:start', time: t(), qid: 'db', name: 'Migrate', command: 'migrate down' },
      output('db:rollback', 'lock held by pid 42\n'),
      { type: 'rollback:end', time: t(), qid: 'db', name: 'Migrate', ok: false, durationMs: 900, reason: 'exit code 2' },
      start('notify', 'Notify', 'notify'),
      end('notify', 'passed', { name: 'Notify' }),
      runEnd('rollback_failed', 3),
    ] satisfies RunEvent[])
      rep.handle(e);
    await rep.close();
    const tree = tty.finalTree();
    expect(tree).toMatch(/✖ Rollback \(2 steps\)/);
    expect(tree).toContain('rollback failed: Migrate');
    expect(tree).toMatch(/✔ Deploy \[/);
    expect(tree).toMatch(/✖ Migrate: exit code 2/);
    expect(tree).toContain('lock held by pid 42');
    // Drawn where the executor runs rollbacks: after the steps, before finally.
    expect(tree.indexOf('Rollback')).toBeGreaterThan(tree.indexOf('Deploy'));
    expect(tree.indexOf('Rollback')).toBeLessThan(tree.indexOf('Notify (finally)'));
    expect(tty.summary()).toContain('rollback failed in 4.2s (exit 3)');
  });
});

describe('listr reporter: live drawing', () => {
  it('shows the command, a bounded tail of the latest lines, elapsed time and retries', async () => {
    const { tty, rep } = setup(plan([cmd('build', 'Build')]), { tailLines: 3 });
    rep.handle(runStart());
    rep.handle(start('build', 'Build it', 'make all'));
    await waitFor(() => tty.lastFrame().includes('Build it'), 'the running step');
    expect(tty.lastFrame()).toContain('$ make all');
    expect(tty.lastFrame()).toMatch(/Build it \[\d/); // elapsed time (listr2 timer preset)

    // Lines arrive split anywhere; stderr keeps its own unfinished line.
    rep.handle(output('build', 'out-01\nout-02\nout-03\nout-04\nout-05\nout-0'));
    rep.handle(output('build', '6\nout-07\nout-08\n'));
    rep.handle(output('build', 'err-09\n', 'stderr'));
    rep.handle(output('build', 'out-10\n'));
    await waitFor(() => tty.lastFrame().includes('out-10'), 'the newest line');
    const frame = tty.lastFrame();
    expect(frame).toContain('out-08');
    expect(frame).toContain('err-09');
    expect(frame).not.toContain('out-07');
    expect(frame).not.toContain('out-01');

    rep.handle({ type: 'step:retry', time: t(), qid: 'build', attempt: 2, attempts: 5, delayMs: 10_000, reason: 'exit code 1' });
    await waitFor(() => tty.lastFrame().includes('(retry 2/5 in 10s: exit code 1)'), 'the retry suffix');

    rep.handle(end('build', 'passed', { name: 'Build it', attempts: 2 }));
    rep.handle(runEnd('passed', 0));
    await rep.close();
    const tree = tty.finalTree();
    expect(tree).toMatch(/✔ Build it \(2 attempts\) \[1s\]/);
    expect(tree).not.toContain('out-10'); // not verbose: a passed step's tail goes
    expect(tree).not.toContain('retry 2/5');
    expect(tty.summary()).toMatch(/✔ passed in 4\.2s \(exit 0\)/);
  });

  it('runs parallel children side by side and redraws each from its own events', async () => {
    const { tty, rep } = setup(plan([parallel('par', [cmd('par.a', 'Alpha'), cmd('par.b', 'Bravo')])]));
    rep.handle(runStart());
    rep.handle(start('par'));
    rep.handle(start('par.a', 'Alpha', 'a.sh'));
    rep.handle(start('par.b', 'Bravo', 'b.sh'));
    rep.handle(output('par.a', 'alpha-line\n'));
    rep.handle(output('par.b', 'bravo-line\n'));
    await waitFor(() => /alpha-line[\s\S]*bravo-line/.test(tty.lastFrame()), 'both tails');
    rep.handle(end('par.b', 'failed', { name: 'Bravo', reason: 'timed out after 5s' }));
    await waitFor(() => tty.lastFrame().includes('timed out after 5s'), 'the failure while the sibling runs');
    expect(tty.lastFrame()).toContain('alpha-line');
    rep.handle(end('par.a', 'passed', { name: 'Alpha' }));
    rep.handle(end('par', 'failed', { reason: 'failed: b' }));
    rep.handle(runEnd('failed', 1));
    await rep.close();
    const tree = tty.finalTree();
    expect(tree).toMatch(/✖ Bravo[^\n]*\n.*timed out after 5s\n.*\$ b\.sh\n.*bravo-line/);
    expect(tree).toMatch(/^. par \(failed: b\) \[1s\]\n {2}✔ Alpha/);
  });

  it('stops drawing while suspended, lets a question through, and redraws after', async () => {
    const { tty, rep } = setup(plan([cmd('slow', 'Slow step'), manual('ask', 'Ask')]));
    rep.handle(runStart());
    rep.handle(start('slow', 'Slow step', 'sleep 5'));
    await waitFor(() => tty.lastFrame().includes('Slow step'), 'the running step');

    rep.suspend!();
    const at = tty.chunks.length;
    expect(tty.chunks.slice(at - 2).join('')).toContain(CURSOR_SHOW);
    // What a readline prompt writes goes straight to the terminal (the stream is not hijacked).
    tty.write('? Deploy now? [y/N] ');
    expect(tty.chunks.length).toBe(at + 1);
    rep.handle(output('slow', 'while-asking\n'));
    await new Promise((r) => setTimeout(r, 350)); // the spinner would have redrawn 3 times
    expect(tty.chunks.length).toBe(at + 1);

    rep.resume!();
    await waitFor(() => tty.lastFrame().includes('while-asking'), 'the redraw with what came meanwhile');
    expect(tty.lastFrame()).toContain('Slow step');
    rep.handle(end('slow', 'passed', { name: 'Slow step' }));
    rep.handle(end('ask', 'skipped', { reason: 'not run', durationMs: 0, attempts: 0 }));
    rep.handle(runEnd('passed', 0));
    await rep.close();
  });

  it('a question asked before listr2 has drawn anything is not drawn over', async () => {
    const { tty, rep } = setup(plan([cmd('gate', 'Gate')]));
    rep.handle(runStart());
    rep.suspend!(); // a confirm step asks at once, while listr2 is still starting its renderer
    await new Promise((r) => setTimeout(r, 250));
    tty.write('? Go? [y/N] ');
    expect(tty.lastFrame()).toBe('? Go? [y/N] ');
    expect(tty.text()).not.toContain('Gate');
    rep.resume!();
    rep.handle(start('gate', 'Gate', 'open-gate'));
    await waitFor(() => tty.lastFrame().includes('$ open-gate'), 'the frame after the answer');
    rep.handle(end('gate', 'passed', { name: 'Gate' }));
    rep.handle(runEnd('passed', 0));
    await rep.close();
    expect(tty.finalTree()).toMatch(/✔ Gate \[1s\]/);
  });

  it('batches redraws when output floods in, and keeps only the tail', async () => {
    const { tty, rep } = setup(plan([cmd('noisy', 'Noisy')]), { tailLines: 2 });
    rep.handle(runStart());
    rep.handle(start('noisy', 'Noisy', 'yes'));
    await waitFor(() => tty.lastFrame().includes('$ yes'), 'the running step');
    const before = tty.chunks.length;
    for (let i = 0; i < 5000; i++) rep.handle(output('noisy', `y${i}\n`));
    await waitFor(() => tty.lastFrame().includes('y4999'), 'the last line');
    expect(tty.chunks.length - before).toBeLessThan(20);
    expect(tty.lastFrame()).toMatch(/y4998\n\s*y4999/);
    expect(tty.lastFrame()).not.toContain('y4997');
    rep.handle(end('noisy', 'passed', { name: 'Noisy' }));
    rep.handle(runEnd('passed', 0));
    await rep.close();
  });

  it('close() without run:end still finishes the display', async () => {
    const { tty, rep } = setup(plan([cmd('a', 'First'), cmd('b', 'Second')]));
    rep.handle(runStart());
    rep.handle(start('a', 'First', 'long-job'));
    await waitFor(() => tty.lastFrame().includes('First'), 'the running step');
    await rep.close();
    const tree = tty.finalTree();
    expect(tree).toMatch(/✖ First.*\n.*the run ended before this step did/);
    expect(tree).toMatch(/Second.*\n.*not run/);
    expect(tty.raw().endsWith(CURSOR_SHOW)).toBe(true);
  });
});

describe('listr reporter: options', () => {
  it('verbose keeps up to 200 output lines of a step in the final display', async () => {
    const { tty, rep } = setup(plan([cmd('dump', 'Dump')]), { verbose: true });
    rep.handle(runStart());
    rep.handle(start('dump', 'Dump', 'pg_dump'));
    await waitFor(() => tty.lastFrame().includes('$ pg_dump'), 'the running step');
    for (let i = 1; i <= 250; i++) rep.handle(output('dump', `line-${String(i).padStart(3, '0')}\n`));
    // While it runs, only the tail is drawn, though 200 lines are kept.
    await waitFor(() => tty.lastFrame().includes('line-250'), 'the newest line');
    expect(tty.lastFrame()).toContain('line-248');
    expect(tty.lastFrame()).not.toContain('line-247');
    rep.handle(end('dump', 'passed', { name: 'Dump' }));
    rep.handle(runEnd('passed', 0));
    await rep.close();
    const tree = tty.finalTree();
    expect(tree).toContain('… 50 earlier lines not shown');
    expect(tree).toContain('line-051');
    expect(tree).toContain('line-250');
    expect(tree).not.toContain('line-050');
  });

  it('quiet shows only failures and the summary', async () => {
    const { tty, rep } = setup(plan([cmd('ok', 'Fine step'), cmd('bad', 'Broken step')]), { quiet: true });
    for (const e of [
      runStart(),
      start('ok', 'Fine step', 'true'),
      end('ok', 'passed', { name: 'Fine step' }),
      start('bad', 'Broken step', 'false'),
      output('bad', 'boom\n'),
      end('bad', 'failed', { name: 'Broken step', reason: 'exit code 1' }),
      runEnd('failed', 1),
    ])
      rep.handle(e);
    await rep.close();
    const text = tty.text();
    expect(text).not.toContain('Fine step');
    expect(text).not.toContain('Nightly upkeep');
    expect(tty.finalTree()).toMatch(/✖ Broken step.*\n.*exit code 1[\s\S]*boom/);
    expect(tty.summary()).toContain('failed in 4.2s (exit 1)');
  });

  it('color: false writes no colour codes; color: true does', async () => {
    const script = (rep: Reporter) => {
      for (const e of [runStart(), start('a', 'A', 'x'), end('a', 'failed', { name: 'A', reason: 'nope' }), runEnd('failed', 1)]) rep.handle(e);
    };
    const plain = setup(plan([cmd('a')]), { color: false });
    script(plain.rep);
    await plain.rep.close();
    expect(plain.tty.raw()).not.toMatch(SGR);
    expect(plain.tty.finalTree()).toContain('nope');

    const coloured = setup(plan([cmd('a')]), { color: true });
    script(coloured.rep);
    await coloured.rep.close();
    expect(coloured.tty.raw()).toMatch(SGR);
  });
});

describe('LineTail', () => {
  it('keeps a bounded ring of whole lines, per-stream partial lines last', () => {
    const tail = new LineTail(3);
    tail.push('a\nb\nc\nd\ne');
    tail.push('rr', 'stderr');
    expect(tail.last(10)).toEqual(['b', 'c', 'd', 'e', 'rr']);
    tail.push('nd\n');
    expect(tail.last(10)).toEqual(['c', 'd', 'end', 'rr']);
    expect(tail.last(2)).toEqual(['end', 'rr']);
    expect(tail.all().dropped).toBe(2);
  });

  it('handles carriage returns, escape codes and very long lines', () => {
    const tail = new LineTail(5, 10);
    tail.push('10%\r50%\r100%\n');
    tail.push('\u001b[31mred\u001b[0m\n');
    tail.push('x'.repeat(25) + 'y'.repeat(25) + '\n');
    expect(tail.last(5)).toEqual(['100%', 'red', 'xxxxxxxxxx…']);
  });
});
