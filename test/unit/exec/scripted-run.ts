/**
 * In-process runs of the executor: a plan built from YAML text, a scripted Runner (no processes),
 * a sleep that only records its delays, and every event collected.
 */
import { expect } from 'vitest';
import type { RunEvent, StepStatus } from '../../../src/exec/events.js';
import { execute, type ConfirmAnswer, type ExecOptions, type Interaction, type RunResult } from '../../../src/exec/executor.js';
import type { Runner, SpawnRequest, SpawnResult } from '../../../src/exec/runner.js';
import type { Plan } from '../../../src/plan/types.js';
import { buildPlan } from '../../../src/plan/plan.js';
import type { VarSources } from '../../../src/plan/vars.js';
import { parseRunbook, type LoadedRunbook } from '../../../src/runbook/parse.js';

/** What one scripted command does; a function sees the request (and may abort signals, wait, …). */
export type Script = Partial<SpawnResult> | ((req: SpawnRequest, call: number) => Partial<SpawnResult> | Promise<Partial<SpawnResult>>);

/** The text a command was asked to run: the shell script, or argv joined by spaces. */
export function commandText(req: SpawnRequest): string {
  return req.command.kind === 'shell' ? req.command.script : req.command.argv.join(' ');
}

/**
 * A Runner that plays scripts by command text: one script, or a list played one per call (the
 * last repeats). Unknown commands exit 0 with no output. Records every request it got.
 */
export function scriptedRunner(scripts: Record<string, Script | Script[]> = {}) {
  const calls: string[] = [];
  const requests: SpawnRequest[] = [];
  const counts = new Map<string, number>();
  const runner: Runner = async (req) => {
    const text = commandText(req);
    calls.push(text);
    requests.push(req);
    const n = (counts.get(text) ?? 0) + 1;
    counts.set(text, n);
    const entry = scripts[text];
    const script = Array.isArray(entry) ? entry[Math.min(n, entry.length) - 1] : entry;
    const r = typeof script === 'function' ? await script(req, n) : (script ?? {});
    if (r.stdout) req.onOutput?.('stdout', r.stdout);
    if (r.stderr) req.onOutput?.('stderr', r.stderr);
    return {
      exitCode: 0, signal: null, stdout: '', stderr: '', stdoutTruncated: false, stderrTruncated: false,
      timedOut: false, aborted: false, durationMs: 1, ...r,
    };
  };
  return { runner, calls, requests };
}

export interface PlanOptions {
  sources?: Partial<VarSources>;
  /** Included runbooks by name, as YAML text. */
  runbooks?: Record<string, string>;
  from?: string;
  only?: string;
}

function load(name: string, text: string): LoadedRunbook {
  const { runbook, diagnostics } = parseRunbook(`${name}.yaml`, text);
  expect(diagnostics).toEqual([]);
  return runbook!;
}

/** A plan from runbook text; the test fails on any diagnostic. */
export function planOf(text: string, opts: PlanOptions = {}): Plan {
  const runbooks = new Map(Object.entries(opts.runbooks ?? {}).map(([n, t]) => [n, load(n, t)]));
  const { plan, diagnostics } = buildPlan({
    root: load('t', text), runbooks, from: opts.from, only: opts.only,
    sources: { explicit: {}, file: {}, env: {}, config: {}, ...opts.sources },
  });
  expect(diagnostics).toEqual([]);
  return plan!;
}

/** An Interaction that must not be asked (unattended). */
export const unattended: Interaction = {
  interactive: false,
  yes: false,
  who: 'ops@host',
  ask: () => Promise.reject(new Error('an unattended run must not ask')),
  confirm: () => Promise.reject(new Error('an unattended run must not ask')),
};

/** A person at a terminal who gives these answers, recording the questions. */
export function person(answers: { confirm?: ConfirmAnswer[]; done?: boolean[] } = {}) {
  const asked: string[] = [];
  const confirms = [...(answers.confirm ?? [])];
  const dones = [...(answers.done ?? [])];
  const interaction: Interaction = {
    interactive: true,
    yes: false,
    who: 'ana@db1',
    ask: async (q) => (asked.push(q), dones.shift() ?? false),
    confirm: async (q) => (asked.push(q), confirms.shift() ?? 'no'),
  };
  return { interaction, asked };
}

export interface Ran {
  result: RunResult;
  events: RunEvent[];
  /** Commands in the order they ran. */
  calls: string[];
  /** Delays asked of sleep, in ms. */
  sleeps: number[];
  /** `qid:status` of every step:end, in order. */
  ends: string[];
  /** The step:end of one step (the last one). */
  end(qid: string): Extract<RunEvent, { type: 'step:end' }>;
  status(qid: string): StepStatus | undefined;
  /** Event kinds in order, without output; step:end as `end:qid:status`, rollback:end as `rb:qid:ok|failed|skipped`. */
  trace: string[];
}

/** Runs a plan (or runbook text) through execute with a scripted runner. */
export async function run(
  planOrText: Plan | string,
  scripts: Record<string, Script | Script[]> = {},
  opts: Partial<ExecOptions> = {},
): Promise<Ran> {
  const plan = typeof planOrText === 'string' ? planOf(planOrText) : planOrText;
  const scripted = scriptedRunner(scripts);
  const events: RunEvent[] = [];
  const sleeps: number[] = [];
  const result = await execute(plan, {
    runner: scripted.runner,
    emit: (e) => events.push(e),
    runId: 'r1',
    env: {},
    interaction: unattended,
    sleep: async (ms) => void sleeps.push(ms),
    ...opts,
  });
  const stepEnds = events.filter((e): e is Extract<RunEvent, { type: 'step:end' }> => e.type === 'step:end');
  return {
    result, events, calls: scripted.calls, sleeps,
    ends: stepEnds.map((e) => `${e.qid}:${e.status}`),
    end: (qid) => {
      const found = stepEnds.filter((e) => e.qid === qid).pop();
      expect(found, `step:end of ${qid}`).toBeDefined();
      return found!;
    },
    status: (qid) => stepEnds.filter((e) => e.qid === qid).pop()?.status,
    trace: events.filter((e) => e.type !== 'step:output').map((e) =>
      e.type === 'step:end' ? `end:${e.qid}:${e.status}`
      : e.type === 'step:start' ? `start:${e.qid}`
      : e.type === 'rollback:end' ? `rb:${e.qid}:${e.skipped ? 'skipped' : e.ok ? 'ok' : 'failed'}`
      : e.type === 'rollback:start' ? `rb-start:${e.qid}`
      : e.type === 'rollback:manual' ? `rb-manual:${e.qid}`
      : e.type),
  };
}
