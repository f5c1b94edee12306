import { missingCommands } from '../../exec/preflight.js';
import { formatPlan } from '../../plan/format.js';
import { recoverOrphans } from '../../record/recover.js';
import { hostname } from 'node:os';
import type { Plan } from '../../plan/types.js';
import { formatWindowRefusal, windowState } from '../../schedule/window.js';
import { loadConfig, type Config } from '../../config/config.js';
import { RunbookLibrary, SHIPPED_RUNBOOKS } from '../../runbook/library.js';
import { MaintError, UsageError } from '../errors.js';
import { checkRunPaths, PathProblems } from '../preflight-paths.js';
import { preparePlan, type PlanFlags, type Prepared } from '../prepare.js';
import { recordRefusal } from '../refusal.js';
import { outputOptions, runSession, subjectOf, whoAmI, type OutputFlags } from '../session.js';

export interface RunFlags extends PlanFlags, OutputFlags {
  force?: boolean;
  reason?: string;
  dryRun?: boolean;
}

/**
 * `maint run`, and `maint dr-test` through it: `check` refuses a plan (by throwing) before
 * anything runs, a dry run included. A refusal of a known runbook is recorded like a failed run
 * (refusal.ts); a dry run records nothing.
 */
export async function runCommand(name: string, flags: RunFlags, opts: { check?: (plan: Plan) => void; build?: string } = {}): Promise<number> {
  let prepared: Prepared;
  try {
    prepared = await preparePlan(name, flags, { build: opts.build, write: !flags.dryRun });
    opts.check?.(prepared.plan);
  } catch (err) {
    if (!flags.dryRun) await refuseUnplanned(name, flags, err);
    throw err;
  }
  const { plan, config } = prepared;
  if (flags.dryRun) {
    process.stdout.write(formatPlan(plan, process.env));
    return 0;
  }
  try {
    const forced = checkWindow(plan.runbook.name, plan.window, plan.timezone, flags);
    const missing = missingCommands(plan.requires);
    if (missing.length > 0) {
      throw new UsageError(`${plan.runbook.file}: requires ${missing.join(', ')}, not found on PATH; nothing was run (see maint doctor)`);
    }
    const paths = checkRunPaths({ log: config.log, state: config.state, junit: flags.junit });
    if (paths.length > 0) throw new PathProblems(paths);
    await closeOrphans(config.state);
    return await runSession(plan, config, {
      ...outputOptions(flags),
      flags: { var: nonSecretVars(flags.var ?? [], plan.secrets), varsFile: flags.varsFile },
      forced,
    });
  } catch (err) {
    // runSession records its own refusals (the lock) and crashes before it throws them; those
    // are marked recorded and not recorded again.
    await recordRefusal(config, subjectOf(plan), err, { secrets: plan.secrets });
    throw err;
  }
}

/**
 * The plan could not be made. Once the runbook is known (its file found), the refusal is
 * recorded; a config that cannot be read or a runbook name that matches nothing has nobody to
 * tell and no record to add to.
 */
async function refuseUnplanned(name: string, flags: RunFlags, err: unknown): Promise<void> {
  let config: Config;
  try {
    config = await loadConfig(flags);
  } catch {
    return;
  }
  const ref = new RunbookLibrary(config.runbooks, SHIPPED_RUNBOOKS).find(name);
  if (!ref) return;
  await recordRefusal(config, { runbook: ref.name, title: ref.name, file: ref.file }, err);
}

/**
 * Runs left `running` by a maint that died are closed and logged before anything else. A
 * recovery that cannot finish (its log on a full disk, say) is said and does not stop this run.
 */
export async function closeOrphans(stateDir: string): Promise<void> {
  let closed: string[];
  try {
    closed = await recoverOrphans(stateDir);
  } catch (err) {
    process.stderr.write(`maint: an unfinished earlier run could not be closed: ${(err as Error).message}\n`);
    return;
  }
  for (const id of closed) {
    process.stderr.write(`maint: run ${id} was left unfinished by a maint that stopped; recorded it as interrupted\n`);
  }
}

/** --var values to remember for resume; a secret's value is never written down. */
function nonSecretVars(pairs: string[], secrets: string[]): string[] {
  return pairs.filter((p) => !secrets.includes(p.slice(p.indexOf('=') + 1)));
}

/**
 * Outside its maintenance window a runbook is refused (exit 4) unless forced with a reason;
 * then who and why go into the log.
 */
function checkWindow(
  runbook: string,
  window: Plan['window'],
  timezone: string,
  flags: RunFlags,
): { by: string; reason: string } | undefined {
  if (flags.force && !flags.reason?.trim()) throw new UsageError('--force needs --reason "…": the log records why the window was overridden');
  if (!window) return undefined;
  const now = new Date();
  let open: boolean;
  try {
    open = windowState(window, timezone, now).open;
  } catch (err) {
    throw new UsageError(`${runbook}: window: ${(err as Error).message}`);
  }
  if (open) return undefined;
  if (!flags.force) throw new MaintError(formatWindowRefusal(runbook, window, timezone, now), 4);
  return { by: `${whoAmI()}@${hostname()}`, reason: flags.reason!.trim() };
}
