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
import { Masker } from './mask.js';
import type { Runner } from './runner.js';

/** How the executor reaches a person. Never touches stdin unless `interactive`. */
export interface Interaction {
  /** A person is at a terminal and may be asked. */
  interactive: boolean;
  /** `--yes`: confirm steps go ahead without asking. */
  yes: boolean;
  /** Ask a yes/no question; only called when interactive. */
  ask(question: string): Promise<boolean>;
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
  for (const [k, t] of Object.entries(plan.env)) baseEnv[k] = renderText(t, rootCtx);
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
  let failed = false;
  let pausedAt: string | undefined;

  // Resumed runs: earlier steps' states come back, and their rollbacks go on the stack.
  if (opts.restored) {
    for (const step of flatten([...plan.steps, ...plan.finally])) {
      const prior = opts.restored.get(step.qid);
      if (prior) stepsOf(state, step.scope.prefix)[step.id] = { ...prior };
    }
  }

  emit({ type: 'run:start', time: started, runId: opts.runId, runbook: plan.runbook.name, title: plan.runbook.title, dryRun: false });

  /** `name`: as the step's start showed it (rendered once: every step pays for it). */
  const end = (step: PlanStep, phase: Phase, status: StepStatus, t0: number, v?: Partial<Verdict>, name = nameOf(step)) =>
    emit({
      type: 'step:end', time: Date.now(), qid: step.qid, name, phase, status, durationMs: Date.now() - t0,
      attempts: v?.attempts ?? 0, exitCode: v?.exitCode, reason: v?.reason, warnings: v?.warnings?.map((w) => masker.mask(w)),
      outputs: v?.outputs && (maskDeep(v.outputs, masker) as Record<string, unknown>),
    });

  const record = (step: PlanStep, status: StepStatus) => {
    stepsOf(state, step.scope.prefix)[step.id] ??= { status, outputs: {}, stdout: '', stderr: '', exit_code: null };
    stepsOf(state, step.scope.prefix)[step.id]!.status = status;
  };

  const nameOf = (step: PlanStep) => {
    try {
      return masker.mask(renderText(step.name, preContext(state, step.scope)));
    } catch {
      return step.name.source;
    }
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
      record(step, 'skipped');
      end(step, phase, 'skipped', t0, { reason: 'not run: interrupted' });
      return 'stop';
    }
    if (step.when) {
      let go: boolean;
      try {
        go = evaluateBool(step.when, preContext(state, step.scope));
      } catch (err) {
        record(step, 'failed');
        emit({ type: 'step:start', time: t0, qid: step.qid, name: nameOf(step), phase });
        end(step, phase, 'failed', t0, { reason: masker.mask(`when: ${(err as Error).message}`) });
        return step.continueOnError ? 'ok' : 'stop';
      }
      if (!go) {
        record(step, 'skipped');
        end(step, phase, 'skipped', t0, { reason: `when ${step.when.source} is false` });
        return 'ok';
      }
    }
    if (step.confirm && !opts.interaction.yes) {
      const question = masker.mask(renderText(step.confirm, preContext(state, step.scope)));
      const yes = opts.interaction.interactive ? await opts.interaction.ask(question) : false;
      if (!yes) {
        record(step, 'paused');
        pausedAt = step.qid;
        end(step, phase, 'paused', t0, {
          reason: opts.interaction.interactive
            ? `declined: ${question}`
            : `waits for confirmation: ${question} (unattended: resume with --yes)`,
        });
        return 'pause';
      }
    }

    const display = step.kind === 'command' ? safeDisplay(step, state, masker) : undefined;
    const name = nameOf(step);
    emit({ type: 'step:start', time: t0, qid: step.qid, name, phase, command: display });

    if (step.kind === 'manual') {
      const task = masker.mask(renderText(step.text, preContext(state, step.scope)));
      const done = opts.interaction.interactive ? await opts.interaction.ask(`${task}\n  Done?`) : false;
      record(step, done ? 'passed' : 'pending');
      end(step, phase, done ? 'passed' : 'pending', t0, { reason: task }, name);
      return 'ok';
    }

    if (step.kind === 'command') {
      const v = await runCommandStep(step, { ...deps, signal });
      const status: StepStatus = v.status === 'failed' && step.continueOnError ? 'issue' : v.status;
      stepsOf(state, step.scope.prefix)[step.id]!.status = status;
      if (step.rollback && status !== 'skipped') undo.push(step);
      end(step, phase, status, t0, v, name);
      return status === 'failed' || status === 'interrupted' ? 'stop' : 'ok';
    }

