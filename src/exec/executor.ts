/**
 * The executor: walks a Plan, the only place where steps run (through the injected Runner).
 * Failure handling follows the spec: on a failure no further step starts; then, newest first,
 * the rollback of the failed step and of every completed step that has one; then `finally`.
 */
import { renderText } from '../expr/template.js';
import { evaluateBool } from '../expr/cel.js';
import type { CommandStep, Plan, PlanStep } from '../plan/types.js';
import { formatDuration } from '../runbook/duration.js';
import { postContext, preContext, stepsOf, type RunState, type StepState } from './context.js';
import { flatten } from '../plan/plan.js';
import { outputSink, renderCommand, runCommandStep, stepEnvironment, type StepDeps, type Verdict } from './command-step.js';
import type { Emit, Phase, RunStatus, StepStatus } from './events.js';
// Outputs can hold what a command printed: maskDeep masks keys, strings and numbers that print as a secret.
import { Masker, maskDeep } from './mask.js';
import type { Runner } from './runner.js';
import { sleep } from './timers.js';

/** A person's answer to a `confirm` step: go ahead, abort the run, or stop here for `maint resume`. */
export type ConfirmAnswer = 'yes' | 'no' | 'pause';

/** How the executor reaches a person. Never touches stdin unless `interactive`. */
export interface Interaction {
  /** A person is at a terminal and may be asked. */
  interactive: boolean;
  /** `--yes`: confirm steps go ahead without asking. */
  yes: boolean;
  /** Ask a yes/no question (is a manual task done?); only called when interactive. */
  ask(question: string): Promise<boolean>;
  /** Ask before a `confirm` step; only called when interactive and not `yes`. */
  confirm(question: string): Promise<ConfirmAnswer>;
  /** Who answers (`user@host`): a declined confirm is recorded as declined by them. */
  who: string;
}

