import { createInterface } from 'node:readline/promises';
import type { StepState } from '../../exec/context.js';
import { loadConfig, type ConfigFlags } from '../../config/config.js';
import { listRunDirs, readEvents, writeMetaFile } from '../../record/journal.js';
import { age, chooseRun, formatResumable, stoppedAt, type RunCandidate } from '../../record/resumable.js';
import { UsageError } from '../errors.js';
import { isInteractive } from '../interaction.js';
import { preparePlan } from '../prepare.js';
import { outputOptions, runSession, type OutputFlags } from '../session.js';
import { closeOrphans } from './run.js';

const FINISHED = new Set(['passed', 'warned', 'issue', 'pending', 'skipped']);

export interface ResumeFlags extends ConfigFlags, OutputFlags {
  var?: string[];
}

/** Seams for tests: the clock and the question to a person (only ever asked on a terminal). */
export interface ResumeOptions {
  build?: string;
  now?: () => number;
  interactive?: boolean;
  ask?: (question: string) => Promise<boolean>;
}

export async function resumeCommand(arg: string | undefined, flags: ResumeFlags, opts: ResumeOptions = {}): Promise<number> {
  const now = opts.now ?? Date.now;
  const config = await loadConfig(flags);
  await closeOrphans(config.state);
  const runs = listRunDirs(config.state);
  const dirOf = new Map(runs.map((r) => [r.meta.runId, r.dir]));
  const choice = chooseRun(runs.map((r): RunCandidate => ({ meta: r.meta })), arg);
  if (!choice.ok) {
    // Only the listed runs' journals are read: the state dir keeps every run ever made.
    const listed = choice.resumable.slice(0, 10).map((r) => ({ ...r, step: stoppedAt(r.meta, readEvents(dirOf.get(r.meta.runId)!)) }));
    process.stderr.write(formatResumable(listed, now()).join('\n') + '\n');
    throw new UsageError(`${choice.why}${/^no runs/.test(choice.why) ? ` in ${config.state}` : ''}; nothing was resumed`);
  }
  const { meta } = choice.run;
  const dir = dirOf.get(meta.runId)!;

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
  if (!choice.named && !flags.yes) {
    const what = `run ${meta.runId} (${meta.runbook}, ${meta.status} ${age(now() - meta.startedAt)} ago) from step ${start.qid}`;
    const interactive = opts.interactive ?? isInteractive();
    // Unattended, a bare resume never guesses and never reads stdin: the run is named, or --yes.
    if (!interactive) throw new UsageError(`would resume ${what}: name the run (maint resume ${meta.runId}) or pass --yes; nothing was resumed`);
    if (!(await (opts.ask ?? askOnTerminal)(`Resume ${what}?`))) {
      process.stderr.write('maint: not resumed\n');
      return 1;
    }
  }
  if (!flags.quiet && !flags.json) process.stdout.write(`resuming run ${meta.runId} (${meta.runbook}, ${meta.status}) from step ${start.qid}\n`);
  return runSession(resumed, config, {
    ...outputOptions(flags),
    flags: { var: meta.flags.var, varsFile: meta.flags.varsFile },
    resumedFrom: meta.runId,
    restored,
    onRunId: (runId) => writeMetaFile(dir, { ...meta, resumedBy: runId }),
  });
}

/** A yes/no question on the terminal; end of input (Ctrl-D, a closed terminal) is a no. */
async function askOnTerminal(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const closed = new Promise<string>((resolve) => rl.once('close', () => resolve('')));
  try {
    return /^y(es)?$/i.test((await Promise.race([rl.question(`? ${question} [y/N] `), closed])).trim());
  } finally {
    rl.close();
  }
}
