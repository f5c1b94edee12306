import { randomBytes } from 'node:crypto';
import { execute } from '../../exec/executor.js';
import { missingCommands } from '../../exec/preflight.js';
import { spawnRunner } from '../../exec/runner.js';
import { formatPlan } from '../../plan/format.js';
import { createReporter, useColor } from '../../report/select.js';
import { UsageError } from '../errors.js';
import { isInteractive, terminalInteraction } from '../interaction.js';
import { preparePlan, type PlanFlags } from '../prepare.js';

export interface RunFlags extends PlanFlags {
  yes?: boolean;
  dryRun?: boolean;
  rollback?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  color?: boolean;
}

/** Sortable and unique enough for one state dir: 20261123T021500Z-3f9a1c. */
export function newRunId(now = new Date()): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
}

export async function runCommand(name: string, flags: RunFlags): Promise<number> {
  const { plan } = await preparePlan(name, flags);
  if (flags.dryRun) {
    process.stdout.write(formatPlan(plan, process.env));
    return 0;
  }
  const missing = missingCommands(plan.requires);
  if (missing.length > 0) {
    throw new UsageError(`${plan.runbook.file}: requires ${missing.join(', ')}, not found on PATH; nothing was run (see maint doctor)`);
  }

  const tty = Boolean(process.stdout.isTTY) && !process.env.CI;
  const reporter = await createReporter({
    plan,
    out: process.stdout,
    tty,
    color: useColor(process.stdout, process.env, flags.color),
    verbose: flags.verbose ?? false,
    quiet: flags.quiet ?? false,
    tailLines: 5,
  });

  // First SIGINT/SIGTERM: stop the step, roll back, run finally. A second SIGINT: skip the rollbacks.
  const soft = new AbortController();
  const hard = new AbortController();
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
    const result = await execute(plan, {
      runner: spawnRunner,
      emit: (e) => reporter.handle(e),
      runId: newRunId(),
      env: process.env as Record<string, string>,
      interaction: terminalInteraction({ yes: flags.yes ?? false, interactive: isInteractive(), reporter }),
      noRollback: flags.rollback === false,
      signal: soft.signal,
      hardSignal: hard.signal,
      interruptCode: () => interruptCode,
    });
    await reporter.close();
    return result.exitCode;
  } finally {
    for (const s of signals) process.off(s, onSignal);
  }
}