export interface ExecOptions {
  runner: Runner;
  emit: Emit;
  runId: string;
  /** The process environment steps inherit. */
  env: Record<string, string>;
  interaction: Interaction;
  noRollback?: boolean;
  /** First SIGINT/SIGTERM: stop the running step, roll back, run finally. */
  signal?: AbortSignal;
  /** Second SIGINT: skip rollbacks and finally, just record. */
  hardSignal?: AbortSignal;
  /** Exit code for an interrupted run (130 for SIGINT, 143 for SIGTERM). */
  interruptCode?: () => number;
  /** Bytes of stdout / stderr kept per step for expressions. */
  captureLimit?: number;
  /**
   * Resuming: what earlier steps left (by qid), restored from the journal. Those steps are
   * skipped, their outputs stay readable, and their rollbacks still run if the run fails.
   */
  restored?: Map<string, StepState>;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface RunResult {
  status: RunStatus;
  exitCode: number;
  pausedAt?: string;
}

export const DEFAULT_CAPTURE_LIMIT = 4 * 1024 * 1024;

export const EXIT = { passed: 0, failed: 1, invalid: 2, rollback_failed: 3, window: 4, paused: 5, locked: 75 } as const;

type Outcome = 'ok' | 'stop' | 'pause';

/** Why an expression or template could not be evaluated, for a reason line. */
function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function execute(plan: Plan, opts: ExecOptions): Promise<RunResult> {
  const started = Date.now();
  const masker = new Masker(plan.secrets);
  const emit = opts.emit;
  const state: RunState = {
    runbook: { name: plan.runbook.name, run_id: opts.runId, title: plan.runbook.title },
    env: opts.env,
    steps: new Map(),
  };
  const rootCtx = preContext(state, plan.scope);
  const baseEnv = { ...opts.env };
  // A runbook env that cannot be rendered stops the run before any step: the steps would run
  // without it. `finally` still runs, with the entries that could be rendered.
  const envErrors: string[] = [];
  for (const [k, t] of Object.entries(plan.env)) {
    try {
      baseEnv[k] = renderText(t, rootCtx);
    } catch (err) {
      envErrors.push(`env.${k}: ${messageOf(err)}`);
    }
  }
  const deps: StepDeps = {
    runner: opts.runner,
    emit,
    masker,
    state,
    baseEnv,
    captureLimit: opts.captureLimit ?? DEFAULT_CAPTURE_LIMIT,
    signal: opts.signal,
    sleep: opts.sleep ?? sleep,
  };
  /** Completed steps with a rollback, in completion order. */
  const undo: CommandStep[] = [];
  let pausedAt: string | undefined;
  /** A person declined a confirm: the run aborts, `continue_on_error` of groups notwithstanding. */
  let declined = false;

  // Resumed runs: earlier steps' states come back, and their rollbacks go on the stack.
  if (opts.restored) {
    for (const step of flatten([...plan.steps, ...plan.finally])) {
      const prior = opts.restored.get(step.qid);
      if (prior) stepsOf(state, step.scope.prefix)[step.id] = { ...prior };
    }
  }

  emit({ type: 'run:start', time: started, runId: opts.runId, runbook: plan.runbook.name, title: plan.runbook.title, dryRun: false });

  /** `name`: as the step's start showed it (rendered once: every step pays for it). */
  const end = (step: PlanStep, phase: Phase, status: StepStatus, t0: number, v: Partial<Verdict>, name = nameOf(step)) =>
    emit({
      type: 'step:end', time: Date.now(), qid: step.qid, name, phase, status, durationMs: Date.now() - t0,
      attempts: v.attempts ?? 0, exitCode: v.exitCode, reason: v.reason && masker.mask(v.reason), warnings: v.warnings?.map((w) => masker.mask(w)),
      outputs: v.outputs && (maskDeep(v.outputs, masker) as Record<string, unknown>),
    });

  const record = (step: PlanStep, status: StepStatus) => {
    stepsOf(state, step.scope.prefix)[step.id] ??= { status, outputs: {}, stdout: '', stderr: '', exit_code: null };
    stepsOf(state, step.scope.prefix)[step.id]!.status = status;
  };

  /** The step's name as people see it; its source when it cannot be rendered. */
  const nameOf = (step: PlanStep) => {
    try {
      return masker.mask(renderText(step.name, preContext(state, step.scope)));
    } catch {
      return step.name.source;
    }
  };

  const skip = (step: PlanStep, phase: Phase, reason: string) => {
    record(step, 'skipped');
    end(step, phase, 'skipped', Date.now(), { reason });
  };

  /**
   * The step cannot run as written (a template or expression error before its command): it fails
   * with the reason, or is an issue under `continue_on_error`. Nothing of it ran, so no rollback.
   */
  const failBefore = (step: PlanStep, phase: Phase, t0: number, reason: string, name = nameOf(step)): Outcome => {
    const status: StepStatus = step.continueOnError ? 'issue' : 'failed';
    record(step, status);
    emit({ type: 'step:start', time: t0, qid: step.qid, name, phase });
    end(step, phase, status, t0, { reason }, name);
    return step.continueOnError ? 'ok' : 'stop';
  };

  /** Run one step of any kind. 'stop' ends the phase, 'pause' the whole run. */
  const runStep = async (step: PlanStep, phase: Phase): Promise<Outcome> => {
    const t0 = Date.now();
    if (step.skip) {
      const prior = opts.restored?.get(step.qid);
      if (prior) {
        for (const s of flatten([step])) {
          const p = opts.restored?.get(s.qid);
          if (s.kind === 'command' && s.rollback && p && (p.status === 'passed' || p.status === 'warned')) undo.push(s);
        }
      } else record(step, 'skipped');
      end(step, phase, 'skipped', t0, { reason: step.skip });
      return 'ok';
    }
    const signal = phase === 'finally' ? opts.hardSignal : opts.signal;
    if (signal?.aborted) {
      skip(step, phase, 'not run: interrupted');
      return 'stop';
    }
    if (step.when) {
      let go: boolean;
      try {
        go = evaluateBool(step.when, preContext(state, step.scope));
      } catch (err) {
        return failBefore(step, phase, t0, `when ${step.when.source}: ${messageOf(err)}`);
      }
      if (!go) {
        skip(step, phase, `when ${step.when.source} is false`);
        return 'ok';
      }
    }
    let name: string;
    try {
      name = masker.mask(renderText(step.name, preContext(state, step.scope)));
    } catch (err) {
      return failBefore(step, phase, t0, `name: ${messageOf(err)}`, step.name.source);
    }
    if (step.confirm && !opts.interaction.yes) {
      let question: string;
      try {
        question = masker.mask(renderText(step.confirm, preContext(state, step.scope)));
      } catch (err) {
        return failBefore(step, phase, t0, `confirm: ${messageOf(err)}`, name);
      }
      // Unattended, nothing ever reads stdin: the run pauses here for `maint resume --yes`.
      const answer = opts.interaction.interactive ? await opts.interaction.confirm(question) : 'pause';
      if (answer === 'no') {
        // A "no" is an answer about the whole change: abort it (rollbacks, finally), as a failure.
        declined = true;
        record(step, 'failed');
        end(step, phase, 'failed', t0, { reason: `declined by ${opts.interaction.who}: ${question}` }, name);
        return 'stop';
      }
      if (answer === 'pause' && phase === 'finally') {
        // The run is ending: finally cannot wait for a person. The step is not run and the rest of
        // finally goes on, but clean-up left undone is no pass: the run fails and says why.
        record(step, 'failed');
        end(step, phase, 'failed', t0, { reason: `not run: waits for confirmation: ${question} (unattended: run with --yes)` }, name);
        return 'stop';
      }
      if (answer === 'pause') {
        record(step, 'paused');
        pausedAt = step.qid;
        end(step, phase, 'paused', t0, {
          reason: opts.interaction.interactive
            ? `paused by ${opts.interaction.who}: ${question} (resume with maint resume)`
            : `waits for confirmation: ${question} (unattended: resume with --yes)`,
        }, name);
        return 'pause';
      }
    }

    if (step.kind === 'manual') {
      let task: string;
      try {
        task = masker.mask(renderText(step.text, preContext(state, step.scope)));
      } catch (err) {
        return failBefore(step, phase, t0, `manual: ${messageOf(err)}`, name);
      }
      emit({ type: 'step:start', time: t0, qid: step.qid, name, phase });
      const done = opts.interaction.interactive ? await opts.interaction.ask(`${task}\n  Done?`) : false;
      record(step, done ? 'passed' : 'pending');
      end(step, phase, done ? 'passed' : 'pending', t0, { reason: task }, name);
      return 'ok';
    }

    if (step.kind === 'command') {
      emit({ type: 'step:start', time: t0, qid: step.qid, name, phase, command: safeDisplay(step, state, masker) });
      const v = await runCommandStep(step, { ...deps, signal });
      const status: StepStatus = v.status === 'failed' && step.continueOnError ? 'issue' : v.status;
      stepsOf(state, step.scope.prefix)[step.id]!.status = status;
      if (step.rollback) undo.push(step);
      end(step, phase, status, t0, v, name);
      return status === 'failed' || status === 'interrupted' ? 'stop' : 'ok';
    }

    // Groups: parallel children at once (bounded), include children in order in their own scope.
    emit({ type: 'step:start', time: t0, qid: step.qid, name, phase });
    let outcome: Outcome;
    if (step.kind === 'parallel') outcome = await runParallel(step.children, step.concurrency, phase);
    else {
      outcome = await runSequence(step.children, phase);
      // Paused, the include is not over (like the run): its finally runs when it ends after resume.
      if (outcome !== 'pause') {
        const fin = await runSequence(step.finally, 'finally', true);
        if (outcome === 'ok') outcome = fin;
      }
    }
    const statuses = step.children.map((c) => stepsOf(state, c.scope.prefix)[c.id]?.status);
    const abort = outcome === 'stop' && (declined || !step.continueOnError);
    const status: StepStatus =
      outcome === 'pause' ? 'paused'
      : statuses.includes('interrupted') ? 'interrupted'
      : outcome === 'stop' ? (abort ? 'failed' : 'issue')
      : statuses.some((s) => s === 'warned' || s === 'issue') ? 'warned'
      : 'passed';
    record(step, status);
    end(step, phase, status, t0, {
      reason: outcome === 'stop' ? `failed: ${step.children.filter((c) => isFailure(stepsOf(state, c.scope.prefix)[c.id]?.status)).map((c) => c.id).join(', ')}` : undefined,
    }, name);
    if (outcome === 'pause') return 'pause';
    return abort ? 'stop' : 'ok';
  };

  const runSequence = async (steps: PlanStep[], phase: Phase, keepGoing = false): Promise<Outcome> => {
    let outcome = 'ok' as Outcome;
    for (const step of steps) {
      if (outcome !== 'ok' && !keepGoing) {
        skip(step, phase, 'not run: an earlier step failed');
        continue;
      }
      const o = await runStep(step, phase);
      if (o === 'pause') return 'pause';
      if (o !== 'ok') outcome = 'stop';
    }
    return outcome;
  };

  const runParallel = async (steps: PlanStep[], concurrency: number, phase: Phase): Promise<Outcome> => {
    let next = 0;
    let outcome = 'ok' as Outcome;
    const worker = async () => {
      while (next < steps.length) {
        const step = steps[next++]!;
        if (outcome !== 'ok') {
          skip(step, phase, outcome === 'pause' ? 'not run: paused' : 'not run: a parallel step failed');
          continue;
        }
        const o = await runStep(step, phase);
        // A pause wins over a failure: the run must stop where a person is asked.
        if (o === 'pause') outcome = 'pause';
        else if (o !== 'ok' && (outcome as Outcome) === 'ok') outcome = 'stop';
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, steps.length) }, worker));
    return outcome;
  };

  let mainOutcome: Outcome;
  if (envErrors.length > 0) {
    const reason = masker.mask(`not run: the runbook env could not be rendered: ${envErrors.join('; ')}`);
    for (const step of plan.steps) skip(step, 'steps', reason);
    mainOutcome = 'stop';
  } else mainOutcome = await runSequence(plan.steps, 'steps');
  const failed = mainOutcome === 'stop';

  if (mainOutcome === 'pause') {
    // A paused run is not over: no rollback, no finally; `maint resume --yes` goes on from here.
    return finish('paused', EXIT.paused);
  }

  let rollbackFailed = false;
  if (failed && !opts.noRollback) {
    for (const step of [...undo].reverse()) {
      // A second signal skips the rollbacks that have not started; each is recorded as skipped.
      if (!(await rollback(step))) rollbackFailed = true;
    }
  }

  const finOutcome = await runSequence(plan.finally, 'finally', true);
  const finallyFailed = finOutcome === 'stop';

  // A signal at any point (steps, rollbacks or finally) makes the run interrupted.
  if (opts.signal?.aborted || opts.hardSignal?.aborted) return finish('interrupted', opts.interruptCode?.() ?? 130);
  if (rollbackFailed) return finish('rollback_failed', EXIT.rollback_failed);
  if (failed || finallyFailed) return finish('failed', EXIT.failed);
  return finish('passed', EXIT.passed);

  function finish(status: RunStatus, exitCode: number): RunResult {
    emit({ type: 'run:end', time: Date.now(), status, exitCode, durationMs: Date.now() - started, pausedAt });
    return { status, exitCode, pausedAt };
  }

  async function rollback(step: CommandStep): Promise<boolean> {
    const spec = step.rollback!;
    const t0 = Date.now();
    const name = nameOf(step);
    const ctx = preContext(state, step.scope);
    if (spec.kind === 'manual') {
      // Nothing runs: the text goes to the log's follow-ups for a person.
      let manual: string;
      try {
        manual = masker.mask(renderText(spec.text, ctx));
      } catch (err) {
        manual = masker.mask(`undo by hand (could not render the instructions: ${messageOf(err)})`);
      }
      emit({ type: 'rollback:manual', time: t0, qid: step.qid, name, text: manual });
      return true;
    }
    if (opts.hardSignal?.aborted) {
      emit({ type: 'rollback:end', time: t0, qid: step.qid, name, ok: false, skipped: true, durationMs: 0, reason: 'skipped: interrupted again' });
      return false;
    }
    let ok = false;
    let reason: string | undefined;
    try {
      const { command, display } = renderCommand(spec.command, ctx, masker);
      const env = stepEnvironment(step, baseEnv, ctx);
      emit({ type: 'rollback:start', time: t0, qid: step.qid, name, command: display });
      const sink = outputSink(masker, `${step.qid}:rollback`, emit);
      const r = await opts.runner({
        command, ...env, timeoutMs: spec.timeoutMs, killGraceMs: step.killGraceMs, signal: opts.hardSignal,
        captureLimit: deps.captureLimit,
        onOutput: sink.onOutput,
      });
      sink.flush();
      if (r.timedOut) reason = `timed out after ${formatDuration(spec.timeoutMs ?? 0)}`;
      else if (r.spawnError) reason = r.spawnError;
      else if (r.aborted) reason = 'interrupted';
      else if (spec.failOnExitCode && r.exitCode !== 0) reason = `exit code ${r.exitCode}`;
      else {
        const post = postContext(ctx, r, 1, spec.readsJson);
        for (const e of spec.expect) {
          let verdict: boolean | string;
          try {
            verdict = evaluateBool(e, post);
          } catch (err) {
            verdict = messageOf(err);
          }
          if (verdict === true) continue;
          reason = verdict === false ? `expected ${e.source}` : `expect ${e.source}: ${verdict}`;
          break;
        }
        ok = reason === undefined;
      }
    } catch (err) {
      reason = `could not render the rollback: ${messageOf(err)}`;
    }
    emit({ type: 'rollback:end', time: Date.now(), qid: step.qid, name, ok, durationMs: Date.now() - t0, reason: reason && masker.mask(reason) });
    return ok;
  }
}


function isFailure(s: StepStatus | undefined): boolean {
  return s === 'failed' || s === 'interrupted';
}

function safeDisplay(step: CommandStep, state: RunState, masker: Masker): string | undefined {
  try {
    return renderCommand(step.command, preContext(state, step.scope), masker).display;
  } catch {
    return undefined;
  }
}
