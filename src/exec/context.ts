/**
 * What expressions and templates can read while a run goes: vars of the step's scope, env,
 * the steps finished so far, now, the runbook; after a command, its result.
 */
import { parse as parseYaml } from 'yaml';
import { celDuration, type ExprContext } from '../expr/cel.js';
import type { SpawnResult } from './runner.js';
import type { StepStatus } from './events.js';

/** What `steps.<id>` reads. */
export interface StepState {
  status: StepStatus;
  outputs: Record<string, unknown>;
  stdout: string;
  stderr: string;
  exit_code: number | null;
}

export interface RunState {
  runbook: { name: string; run_id: string; title: string };
  env: Record<string, string>;
  /** Step states by scope prefix, then by id. */
  steps: Map<string, Record<string, StepState>>;
}

export function stepsOf(state: RunState, prefix: string): Record<string, StepState> {
  let s = state.steps.get(prefix);
  if (!s) state.steps.set(prefix, (s = {}));
  return s;
}

/** Names readable before a command runs. */
export function preContext(state: RunState, scope: { prefix: string; vars: Record<string, unknown> }): ExprContext {
  return {
    vars: scope.vars,
    env: state.env,
    steps: stepsOf(state, scope.prefix),
    now: new Date(),
    runbook: state.runbook,
  };
}

/** Adds the command's result: exit_code, stdout, stderr, json, duration, attempt. */
export function postContext(pre: ExprContext, result: SpawnResult, attempt: number, wantJson: boolean): ExprContext {
  return {
    ...pre,
    exit_code: result.exitCode ?? -1,
    stdout: result.stdout,
    stderr: result.stderr,
    json: wantJson ? parseStructured(result.stdout) : null,
    duration: celDuration(result.durationMs),
    attempt,
  };
}

/** YAML is tried on at most this much stdout: its parser's time and memory grow much faster than the text. */
export const MAX_YAML_BYTES = 256 * 1024;

/**
 * stdout as JSON, else YAML (kubectl -o yaml, restic), else null. Text that starts like JSON (`{`,
 * `[`) and is not JSON (NDJSON, one object a line) is not tried as YAML: as YAML flow nodes it took
 * seconds and hundreds of MB per 100 KB, and is never a YAML document either.
 */
export function parseStructured(text: string): unknown {
  const t = text.trim();
  if (t === '') return null;
  try {
    return JSON.parse(t);
  } catch {
    if (t.startsWith('{') || t.startsWith('[') || Buffer.byteLength(t) > MAX_YAML_BYTES) return null;
    try {
      const v: unknown = parseYaml(t, { maxAliasCount: 100 });
      return typeof v === 'object' ? v : null;
    } catch {
      return null;
    }
  }
}
