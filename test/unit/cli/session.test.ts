/**
 * How a run is closed when it does not end on its own, in-process: a scripted runner, a fake
 * stdout, and seams for the executor and the reporter that stand for a bug in maint.
 */
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { guardOutput } from '../../../src/cli/output-guard.js';
import { entryFor } from '../../../src/cli/run-closing.js';
import { runSession, type SessionOptions } from '../../../src/cli/session.js';
import type { Config } from '../../../src/config/config.js';
import type { Runner, SpawnResult } from '../../../src/exec/runner.js';
import { buildPlan } from '../../../src/plan/plan.js';
import { listRunDirs, runningDir } from '../../../src/record/journal.js';
import { lockPath } from '../../../src/record/lock.js';
import { emptyRecord } from '../../../src/record/summary.js';
import { recordingServer } from '../../helpers/recording-server.js';
import type { Reporter } from '../../../src/report/reporter.js';
import { parseRunbook } from '../../../src/runbook/parse.js';

const server = recordingServer();
const seen = server.seen;

function planOf(text: string) {
  const { runbook } = parseRunbook('t.yaml', text);
  return buildPlan({ root: runbook!, runbooks: new Map(), sources: { explicit: {}, file: {}, env: {}, config: {} } }).plan!;
}

function configIn(dir: string, notify = true): Config {
  return {
    runbooks: [], log: join(dir, 'log.md'), state: join(dir, 'state'), vars: {}, secretEnv: [], outputCap: 1 << 20,
    notify: notify ? [{ url: `${server.base()}/hook`, on: ['failure'], format: 'json' }] : [],
    healthcheck: notify ? `${server.base()}/ping` : undefined,
  };
}

/** A stdout that keeps what it is given; `fail()` makes it behave as a pipe whose reader left. */
function fakeStream() {
  const s = new EventEmitter() as EventEmitter & { text: string; dead: boolean; destroyed: boolean; isTTY: boolean; write: (t: string) => boolean; fail: () => void };
  s.text = '';
  s.dead = false;
  s.destroyed = false;
  s.isTTY = false;
  s.write = (t: string) => {
    if (s.dead) {
      const err = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
      process.nextTick(() => s.emit('error', err));
      return false;
    }
    s.text += String(t);
    return true;
  };
  s.fail = () => {
    s.dead = true;
  };
  return s;
}

function scripted(onRun: (script: string) => void = () => {}) {
  const calls: string[] = [];
  const runner: Runner = async (req): Promise<SpawnResult> => {
    const script = req.command.kind === 'shell' ? req.command.script : req.command.argv.join(' ');
    calls.push(script);
    onRun(script);
    // A process takes a turn of the event loop at least: stream errors arrive meanwhile.
    await new Promise((r) => setTimeout(r, 1));
    // Stopped by the run's signal, as the real runner stops a step's process tree.
    if (req.signal?.aborted) return { exitCode: null, signal: 'SIGTERM', stdout: '', stderr: '', stdoutTruncated: false, stderrTruncated: false, timedOut: false, aborted: true, durationMs: 1 };
    return { exitCode: 0, signal: null, stdout: '', stderr: '', stdoutTruncated: false, stderrTruncated: false, timedOut: false, aborted: Boolean(req.signal?.aborted), durationMs: 1 };
  };
  return { runner, calls };
}

const OPTS: SessionOptions = { yes: true, noRollback: false, quiet: false, verbose: false, flags: { var: [] } };
const RUNBOOK = 'title: Nightly\nsteps:\n  - { name: a, run: do-a, rollback: undo-a }\n  - { name: b, run: do-b }\nfinally:\n  - { name: f, run: fin }\n';

async function waitFor(cond: () => boolean) {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
}

describe('runSession: a bug in maint still closes the run', () => {
  it('an executor that throws: journal crashed, log entry, end ping 70, failure webhook, lock released, error rethrown', async () => {
    seen.length = 0;
    const dir = mkdtempSync(join(tmpdir(), 'maint-session-'));
    const config = configIn(dir);
    const bug = new Error('executor exploded');
    const stdout = fakeStream();
    const stderr = fakeStream();
    await expect(
      runSession(planOf(RUNBOOK), config, OPTS, {
        execute: async () => {
          throw bug;
        },
        runner: scripted().runner,
        stdout: stdout as unknown as NodeJS.WriteStream,
        stderr: stderr as unknown as NodeJS.WriteStream,
        env: {},
      }),
    ).rejects.toBe(bug);
    const [run] = listRunDirs(config.state);
    expect(run?.meta).toMatchObject({ status: 'crashed', exitCode: 70, reason: 'executor exploded' });
    expect(readdirSync(runningDir(config.state))).toEqual([]);
    expect(existsSync(lockPath(config.state, 't'))).toBe(false);
    const log = readFileSync(config.log, 'utf8');
    expect(log).toMatch(/\*\*Result\*\*: crashed: an internal error in maint \(exit 70\)/);
    expect(log).toContain('executor exploded');
    await waitFor(() => seen.length >= 2);
    expect(seen.map((s) => s.path).sort()).toEqual(['/hook', '/ping/70', '/ping/start']);
    expect(JSON.parse(seen.find((s) => s.path === '/hook')!.body).run).toMatchObject({ runbook: 't', exitCode: 70 });
  });

  it('a reporter that throws: the run stops as on a signal (rollback, finally), then is closed as crashed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maint-session-'));
    const config = configIn(dir, false);
    const { runner, calls } = scripted();
    const bug = new Error('reporter bug');
    const reporter: Reporter = {
      handle: (e) => {
        if (e.type === 'step:end' && e.qid === 'a') throw bug;
      },
      close: async () => {},
    };
    await expect(
      runSession(planOf(RUNBOOK), config, OPTS, {
        runner,
        createReporter: async () => reporter,
        stdout: fakeStream() as unknown as NodeJS.WriteStream,
        stderr: fakeStream() as unknown as NodeJS.WriteStream,
        env: {},
      }),
    ).rejects.toBe(bug);
    expect(calls).toEqual(['do-a', 'undo-a', 'fin']);
    expect(listRunDirs(config.state)[0]?.meta).toMatchObject({ status: 'crashed', exitCode: 70 });
    expect(existsSync(lockPath(config.state, 't'))).toBe(false);
  });
});

