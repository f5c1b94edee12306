/**
 * One run with everything around it: signals, the reporter, the journal, the log entry.
 * Shared by `maint run` and `maint resume`.
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { hostname, userInfo } from 'node:os';
import { relative } from 'node:path';
import type { Config } from '../config/config.js';
import type { StepState } from '../exec/context.js';
import { execute } from '../exec/executor.js';
import { spawnRunner } from '../exec/runner.js';
import type { Plan } from '../plan/types.js';
import { Masker } from '../exec/mask.js';
import { pingEnd, pingStart, type PingResult } from '../notify/healthcheck.js';
import { writeMetrics } from '../notify/metrics.js';
import { notifyAll } from '../notify/webhook.js';
import { drTargets, measuring } from '../record/dr.js';
import { JournalWriter } from '../record/journal.js';
import type { RunRecord } from '../record/types.js';
import { acquireLock } from '../record/lock.js';
import { formatLogEntry } from '../record/log-entry.js';
import { appendLogEntry } from '../record/log-file.js';
import { applyEvent, emptyRecord, runMeta } from '../record/summary.js';
import { createReporter, useColor } from '../report/select.js';
import { isInteractive, terminalInteraction } from './interaction.js';

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

/** Sortable and unique enough for one state dir: 20261123T021500Z-3f9a1c. */
export function newRunId(now = new Date()): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
}

export function whoAmI(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? String(process.getuid?.() ?? 'unknown');
  }
}

export async function runSession(plan: Plan, config: Config, opts: SessionOptions): Promise<number> {
  const runId = newRunId();
  const lock = acquireLock(config.state, plan.runbook.name, runId);
  if (lock.tookOver) {
    process.stderr.write(`maint: took over the stale lock of ${plan.runbook.name} (pid ${lock.tookOver.pid} on ${lock.tookOver.host} is gone)\n`);
  }
  try {
    return await runLocked(plan, config, opts, runId);
  } finally {
    lock.release();
  }
}

async function runLocked(plan: Plan, config: Config, opts: SessionOptions, runId: string): Promise<number> {
  const tty = Boolean(process.stdout.isTTY) && !process.env.CI;
  const reporter = await createReporter({
    plan,
    out: process.stdout,
    tty,
    color: useColor(process.stdout, process.env, opts.color),
    verbose: opts.verbose,
    quiet: opts.quiet,
    tailLines: 5,
    json: opts.json,
    junit: opts.junit,
    env: process.env,
  });

  opts.onRunId?.(runId);
  const started = Date.now();
  const meta = { ...runMeta(process.env, isInteractive(), whoAmI(), hostname()), resumedFrom: opts.resumedFrom };
  const journal = new JournalWriter(config.state, {
    runId, runbook: plan.runbook.name, title: plan.runbook.title, file: plan.runbook.file, cwd: process.cwd(),
    pid: process.pid, host: hostname(), by: meta.by, via: meta.via, ciUrl: meta.ciUrl, startedAt: started,
    status: 'running', resumedFrom: opts.resumedFrom, flags: { ...opts.flags, log: config.log },
  }, config.outputCap);
  const record = emptyRecord(meta, { runId, runbook: plan.runbook.name, title: plan.runbook.title, time: started });
  if (opts.forced) record.forced = opts.forced;
  // The monitor hears that the run started; this never delays the run for long nor fails it.
  const startPing = config.healthcheck ? pingStart(config.healthcheck, { runId, timeoutMs: 3000, retries: 1 }) : Promise.resolve(null);

  // First SIGINT/SIGTERM: stop the step, roll back, run finally. A second one: skip the rollbacks.
  const soft = new AbortController();
  const hard = new AbortController();
  // Every running step listens on these (a parallel group: one per child, removed when it ends);
  // Node's default of 10 listeners would print a leak warning for a wider group.
  setMaxListeners(0, soft.signal, hard.signal);
  let interruptCode = 130;
  const onSignal = (signal: NodeJS.Signals) => {
    if (!soft.signal.aborted) {
      interruptCode = signal === 'SIGINT' ? 130 : signal === 'SIGHUP' ? 129 : 143;
      process.stderr.write(`\nmaint: ${signal}: stopping the running step; rollbacks and finally will run (${signal === 'SIGINT' ? 'Ctrl-C again to skip them' : 'send again to skip them'})\n`);
      soft.abort();
    } else if (!hard.signal.aborted) {
      process.stderr.write(`\nmaint: ${signal} again: skipping rollbacks\n`);
      hard.abort();
    }
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);

  try {
    await execute(plan, {
      runner: spawnRunner,
      // A runbook with objectives is measured on the way: a `dr` event before run:end.
      emit: measuring(drTargets(plan), (e) => {
        journal.handle(e);
        applyEvent(record, e, (qid) => journal.outputFile(qid));
        reporter.handle(e);
      }),
      runId,
      env: process.env as Record<string, string>,
      interaction: terminalInteraction({ yes: opts.yes, interactive: isInteractive(), reporter }),
      noRollback: opts.noRollback,
      signal: soft.signal,
      hardSignal: hard.signal,
      interruptCode: () => interruptCode,
      restored: opts.restored,
    });
    await reporter.close();
    record.notices = [...(record.notices ?? []), ...(await tellTheWorld(config, record, plan, await startPing))];
    await appendLogEntry(config.log, formatLogEntry(record));
    if (!opts.quiet && !opts.json) {
      const shown = relative(process.cwd(), config.log) || config.log;
      process.stdout.write(`log: ${shown.startsWith('..') ? config.log : shown} (run ${runId})\n`);
    }
    // As run:end recorded it: a missed DR objective turns a pass into exit 1.
    return record.exitCode;
  } finally {
    for (const s of signals) process.off(s, onSignal);
  }
}

/**
 * Webhooks, the healthcheck ping and the metrics file, after the run. A monitor that is down
 * is noted in the log entry; it never changes the run's result or hangs it.
 */
async function tellTheWorld(config: Config, record: RunRecord, plan: Plan, started: PingResult | null): Promise<string[]> {
  const masker = new Masker(plan.secrets);
  const [hooks, ping, metrics] = await Promise.all([
    config.notify.length > 0 ? notifyAll(config.notify, record, { masker }) : Promise.resolve([]),
    config.healthcheck ? pingEnd(config.healthcheck, record.exitCode, formatLogEntry(record), { masker, runId: record.runId }) : Promise.resolve(null),
    config.metrics ? writeMetrics(config.metrics, record) : Promise.resolve(null),
  ]);
  const notices: string[] = [];
  for (const h of hooks) if (!h.ok) notices.push(`notification to ${h.url} failed: ${h.error ?? 'no answer'}`);
  for (const p of [started, ping]) if (p && !p.ok) notices.push(`healthcheck ping ${p.url} failed: ${p.error ?? 'no answer'}`);
  if (metrics && !metrics.ok) notices.push(`metrics file ${metrics.file} not written: ${metrics.error ?? 'unknown error'}`);
  return notices;
}
