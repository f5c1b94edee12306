/**
 * One run with everything around it: signals, the reporter, the journal, the log entry.
 * Shared by `maint run` and `maint resume`.
 *
 * However the run ends, it ends honestly: recorded, announced and unlocked. A signal or a closed
 * stdout (a hang-up) stops the running step and lets rollbacks and finally run; a bug in maint
 * (an error out of the executor or a reporter) still leaves a journal entry `crashed`, a log
 * entry, the end ping and the webhooks before it reaches the top-level handler (exit 70); a
 * journal or log that cannot be written (a full disk) is said on stderr and costs nothing else.
 */
import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import { relative } from 'node:path';
import type { Config } from '../config/config.js';
import type { StepState } from '../exec/context.js';
import type { RunEvent } from '../exec/events.js';
import { execute } from '../exec/executor.js';
import { Masker } from '../exec/mask.js';
import { spawnRunner, type Runner } from '../exec/runner.js';
import { pingStart } from '../notify/healthcheck.js';
import type { Plan } from '../plan/types.js';
import { drTargets, measuring } from '../record/dr.js';
import { JournalWriter, readMetaFile, unmarkRunning, writeMetaFile, type RunMetaFile } from '../record/journal.js';
import { acquireLock } from '../record/lock.js';
import { applyEvent, emptyRecord, runMeta } from '../record/summary.js';
import type { RunRecord } from '../record/types.js';
import { createReporter, useColor } from '../report/select.js';
import { MaintError, UsageError } from './errors.js';
import { isInteractive, terminalInteraction } from './interaction.js';
import { guardOutput, type OutputGuard, type StreamName } from './output-guard.js';
import { markRecorded, recordRefusal, type ClosedMetaFile, type RefusedRunbook } from './refusal.js';
import { newRunId, whoAmI } from './run-id.js';
import { appendLogSafely, entryFor, tellTheWorld } from './run-closing.js';

export { newRunId, whoAmI } from './run-id.js';

export interface SessionOptions {
  yes: boolean;
  noRollback: boolean;
  quiet: boolean;
  verbose: boolean;
  color?: boolean;
  /** --json: NDJSON on stdout, nothing else there. */
  json?: boolean;
  /** --junit FILE. */
  junit?: string;
  /** Flags recorded so that `maint resume` can plan the same run again. */
  flags: { var: string[]; varsFile?: string };
  resumedFrom?: string;
  restored?: Map<string, StepState>;
  /** --force outside the window: who and why, for the log. */
  forced?: { by: string; reason: string };
  /** Told the new run's id before it starts (resume marks the old run with it). */
  onRunId?: (runId: string) => void;
}

/** The flags `run` and `resume` share, as session options. */
export interface OutputFlags {
  yes?: boolean;
  rollback?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  color?: boolean;
  json?: boolean;
  junit?: string;
}

export function outputOptions(flags: OutputFlags): Pick<SessionOptions, 'yes' | 'noRollback' | 'quiet' | 'verbose' | 'color' | 'json' | 'junit'> {
  return {
    yes: flags.yes ?? false,
    noRollback: flags.rollback === false,
    quiet: flags.quiet ?? false,
    verbose: flags.verbose ?? false,
    color: flags.color,
    json: flags.json,
    junit: flags.junit,
  };
}


/**
 * What a run uses from the world, replaceable so the closing paths can be tested in-process: an
 * executor or a reporter that throws stands for a bug in maint.
 */
export interface SessionSeams {
  execute?: typeof execute;
  runner?: Runner;
  createReporter?: typeof createReporter;
  stdout?: NodeJS.WriteStream;
  stderr?: NodeJS.WriteStream;
  env?: NodeJS.ProcessEnv;
}

/** Exit code of a run stopped by a closed stdout or stderr: the one for SIGHUP. */
export const EXIT_HANGUP = 129;
/** Exit code of a run stopped by a bug in maint. */
export const EXIT_INTERNAL = 70;

export async function runSession(plan: Plan, config: Config, opts: SessionOptions, seams: SessionSeams = {}): Promise<number> {
  const runId = newRunId();
  const stderr = seams.stderr ?? process.stderr;
  let lock: ReturnType<typeof acquireLock>;
  try {
    lock = acquireLock(config.state, plan.runbook.name, runId);
  } catch (err) {
    // The lock held by another run (exit 75), or a lock folder that cannot be written.
    const refusal = err instanceof MaintError || typeof (err as NodeJS.ErrnoException).code !== 'string'
      ? err
      : new UsageError(`cannot take the lock of ${plan.runbook.name} in ${config.state}: ${(err as Error).message}; nothing was run`);
    await recordRefusal(config, subjectOf(plan), refusal, { secrets: plan.secrets, env: seams.env, stderr: quietly(stderr) });
    throw refusal;
  }
  if (lock.tookOver) {
    quietly(stderr)(`maint: took over the stale lock of ${plan.runbook.name} (pid ${lock.tookOver.pid} on ${lock.tookOver.host} is gone)\n`);
  }
  try {
    return await runLocked(plan, config, opts, runId, seams);
  } finally {
    lock.release();
  }
}