describe('runSession: a closed stdout is a hang-up', () => {
  it('stops the run after the step that saw it, rolls back, runs finally, exits 129 and says so on stderr', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maint-session-'));
    const config = configIn(dir, false);
    const stdout = fakeStream();
    const stderr = fakeStream();
    // The reader goes away while step a runs; the next line maint prints (a's end) finds the
    // pipe closed, while b is already starting: b is stopped, a rolled back, finally runs.
    const { runner, calls } = scripted((script) => {
      if (script === 'do-a') stdout.fail();
    });
    const code = await runSession(planOf(RUNBOOK), config, OPTS, {
      runner,
      stdout: stdout as unknown as NodeJS.WriteStream,
      stderr: stderr as unknown as NodeJS.WriteStream,
      env: {},
    });
    expect(code).toBe(129);
    expect(calls).toEqual(['do-a', 'do-b', 'undo-a', 'fin']);
    expect(stderr.text).toMatch(/stdout was closed \(EPIPE\)/);
    expect(listRunDirs(config.state)[0]?.meta).toMatchObject({ status: 'interrupted', exitCode: 129 });
    expect(readFileSync(config.log, 'utf8')).toMatch(/\*\*Result\*\*: interrupted/);
    expect(existsSync(lockPath(config.state, 't'))).toBe(false);
  });

  it('a full disk under the log: the run keeps its exit code, stderr says what was not written', async ({ skip }) => {
    if (!existsSync('/dev/full')) skip();
    const dir = mkdtempSync(join(tmpdir(), 'maint-session-'));
    const config = { ...configIn(dir, false), log: '/dev/full' };
    const stderr = fakeStream();
    const code = await runSession(planOf('steps:\n  - { name: a, run: do-a }\n'), config, OPTS, {
      runner: scripted().runner,
      stdout: fakeStream() as unknown as NodeJS.WriteStream,
      stderr: stderr as unknown as NodeJS.WriteStream,
      env: {},
    });
    expect(code).toBe(0);
    expect(stderr.text).toMatch(/maintenance log entry was not written to \/dev\/full: .*ENOSPC|no space/i);
    expect(listRunDirs(config.state)[0]?.meta).toMatchObject({ status: 'passed', exitCode: 0 });
  });
});

describe('guardOutput', () => {
  it('calls back once for the first closed stream, drops later writes, and stays quiet once released', async () => {
    const stdout = fakeStream();
    const stderr = fakeStream();
    const told: string[] = [];
    const io = guardOutput({ stdout: stdout as unknown as NodeJS.WriteStream, stderr: stderr as unknown as NodeJS.WriteStream }, (which, err) => told.push(`${which}:${err.code}`));
    io.out.write('one\n');
    stdout.fail();
    io.out.write('two\n');
    await new Promise((r) => process.nextTick(r));
    io.out.write('three\n');
    stderr.fail();
    io.stderr('x');
    await new Promise((r) => process.nextTick(r));
    expect(stdout.text).toBe('one\n');
    expect(told).toEqual(['stdout:EPIPE']);
    expect(io.closed('stdout')).toBe(true);
    io.release();
  });
});

describe('entryFor', () => {
  const record = { ...emptyRecord({ by: 'u@h', via: 'cron' }, { runId: 'r1', runbook: 'nightly', title: 'Nightly', time: 0 }), status: 'failed' as const, exitCode: 2 };
  it.each([
    [undefined, /\*\*Result\*\*: failed\n/],
    [{ status: 'refused' as const, exitCode: 4 }, /\*\*Result\*\*: refused, nothing was run \(exit 4\)\n/],
    [{ status: 'crashed' as const, exitCode: 70 }, /\*\*Result\*\*: crashed: an internal error in maint \(exit 70\)\n/],
  ])('%j → the result line', (closed, line) => {
    expect(entryFor(record, closed)).toMatch(line);
  });
  it('a refused run is maintenance still to be done', () => {
    expect(entryFor(record, { status: 'refused', exitCode: 2 })).toMatch(/\*\*Follow-up actions\*\*:\n- \[ \] nothing was run/);
    expect(entryFor(record, { status: 'crashed', exitCode: 70 })).toMatch(/\*\*Follow-up actions\*\*: None/);
  });
});
