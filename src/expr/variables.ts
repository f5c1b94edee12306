/**
 * The names a runbook expression can read, with their CEL types. Kept free
 * of the CEL library so validation can list them without loading it.
 */

/** A variable declared in the CEL environment. */
export interface ExprVariable {
  readonly name: string;
  /** CEL type as the library spells it. */
  readonly type: string;
  readonly description: string;
}

/** Names readable in every expression. */
export const BASE_VARIABLES: readonly ExprVariable[] = [
  { name: 'vars', type: 'map<string, dyn>', description: 'Runbook vars after templating' },
  { name: 'env', type: 'map<string, string>', description: 'Environment variables' },
  { name: 'steps', type: 'map<string, maint.Step>', description: 'Earlier steps: outputs, stdout, stderr, exit_code, status' },
  { name: 'now', type: 'google.protobuf.Timestamp', description: 'Current time' },
  { name: 'runbook', type: 'maint.Runbook', description: 'The run: name, run_id' },
];

/** Names readable only after a step's command ran (`expect`, `warn`, `outputs`). */
export const COMMAND_VARIABLES: readonly ExprVariable[] = [
  { name: 'exit_code', type: 'int', description: 'Exit code of the command' },
  { name: 'stdout', type: 'string', description: 'Standard output of the command' },
  { name: 'stderr', type: 'string', description: 'Standard error of the command' },
  { name: 'json', type: 'dyn', description: 'stdout parsed as JSON' },
  { name: 'duration', type: 'google.protobuf.Duration', description: "The step's duration" },
  { name: 'attempt', type: 'int', description: 'Attempt number, from 1' },
];

/** Field types of `maint.Step`, the type of `steps.<id>`. */
export const STEP_FIELDS = {
  outputs: 'map<string, dyn>',
  stdout: 'string',
  stderr: 'string',
  exit_code: 'int',
  status: 'string',
} as const;

/** Field types of `maint.Runbook`, the type of `runbook`. */
export const RUNBOOK_FIELDS = { name: 'string', run_id: 'string' } as const;
