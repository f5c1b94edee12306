/**
 * What the executor tells the world: a discriminated union. Every reporter, and later the
 * journal and the log writer, consume this one stream; a `switch` over `type` with a `never`
 * default makes the compiler catch an event kind a consumer forgot.
 */
import type { DrResult } from '../record/dr.js';

export type StepStatus =
  | 'passed'
  | 'warned'
  | 'failed'
  /** Failed under `continue_on_error`: recorded as an issue, the run goes on. */
  | 'issue'
  | 'skipped'
  /** A manual task not done yet (unattended, or the person said not yet). */
  | 'pending'
  | 'interrupted'
  /** A `confirm` step the run stopped before. */
  | 'paused';

export type RunStatus = 'passed' | 'failed' | 'rollback_failed' | 'paused' | 'interrupted';
export type Phase = 'steps' | 'finally';

export type RunEvent =
  | { type: 'run:start'; time: number; runId: string; runbook: string; title: string; dryRun: boolean }
  | { type: 'step:start'; time: number; qid: string; name: string; phase: Phase; command?: string }
  | { type: 'step:output'; time: number; qid: string; stream: 'stdout' | 'stderr'; text: string }
  | { type: 'step:retry'; time: number; qid: string; attempt: number; attempts: number; delayMs: number; reason: string }
  | {
      type: 'step:end';
      time: number;
      qid: string;
      name: string;
      phase: Phase;
      status: StepStatus;
      durationMs: number;
      attempts: number;
      exitCode?: number | null;
      /** Why it failed, was skipped, paused or is pending. */
      reason?: string;
      warnings?: string[];
      outputs?: Record<string, unknown>;
    }
  | { type: 'rollback:start'; time: number; qid: string; name: string; command: string }
  | { type: 'rollback:end'; time: number; qid: string; name: string; ok: boolean; durationMs: number; reason?: string }
  /** No command can undo the step: what a person should do instead. Nothing ran. */
  | { type: 'rollback:manual'; time: number; qid: string; name: string; text: string }
  /** A runbook with `objectives` measured (record/dr.ts): sent by the session just before run:end. */
  | { type: 'dr'; time: number; dr: DrResult }
  | { type: 'run:end'; time: number; status: RunStatus; exitCode: number; durationMs: number; pausedAt?: string };

export type RunEventType = RunEvent['type'];
export type Emit = (event: RunEvent) => void;