/** The runbook of a plan, as a refusal names it. */
export function subjectOf(plan: Plan): RefusedRunbook {
  return { runbook: plan.runbook.name, title: plan.runbook.title, file: plan.runbook.file };
}

/** A write that never throws (stderr may be a closed pipe too). */
function quietly(stream: NodeJS.WriteStream): (text: string) => void {
  return (text) => {
    try {
      if (!stream.destroyed) stream.write(text);
    } catch {
      // nowhere left to say it
    }
  };
}

async function runLocked(plan: Plan, config: Config, opts: SessionOptions, runId: string, seams: SessionSeams): Promise<number> {
  const env = seams.env ?? process.env;
  const stdout = seams.stdout ?? process.stdout;

  // First SIGINT/SIGTERM/SIGHUP (or a hang-up): stop the step, roll back, run finally. A second
  // signal: skip the rollbacks.
  const soft = new AbortController();
  const hard = new AbortController();
  // Every running step listens on these (a parallel group: one per child, removed when it ends);
  // Node's default of 10 listeners would print a leak warning for a wider group.
  setMaxListeners(0, soft.signal, hard.signal);
  let interruptCode = 130;
  const stopRun = (code: number, message: string) => {
    if (soft.signal.aborted) return;
    interruptCode = code;
    io.stderr(message);
    soft.abort();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (!soft.signal.aborted) {
      const again = signal === 'SIGINT' ? 'Ctrl-C again to skip them' : 'send again to skip them';
      stopRun(signal === 'SIGINT' ? 130 : signal === 'SIGHUP' ? EXIT_HANGUP : 143, `\nmaint: ${signal}: stopping the running step; rollbacks and finally will run (${again})\n`);
    } else if (!hard.signal.aborted) {
      io.stderr(`\nmaint: ${signal} again: skipping rollbacks\n`);
      hard.abort();
    }
  };
  const onClosed = (which: StreamName, err: NodeJS.ErrnoException) =>
    stopRun(EXIT_HANGUP, `\nmaint: ${which} was closed (${err.code ?? err.message}): stopping the running step; rollbacks and finally will run\n`);
  const io: OutputGuard = guardOutput({ stdout, stderr: seams.stderr ?? process.stderr }, onClosed);

  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  try {
    const tty = Boolean(stdout.isTTY) && !env.CI;
    const reporter = await (seams.createReporter ?? createReporter)({
      plan,
      // listr2 draws on the terminal itself; everything else writes through the guard.
      out: tty ? stdout : io.out,
      tty,
      color: useColor(stdout, env, opts.color),
      verbose: opts.verbose,
      quiet: opts.quiet,
      tailLines: 5,
      json: opts.json,
      junit: opts.junit,
      env,
    });

    opts.onRunId?.(runId);
    const started = Date.now();
    const meta = { ...runMeta(env, isInteractive(env), whoAmI(), hostname()), resumedFrom: opts.resumedFrom };
    const journalMeta: RunMetaFile = {
      runId, runbook: plan.runbook.name, title: plan.runbook.title, file: plan.runbook.file, cwd: process.cwd(),
      pid: process.pid, host: hostname(), by: meta.by, via: meta.via, ciUrl: meta.ciUrl, startedAt: started,
      status: 'running', resumedFrom: opts.resumedFrom, flags: { ...opts.flags, log: config.log },
    };
    let journal: JournalWriter;
    try {
      journal = new JournalWriter(config.state, journalMeta, config.outputCap);
    } catch (err) {
      const refusal = new UsageError(`the run journal could not be created in ${config.state}: ${(err as Error).message}; nothing was run`);
      await recordRefusal(config, subjectOf(plan), refusal, { secrets: plan.secrets, env, stderr: io.stderr });
      throw refusal;
    }
    const record = emptyRecord(meta, { runId, runbook: plan.runbook.name, title: plan.runbook.title, time: started });
    if (opts.forced) record.forced = opts.forced;
    // The monitor hears that the run started; this never delays the run for long nor fails it.
    const startPing = config.healthcheck ? pingStart(config.healthcheck, { runId, timeoutMs: 3000, retries: 1 }).catch(() => null) : Promise.resolve(null);

    // A journal that cannot be written (a full disk) must not stop the run half-way: the run goes
    // on, rolls back if it must, and says what was lost.
    let journalError: Error | undefined;
    let ended = false;
    const toJournal = (e: RunEvent) => {
      if (e.type === 'run:end') ended = true;
      if (journalError) return;
      try {
        journal.handle(e);
      } catch (err) {
        journalError = err as Error;
        io.stderr(`maint: the run journal in ${journal.dir} could not be written: ${journalError.message}; the run goes on\n`);
      }
    };
    // A reporter that throws is a bug, and leaves nobody watching: the run stops as on a signal.
    let reporterError: { error: unknown } | undefined;
    const toReporter = (e: RunEvent) => {
      if (reporterError) return;
      try {
        reporter.handle(e);
      } catch (err) {
        reporterError = { error: err };
        stopRun(EXIT_INTERNAL, `\nmaint: internal error while showing the run: stopping the running step; rollbacks and finally will run\n`);
      }
    };

    let crash: { error: unknown } | undefined;
    try {
      await (seams.execute ?? execute)(plan, {
        runner: seams.runner ?? spawnRunner,
        // A runbook with objectives is measured on the way: a `dr` event before run:end.
        emit: measuring(drTargets(plan), (e) => {
          toJournal(e);
          applyEvent(record, e, (qid) => journal.outputFile(qid));
          toReporter(e);
        }),
        runId,
        env: env as Record<string, string>,
        interaction: terminalInteraction({ yes: opts.yes, interactive: isInteractive(env), reporter }),
        noRollback: opts.noRollback,
        signal: soft.signal,
        hardSignal: hard.signal,
        interruptCode: () => interruptCode,
        restored: opts.restored,
      });
    } catch (err) {
      crash = { error: err };
      // Whatever the executor left running is stopped: nothing is watching it any more.
      soft.abort();
      hard.abort();
    }
    crash ??= reporterError;
    try {
      await reporter.close();
    } catch (err) {
      // A report file that cannot be written (a full disk, --junit) is a notice; anything else a bug.
      if (typeof (err as NodeJS.ErrnoException).code === 'string' || crash) {
        if (!crash) record.notices = [...(record.notices ?? []), `report not written: ${(err as Error).message}`];
        io.stderr(`maint: ${(err as Error).message}\n`);
      } else crash = { error: err };
    }

    // The journal itself never throws: it collects each file it could not write (and said so on
    // stderr as it happened), and the run is closed as one whose journal broke.
    if (!journalError && journal.problems.length > 0) journalError = new Error(journal.problems.join('; '));
    const masker = new Masker(plan.secrets);
    if (crash) {
      const message = masker.mask(crash.error instanceof Error ? crash.error.message : String(crash.error));
      if (!ended) toJournal({ type: 'run:end', time: Date.now(), status: 'interrupted', exitCode: EXIT_INTERNAL, durationMs: Date.now() - started });
      markCrashed(journal.dir, message);
      if (journalError) unmarkQuietly(config.state, runId);
      record.status = 'failed';
      record.exitCode = EXIT_INTERNAL;
      record.durationMs = Date.now() - started;
      record.notices = [...(record.notices ?? []), `maint stopped on an internal error (a bug in maint): ${message}`];
    } else if (journalError) {
      finishBrokenJournal(config.state, journal.dir, journalMeta, record);
    }

    if (journalError) record.notices = [...(record.notices ?? []), `the run journal could not be written: ${journalError.message}`];
    const closed = crash ? { status: 'crashed' as const, exitCode: EXIT_INTERNAL } : undefined;
    record.notices = [...(record.notices ?? []), ...(await tellTheWorld(config, record, entryFor(record, closed), plan.secrets, await startPing))];
    const where = journalError ? 'the run journal could not be written either' : `the run is recorded in the journal as run ${runId} (maint history ${runId})`;
    const logged = await appendLogSafely(config.log, entryFor(record, closed), where, io.stderr);
    if (crash) {
      markRecorded(crash.error);
      throw crash.error;
    }
    if (logged && !opts.quiet && !opts.json) {
      const shown = relative(process.cwd(), config.log) || config.log;
      io.stdout(`log: ${shown.startsWith('..') ? config.log : shown} (run ${runId})\n`);
    }
    // As run:end recorded it: a missed DR objective turns a pass into exit 1.
    return record.exitCode;
  } finally {
    for (const s of signals) process.off(s, onSignal);
    io.release();
  }
}

