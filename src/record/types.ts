/**
 * What a run leaves behind, reduced from the executor's events: the source for the markdown
 * maintenance log entry, `maint history` and `maint resume`.
 */
import type { RunStatus, StepStatus } from '../exec/events.js';
import type { DrResult } from './dr.js';

/** How the run was started: a person at a terminal, cron (no terminal, no CI), or a CI job. */
export type RunVia = 'terminal' | 'cron' | 'CI';

export interface StepRecord {
  qid: string;
  name: string;
  phase: 'steps' | 'finally';
  status: StepStatus;
  durationMs: number;
  attempts: number;
  reason?: string;
  warnings?: string[];
  /** Path of the file holding the step's full (masked) output, when it printed anything. */
  outputFile?: string;
}

export interface RollbackRecord {
  qid: string;
  name: string;
  ok: boolean;
  durationMs: number;
  reason?: string;
  /** Nothing ran: what a person should do to undo the step. */
  manual?: string;
  /** Not run: a second signal skipped the rollbacks (the step's change is still in place). */
  skipped?: boolean;
}

/**
 * A run closed by a later maint command: the maint that ran it stopped (SIGKILL, OOM, power)
 * without recording how the run ended, so its journal is all there is.
 */
export interface RecoveredRun {
  /** The maint process that stopped. */
  pid: number;
  /** When the journal last heard from the run: the end of its measured duration. */
  lastSeenAt: number;
  /** What that last sign was: `a journal event`, or `output of <step>`. */
  lastSeen: string;
}

export interface RunRecord {
  runId: string;
  runbook: string;
  title: string;
  /** `user@host`. */
  by: string;
  via: RunVia;
  /** The CI pipeline's URL, where the CI exposes one. */
  ciUrl?: string;
  startedAt: number;
  durationMs: number;
  status: RunStatus;
  exitCode: number;
  steps: StepRecord[];
  rollbacks: RollbackRecord[];
  /** The run this one resumed, if any. */
  resumedFrom?: string;
  /** Where a paused run waits. */
  pausedAt?: string;
  /** Problems around the run that did not change its result (a webhook that was down, …). */
  notices?: string[];
  /** Set when the run was started outside its maintenance window with --force. */
  forced?: { by: string; reason: string };
  /**
   * A runbook with `objectives`: the measured RTO and RPO. When they are missed in a run whose
   * steps all passed, the run is `failed` with exit 1.
   */
  dr?: DrResult;
  /** Set when a later maint command closed the run from its journal. */
  recovered?: RecoveredRun;
}
