/**
 * The plan: what a run will do, fully resolved except for values only known while running
 * (step outputs, `now`). `maint plan` and `--dry-run` print it; the executor runs it.
 */
import type { CompiledExpr } from '../expr/cel.js';
import type { Template } from '../expr/template.js';

/** The vars one runbook instance sees: the root runbook, or one `runbook:` include. */
export interface Scope {
  /** Qualified id prefix: '' for the root, `include_id.` for an include. */
  prefix: string;
  runbook: string;
  vars: Record<string, unknown>;
}

export type CommandSpec =
  | { kind: 'shell'; template: Template; shell: string[] }
  | { kind: 'argv'; templates: Template[] };

/** How a step is undone: a command, or (when none can) what a person should do. */
export type RollbackSpec = CommandRollback | ManualRollback;

export interface ManualRollback {
  kind: 'manual';
  text: Template;
}

export interface CommandRollback {
  kind: 'command';
  command: CommandSpec;
  timeoutMs?: number;
  expect: CompiledExpr[];
  /** False when an expectation reads `exit_code`: then it decides, not the exit status. */
  failOnExitCode: boolean;
  /** An expectation reads `json`: parse stdout for it. */
  readsJson: boolean;
}

export interface RetrySpec {
  attempts: number;
  delayMs: number;
  backoff: number;
}

/** What every kind of step has. */
export interface StepBase {
  /** Id within its runbook (what `steps.<id>` reads). */
  id: string;
  /** Id qualified by the includes it sits in: `daily.disk`. Unique in the plan. */
  qid: string;
  name: Template;
  when?: CompiledExpr;
  confirm?: Template;
  continueOnError: boolean;
  readonly: boolean;
  disaster: boolean;
  scope: Scope;
  /** Set when --from / --only leaves this step out: the reason. */
  skip?: string;
}

export interface CommandStep extends StepBase {
  kind: 'command';
  command: CommandSpec;
  /** False when an expectation reads `exit_code`: then it decides, not the exit status. */
  failOnExitCode: boolean;
  /** An expectation, warning or output reads `json`: parse stdout for it. */
  readsJson: boolean;
  expect: CompiledExpr[];
  warn: CompiledExpr[];
  outputs: [string, CompiledExpr][];
  retry: RetrySpec;
  timeoutMs?: number;
  killGraceMs: number;
  env: Record<string, Template>;
  cwd?: Template;
  rollback?: RollbackSpec;
}

export interface ManualStep extends StepBase {
  kind: 'manual';
  text: Template;
}

export interface ParallelStep extends StepBase {
  kind: 'parallel';
  children: PlanStep[];
  concurrency: number;
}

export interface IncludeStep extends StepBase {
  kind: 'include';
  runbook: string;
  /** The included runbook's own scope. */
  inner: Scope;
  children: PlanStep[];
  /** The included runbook's `finally` steps run at the end of the group. */
  finally: PlanStep[];
}

export type PlanStep = CommandStep | ManualStep | ParallelStep | IncludeStep;

export interface Plan {
  runbook: { name: string; title: string; description?: string; file: string };
  scope: Scope;
  /** Runbook-level environment for every step (templates rendered at run time). */
  env: Record<string, Template>;
  requires: string[];
  /** IANA zone of `schedule` and `window` (UTC by default). */
  timezone: string;
  schedule?: string;
  window?: { cron: string; duration: string };
  objectives?: { rtoMs?: number; rpoMs?: number };
  steps: PlanStep[];
  finally: PlanStep[];
  /** Values to mask as `***` wherever they could be printed or written. */
  secrets: string[];
}