/** run.json says `crashed`, with the error; best effort (the disk may be what failed). */
function markCrashed(dir: string, reason: string): void {
  try {
    const meta = readMetaFile(dir);
    if (!meta) return;
    const closed: ClosedMetaFile = { ...meta, status: 'crashed', exitCode: EXIT_INTERNAL, reason };
    writeMetaFile(dir, closed as unknown as RunMetaFile);
  } catch {
    // the log entry and the notifications still say it
  }
}

/**
 * The journal stopped taking writes mid-run: leave run.json with the run's end if the disk takes
 * it now, and take the `running` marker away either way, so that no later command "recovers" the
 * run and logs it a second time.
 */
function finishBrokenJournal(state: string, dir: string, meta: RunMetaFile, record: RunRecord): void {
  try {
    writeMetaFile(dir, { ...meta, status: record.status, exitCode: record.exitCode, durationMs: record.durationMs, pausedAt: record.pausedAt, dr: record.dr });
  } catch {
    // still full
  }
  unmarkQuietly(state, meta.runId);
}

/** The run has ended: take its `running` marker away if the filesystem lets us. */
function unmarkQuietly(state: string, runId: string): void {
  try {
    unmarkRunning(state, runId);
  } catch {
    // nothing more to do: a later command will close it as interrupted
  }
}
