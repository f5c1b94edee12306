/**
 * Which run `maint resume` picks (pure). A run named by id is that run. With no run named, only
 * the newest run of the state dir is a candidate: resuming an older one (another runbook's
 * dr-test, say) from its destructive step because something newer ended well is exactly the
 * surprise this prevents. When the newest cannot be resumed, the caller lists the runs that can.
 */
import type { RunEvent } from '../exec/events.js';
import type { RunMetaFile } from './journal.js';

/** How a run must have ended to be resumed. */
export const RESUMABLE: ReadonlySet<string> = new Set(['failed', 'paused', 'interrupted']);

/** A run as the picker sees it. */
export interface RunCandidate {
  meta: RunMetaFile;
  /** The step it stopped at (see stoppedAt), for the list shown to a person. */
  step?: string;
}

export type ResumeChoice =
  | { ok: true; run: RunCandidate; named: boolean }
  /** `resumable`: the runs that could be resumed instead, newest first. */
  | { ok: false; why: string; resumable: RunCandidate[] };

/** Why `meta` cannot be resumed, or undefined when it can. */
export function notResumable(meta: RunMetaFile): string | undefined {
  if (meta.resumedBy) return `was already resumed by run ${meta.resumedBy}; resume that one instead`;
  if (meta.status === 'rollback_failed') return 'had a rollback fail; check the system by hand, then start a new run';
  if (meta.status === 'running') return 'is still running';
  if (!RESUMABLE.has(meta.status)) return `ended ${meta.status.replace('_', ' ')}: nothing to resume`;
  return undefined;
}

/**
 * The run to resume. `arg` is a run id, `last` or nothing (both: the newest run); `runs` come
 * newest first, as listRunDirs gives them.
 */
export function chooseRun(runs: RunCandidate[], arg: string | undefined): ResumeChoice {
  const resumable = runs.filter((r) => notResumable(r.meta) === undefined);
  const named = arg !== undefined && arg !== 'last';
  // A refused run ran nothing: a cron attempt refused after an edit must not hide the paused run.
  const run = named ? runs.find((r) => r.meta.runId === arg) : runs.find((r) => r.meta.status !== 'refused');
  if (!run) return { ok: false, why: named ? `no run ${arg}` : 'no runs recorded', resumable };
  const why = notResumable(run.meta);
  if (why) return { ok: false, why: `${named ? 'run' : 'the newest run,'} ${run.meta.runId} (${run.meta.runbook})${named ? '' : ','} ${why}`, resumable };
  return { ok: true, run, named };
}

/** Where a run stopped, from its events: where it paused, else the first main step that did not finish. */
export function stoppedAt(meta: Pick<RunMetaFile, 'pausedAt'>, events: RunEvent[]): string | undefined {
  if (meta.pausedAt) return meta.pausedAt;
  const started = new Set<string>();
  for (const e of events) {
    if (e.type === 'step:start' && e.phase === 'steps') started.add(e.qid);
    if (e.type === 'step:end' && e.phase === 'steps') {
      started.delete(e.qid);
      if (e.status === 'failed' || e.status === 'interrupted' || e.status === 'paused') return e.qid;
    }
  }
  // A run whose maint died: the step still running.
  return [...started].pop();
}

/** How long ago, coarsely: `40s`, `12m`, `5h`, `3d`. */
export function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** The runs that can be resumed, as a table for a person: run, runbook, step, age. */
export function formatResumable(runs: RunCandidate[], now: number, max = 10): string[] {
  if (runs.length === 0) return ['no failed, paused or interrupted run can be resumed'];
  const shown = runs.slice(0, max);
  const w = Math.max(7, ...shown.map((r) => r.meta.runbook.length));
  const sw = Math.max(4, ...shown.map((r) => (r.step ?? '-').length));
  const lines = [
    'runs that can be resumed (name one: maint resume RUN):',
    `  ${'RUN'.padEnd(24)}  ${'RUNBOOK'.padEnd(w)}  ${'STEP'.padEnd(sw)}  ${'RESULT'.padEnd(11)}  AGE`,
    ...shown.map((r) => `  ${r.meta.runId.padEnd(24)}  ${r.meta.runbook.padEnd(w)}  ${(r.step ?? '-').padEnd(sw)}  ${r.meta.status.padEnd(11)}  ${age(now - r.meta.startedAt)}`),
  ];
  if (runs.length > max) lines.push(`  … and ${runs.length - max} older (maint history)`);
  return lines;
}
