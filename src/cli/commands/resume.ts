import type { StepState } from '../../exec/context.js';
import { loadConfig, type ConfigFlags } from '../../config/config.js';
import { listRunDirs, readEvents, writeMetaFile } from '../../record/journal.js';
import { UsageError } from '../errors.js';
import { preparePlan } from '../prepare.js';
import { outputOptions, runSession, type OutputFlags } from '../session.js';
import { closeOrphans } from './run.js';

const RESUMABLE = new Set(['failed', 'paused', 'interrupted']);
const FINISHED = new Set(['passed', 'warned', 'issue', 'pending', 'skipped']);

export interface ResumeFlags extends ConfigFlags, OutputFlags {
  var?: string[];
}

export async function resumeCommand(arg: string | undefined, flags: ResumeFlags, opts: { build?: string } = {}): Promise<number> {
  const config = await loadConfig(flags);
  await closeOrphans(config.state);
  const runs = listRunDirs(config.state);
  const target = !arg || arg === 'last' ? runs.find((r) => RESUMABLE.has(r.meta.status) && !r.meta.resumedBy) : runs.find((r) => r.meta.runId === arg);
  if (!target) throw new UsageError(arg && arg !== 'last' ? `no run ${arg} in ${config.state}` : `no failed, paused or interrupted run to resume in ${config.state}`);
  const { meta, dir } = target;
  if (meta.resumedBy) throw new UsageError(`run ${meta.runId} was already resumed by run ${meta.resumedBy}; resume that one instead`);
  if (meta.status === 'rollback_failed') throw new UsageError(`run ${meta.runId}: a rollback failed; check the system by hand, then start a new run`);
  if (!RESUMABLE.has(meta.status)) throw new UsageError(`run ${meta.runId} ${meta.status === 'running' ? 'is still running' : `ended ${meta.status}`}: nothing to resume`);

  // What each step left, and where to start: the first top-level step that did not finish, or
  // an earlier one whose change a rollback undid.
  const events = readEvents(dir);
  const restored = new Map<string, StepState>();
  const rolledBack = new Set<string>();
  for (const e of events) {
    if (e.type === 'step:end' && e.phase === 'steps') {
      restored.set(e.qid, { status: e.status, outputs: e.outputs ?? {}, stdout: '', stderr: '', exit_code: e.exitCode ?? null });
    }
    if (e.type === 'rollback:end' || e.type === 'rollback:manual') rolledBack.add(e.qid);
  }
  const { plan } = await preparePlan(meta.file, { ...flags, var: [...meta.flags.var, ...(flags.var ?? [])], varsFile: meta.flags.varsFile }, { build: opts.build, write: true });
  const ownQids = (step: (typeof plan.steps)[number]): string[] =>
    step.kind === 'parallel' || step.kind === 'include' ? [step.qid, ...step.children.flatMap(ownQids)] : [step.qid];
  const start = plan.steps.find((s) => {
    const st = restored.get(s.qid)?.status;
    return !st || !FINISHED.has(st) || ownQids(s).some((q) => rolledBack.has(q));
  });
  if (!start) throw new UsageError(`run ${meta.runId}: every step finished; nothing to resume`);
  const { plan: resumed } = await preparePlan(meta.file, {
    ...flags, var: [...meta.flags.var, ...(flags.var ?? [])], varsFile: meta.flags.varsFile, from: start.qid,
  }, { build: opts.build, write: true });
  // Only the steps before the start point count as done.
  const done = new Set(plan.steps.slice(0, plan.steps.indexOf(start)).flatMap(ownQids));
  for (const q of [...restored.keys()]) if (!done.has(q)) restored.delete(q);
  if (!flags.quiet && !flags.json) process.stdout.write(`resuming run ${meta.runId} (${meta.runbook}, ${meta.status}) from step ${start.qid}\n`);
  return runSession(resumed, config, {
    ...outputOptions(flags),
    flags: { var: meta.flags.var, varsFile: meta.flags.varsFile },
    resumedFrom: meta.runId,
    restored,
    onRunId: (runId) => writeMetaFile(dir, { ...meta, resumedBy: runId }),
  });
}