    // Groups: parallel children at once (bounded), include children in order in their own scope.
    let outcome: Outcome;
    if (step.kind === 'parallel') outcome = await runParallel(step.children, step.concurrency, phase);
    else {
      outcome = await runSequence(step.children, phase);
      const fin = await runSequence(step.finally, 'finally', true);
      if (outcome === 'ok') outcome = fin === 'pause' ? 'ok' : fin;
    }
    const children = step.kind === 'parallel' || step.kind === 'include' ? step.children : [];
    const statuses = children.map((c) => stepsOf(state, c.scope.prefix)[c.id]?.status);
    const status: StepStatus =
      outcome === 'pause' ? 'paused'
      : statuses.includes('interrupted') ? 'interrupted'
      : outcome === 'stop' ? (step.continueOnError ? 'issue' : 'failed')
      : statuses.some((s) => s === 'warned' || s === 'issue') ? 'warned'
      : 'passed';
    record(step, status);
    end(step, phase, status, t0, {
      reason: outcome === 'stop' ? `failed: ${children.filter((c) => isFailure(stepsOf(state, c.scope.prefix)[c.id]?.status)).map((c) => c.id).join(', ')}` : undefined,
    });
    if (outcome === 'pause') return 'pause';
    return outcome === 'stop' && !step.continueOnError ? 'stop' : 'ok';
  };

  const runSequence = async (steps: PlanStep[], phase: Phase, keepGoing = false): Promise<Outcome> => {
    let outcome = 'ok' as Outcome;
    for (const step of steps) {
      if (outcome !== 'ok' && !keepGoing) {
        record(step, 'skipped');
        end(step, phase, 'skipped', Date.now(), { reason: outcome === 'pause' ? 'not run: paused' : 'not run: an earlier step failed' });
        continue;
      }
      const o = await runStep(step, phase);
      if (o === 'pause') return 'pause';
      if (o === 'stop') outcome = 'stop';
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
          record(step, 'skipped');
          end(step, phase, 'skipped', Date.now(), { reason: 'not run: a parallel step failed' });
          continue;
        }
        const o = await runStep(step, phase);
        // A pause wins over a failure: the run must stop where a person is asked.
        if (o === 'pause' || (o === 'stop' && (outcome as Outcome) !== 'pause')) outcome = o;
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, steps.length) }, worker));
    return outcome;
  };

  const mainOutcome = await runSequence(plan.steps, 'steps');
  const interrupted = opts.signal?.aborted === true;
  failed = mainOutcome === 'stop';

  if (mainOutcome === 'pause') {
    // A paused run is not over: no rollback, no finally; `maint resume --yes` goes on from here.
    return finish('paused', EXIT.paused);
  }

  let rollbackFailed = false;
  if (failed && !opts.noRollback && !opts.hardSignal?.aborted) {
    for (const step of [...undo].reverse()) {
      if (opts.hardSignal?.aborted) break;
      if (!(await rollback(step))) rollbackFailed = true;
    }
  }

  const finOutcome = await runSequence(plan.finally, 'finally', true);
  const finallyFailed = finOutcome === 'stop';

  if (interrupted) return finish('interrupted', opts.interruptCode?.() ?? 130);
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
    let ok = false;
    let reason: string | undefined;
    if (spec.kind === 'manual') {
      // Nothing runs: the text goes to the log's follow-ups for a person.
      let manual: string;
      try {
        manual = masker.mask(renderText(spec.text, ctx));
      } catch (err) {
        manual = masker.mask(`undo by hand (could not render the instructions: ${(err as Error).message})`);
      }
      emit({ type: 'rollback:manual', time: t0, qid: step.qid, name, text: manual });
      return true;
    }
    try {
      const { command, display } = renderCommand(spec.command, ctx, masker);
      emit({ type: 'rollback:start', time: t0, qid: step.qid, name, command: display });
      const sink = outputSink(masker, `${step.qid}:rollback`, emit);
      const r = await opts.runner({
        command, ...stepEnvironment(step, baseEnv, ctx), timeoutMs: spec.timeoutMs, killGraceMs: step.killGraceMs, signal: opts.hardSignal,
        captureLimit: deps.captureLimit,
        onOutput: sink.onOutput,
      });
      sink.flush();
      if (r.timedOut) reason = `timed out after ${formatDuration(spec.timeoutMs ?? 0)}`;
      else if (r.spawnError) reason = r.spawnError;
      else if (r.aborted) reason = 'interrupted';
      else {
        if (spec.failOnExitCode && r.exitCode !== 0) reason = `exit code ${r.exitCode}`;
        else {
          const post = postContext(ctx, r, 1, spec.readsJson);
          const bad = spec.expect.find((e) => {
            try {
              return !evaluateBool(e, post);
            } catch {
              return true;
            }
          });
          if (bad) reason = `expected ${bad.source}`;
          else ok = true;
        }
      }
    } catch (err) {
      reason = `could not render the rollback: ${(err as Error).message}`;
    }
    emit({ type: 'rollback:end', time: Date.now(), qid: step.qid, name, ok, durationMs: Date.now() - t0, reason: reason && masker.mask(reason) });
    return ok;
  }
}

/** Outputs can hold what a command printed: mask every string in them before they are emitted. */
function maskDeep(value: unknown, masker: Masker): unknown {
  if (typeof value === 'string') return masker.mask(value);
  if (Array.isArray(value)) return value.map((v) => maskDeep(v, masker));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskDeep(v, masker)]));
  return value;
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

/** A delay that ends early when the run is interrupted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
