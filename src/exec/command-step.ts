/**
 * One command step: render, spawn through the injected runner, judge the result (exit code,
 * outputs, expect, warn), retry with backoff. Returns a verdict; the executor decides what follows.
 */
import { evaluateBool, toPlain, type CompiledExpr, type ExprContext } from '../expr/cel.js';
import { renderArgv, renderShell, renderText, type Template } from '../expr/template.js';
import { quoteShellWord } from '../expr/shell-quote.js';
import { formatDuration } from '../runbook/duration.js';
import type { CommandSpec, CommandStep } from '../plan/types.js';
import { postContext, preContext, stepsOf, type RunState } from './context.js';
import type { Emit, StepStatus } from './events.js';
import type { Masker } from './mask.js';
import { StreamMasker } from './stream-mask.js';
import type { Command, Runner, SpawnResult } from './runner.js';

export interface StepDeps {
  runner: Runner;
  emit: Emit;
  masker: Masker;
  state: RunState;
  /** Rendered runbook-level env, merged over the process env. */
  baseEnv: Record<string, string>;
  captureLimit: number;
  signal?: AbortSignal;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface Verdict {
  status: StepStatus;
  reason?: string;
  warnings: string[];
  attempts: number;
  exitCode: number | null;
  outputs: Record<string, unknown>;
}

/**
 * Where a process's output goes: masked per stream so that a secret split across two reads is
 * still caught, then emitted. Call `flush` when the process is done.
 */
export function outputSink(masker: Masker, qid: string, emit: Emit) {
  const streams = { stdout: new StreamMasker(masker), stderr: new StreamMasker(masker) };
  const send = (stream: 'stdout' | 'stderr', text: string) => {
    if (text) emit({ type: 'step:output', time: Date.now(), qid, stream, text });
  };
  return {
    onOutput: (stream: 'stdout' | 'stderr', text: string) => send(stream, streams[stream].push(text)),
    flush: () => {
      send('stdout', streams.stdout.flush());
      send('stderr', streams.stderr.flush());
    },
  };
}

/**
 * The command as argv for the runner, and as the masked text people see. `display` is made only
 * when read: the runner needs only the command, and masking and quoting cost on every step.
 */
export function renderCommand(spec: CommandSpec, ctx: Record<string, unknown>, masker: Masker): { command: Command; readonly display: string } {
  if (spec.kind === 'shell') {
    return {
      command: { kind: 'shell', script: renderShell(spec.template, ctx), shell: spec.shell },
      get display() {
        return masker.mask(renderShell(spec.template, ctx, (v) => masker.mask(v)));
      },
    };
  }
  const argv = spec.templates.map((t) => renderArgv(t, ctx));
  return {
    command: { kind: 'argv', argv },
    get display() {
      return masker.mask(argv.map(quoteShellWord).join(' '));
    },
  };
}

/**
 * The env and cwd a step's command (and its rollback) runs with: the base env, then the step's own.
 * A step without env of its own shares the base env (the runner only reads it): no copy per step.
 */
export function stepEnvironment(
  step: CommandStep,
  baseEnv: Readonly<Record<string, string>>,
  ctx: ExprContext,
): { env: Readonly<Record<string, string>>; cwd?: string } {
  let env = baseEnv;
  const own = Object.entries(step.env);
  if (own.length > 0) {
    const merged = { ...baseEnv };
    for (const [k, t] of own) merged[k] = renderNamed(`env.${k}`, t, ctx);
    env = merged;
  }
  return { env, cwd: step.cwd ? renderNamed('cwd', step.cwd, ctx) : undefined };
}

/** Renders one field; an error names the field, so the reason says which one could not be rendered. */
function renderNamed(field: string, t: Template, ctx: ExprContext): string {
  try {
    return renderText(t, ctx);
  } catch (err) {
    throw new Error(`${field}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

export async function runCommandStep(step: CommandStep, deps: StepDeps): Promise<Verdict> {
  const { state, masker, emit } = deps;
  const own = stepsOf(state, step.scope.prefix);
  let delay = step.retry.delayMs;
  let last: Verdict = { status: 'failed', warnings: [], attempts: 0, exitCode: null, outputs: {} };

  for (let attempt = 1; attempt <= step.retry.attempts; attempt++) {
    const pre = preContext(state, step.scope);
    let result: SpawnResult;
    try {
      const { command } = renderCommand(step.command, pre, masker);
      const sink = outputSink(masker, step.qid, emit);
      result = await deps.runner({
        command,
        ...stepEnvironment(step, deps.baseEnv, pre),
        timeoutMs: step.timeoutMs,
        killGraceMs: step.killGraceMs,
        signal: deps.signal,
        captureLimit: deps.captureLimit,
        onOutput: sink.onOutput,
      });
      sink.flush();
    } catch (err) {
      own[step.id] = { status: 'failed', outputs: {}, stdout: '', stderr: '', exit_code: null };
      return { ...last, attempts: attempt, reason: masker.mask(`could not render the command: ${(err as Error).message}`) };
    }

    last = judge(step, result, attempt, pre, masker);
    own[step.id] = {
      status: last.status,
      outputs: last.outputs,
      stdout: result.stdout,
      stderr: result.stderr,
      exit_code: result.exitCode,
    };
    if (last.status !== 'failed' || attempt === step.retry.attempts || result.aborted) return last;

    emit({ type: 'step:retry', time: Date.now(), qid: step.qid, attempt: attempt + 1, attempts: step.retry.attempts, delayMs: delay, reason: last.reason ?? 'failed' });
    await deps.sleep(delay, deps.signal);
    if (deps.signal?.aborted) return { ...last, status: 'interrupted', reason: 'interrupted while waiting to retry' };
    delay = Math.round(delay * step.retry.backoff);
  }
  return last;
}

/** Did this attempt pass? Exit status (unless expect reads exit_code), outputs, expect, then warn. */
function judge(step: CommandStep, r: SpawnResult, attempt: number, pre: Record<string, unknown>, masker: Masker): Verdict {
  const base = { warnings: [] as string[], attempts: attempt, exitCode: r.exitCode, outputs: {} as Record<string, unknown> };
  const fail = (reason: string): Verdict => ({ ...base, status: 'failed', reason: masker.mask(reason) });
  if (r.aborted) return { ...base, status: 'interrupted', reason: 'interrupted' };
  if (r.timedOut) return fail(`timed out after ${formatDuration(step.timeoutMs ?? 0)}`);
  if (r.spawnError) return fail(r.spawnError);
  if (step.failOnExitCode && r.exitCode !== 0) {
    return fail(r.exitCode === null ? `killed by ${r.signal}` : `exit code ${r.exitCode}${lastLine(masker.mask(r.stderr))}`);
  }
  if (step.outputs.length === 0 && step.expect.length === 0 && step.warn.length === 0) return { ...base, status: 'passed' };
  const post = postContext(pre, r, attempt, step.readsJson);
  for (const [name, expr] of step.outputs) {
    try {
      base.outputs[name] = toPlain(expr.evaluate(post));
    } catch (err) {
      return fail(`outputs.${name}: ${(err as Error).message}`);
    }
  }
  if (step.expect.length === 0 && step.warn.length === 0) return { ...base, status: 'passed' };
  // Expectations may read this step's own outputs through steps.<id>. A view over the finished
  // steps rather than a copy: copying them for every step made long runbooks quadratic.
  const own = { status: 'passed', outputs: base.outputs, stdout: r.stdout, stderr: r.stderr, exit_code: r.exitCode ?? -1 };
  const ctx = { ...post, steps: withStep(post.steps ?? {}, step.id, own) };
  for (const e of step.expect) {
    const verdict = check(e, ctx);
    if (verdict !== true) return fail(verdict === false ? `expected ${e.source}` : `expect ${e.source}: ${verdict}`);
  }
  for (const w of step.warn) {
    const verdict = check(w, ctx);
    if (verdict === true) base.warnings.push(`warning: ${w.source}`);
    else if (verdict !== false) base.warnings.push(`warn ${w.source}: ${verdict}`);
  }
  return { ...base, status: base.warnings.length > 0 ? 'warned' : 'passed' };
}

/** `steps` with one more entry, sharing the rest (read-only: expressions never write). */
function withStep<T>(steps: Record<string, T>, id: string, entry: T): Record<string, T> {
  return new Proxy(steps, {
    get: (target, key) => (key === id ? entry : Reflect.get(target, key)),
    has: (target, key) => key === id || Reflect.has(target, key),
    ownKeys: (target) => (Object.hasOwn(target, id) ? Reflect.ownKeys(target) : [...Reflect.ownKeys(target), id]),
    getOwnPropertyDescriptor: (target, key) =>
      key === id ? { value: entry, enumerable: true, configurable: true, writable: false } : Reflect.getOwnPropertyDescriptor(target, key),
  });
}

/** true / false, or the error message when the expression could not be evaluated. */
function check(e: CompiledExpr, ctx: Record<string, unknown>): boolean | string {
  try {
    return evaluateBool(e, ctx);
  } catch (err) {
    return (err as Error).message;
  }
}

/** The reason quotes stderr's last line, cut short: the caller masks first, so no cut can split a secret. */
function lastLine(stderr: string): string {
  const line = stderr.trimEnd().split('\n').pop()?.trim();
  return line ? `: ${line.slice(0, 200)}` : '';
}
