import type { Plan } from '../../plan/types.js';
import { disasterStep } from '../../record/dr.js';
import { UsageError } from '../errors.js';
import { runCommand, type RunFlags } from './run.js';

/** The runbook `maint dr-test` runs when none is named. */
export const DEFAULT_DR_RUNBOOK = 'dr-test';

/**
 * `maint dr-test [NAME]`: `maint run` for a DR runbook. Any run of a runbook with `objectives`
 * is measured; this command also refuses (exit 2) a runbook that could not be.
 */
export function drTestCommand(name: string | undefined, flags: RunFlags, opts: { build?: string } = {}): Promise<number> {
  return runCommand(name ?? DEFAULT_DR_RUNBOOK, flags, { ...opts, check: requireDrRunbook });
}

/** A DR test needs targets to measure against and an outage to measure from. */
export function requireDrRunbook(plan: Plan): void {
  const problems: string[] = [];
  const o = plan.objectives;
  if (o?.rtoMs === undefined && o?.rpoMs === undefined) problems.push('no `objectives` (e.g. `objectives: { rto: 4h, rpo: 1h }`)');
  if (!disasterStep(plan.steps)) problems.push('no step marked `disaster: true` (the step that simulates the outage)');
  if (problems.length === 0) return;
  throw new UsageError(`${plan.runbook.file}: not a DR test: ${problems.join('; ')}; nothing was run`);
}
