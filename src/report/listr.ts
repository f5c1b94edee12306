/**
 * The terminal reporter: a run drawn as a listr2 task tree.
 *
 * listr2 only RENDERS here. It never runs a step, retries or rolls back: the executor does all of
 * that and emits events, so a run behaves the same under cron (plain reporter) as in a terminal.
 * The tree is built from the plan up front; each listr2 task just waits for its step's `step:end`
 * and hands the result to listr2 (return, throw, `task.skip`). What the events say is kept per
 * qid, so an event for a task listr2 has not started yet (it starts sequential tasks one after
 * the other, and a step skipped by --from ends at once) is never lost: the task draws the state
 * it finds when it starts.
 *
 * Imported only when stdout is a terminal (see select.ts), so listr2 and chalk load lazily.
 */
import chalk, { Chalk, type ChalkInstance } from 'chalk';
import {
  DefaultRenderer,
  Listr,
  ListrDefaultRendererLogLevels,
  ListrLogger,
  ListrTaskEventType,
  PRESET_TIMER,
  ProcessOutput,
  Spinner,
  figures,
  parseTimer,
  type ListrDefaultRendererOptions,
  type ListrDefaultRendererTask,
  type ListrDefaultRendererTaskOptions,
  type ListrEventManager,
  type ListrRendererFactory,
  type ListrTask,
  type ListrTaskWrapper,
  type LoggerFormat,
} from 'listr2';
import type { RunEvent, RunStatus, StepStatus } from '../exec/events.js';
import { formatDr, type DrResult } from '../record/dr.js';
import type { PlanStep } from '../plan/types.js';
import { formatDuration } from '../runbook/duration.js';
import type { Reporter, ReporterOptions } from './reporter.js';
import { LineTail } from './tail.js';

type Ctx = Record<string, never>;
type Wrapper = ListrTaskWrapper<Ctx, ListrRendererFactory, ListrRendererFactory>;
type Task = ListrTask<Ctx, ListrRendererFactory, ListrRendererFactory>;
type StepEnd = Extract<RunEvent, { type: 'step:end' }>;
type RunEnd = Extract<RunEvent, { type: 'run:end' }>;

/** Output lines of a step kept for the final display with `verbose` (still bounded). */
export const VERBOSE_LINES = 200;
/** How often the elapsed time of running steps is redrawn. */
const TICK_MS = 1000;
/** Output redraws are batched: a chatty process must not cost a whole frame per chunk. */
const OUTPUT_DRAW_MS = 80;

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  done: boolean;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const d: Deferred<T> = {
    promise: new Promise<T>((r) => (resolve = r)),
    resolve: (value) => {
      if (d.done) return;
      d.done = true;
      resolve(value);
    },
    done: false,
  };
  return d;
}

/** What was last handed to listr2, so an unchanged title or output is not sent again. */
interface Shown {
  title?: string;
  output?: string;
}

/** One step as the events have described it so far. */
interface View {
  step: PlanStep;
  name: string;
  /** The step sits in a `finally` list (the run's or an included runbook's). */
  inFinally: boolean;
  /** Groups (parallel, include): the child views, an include's own `finally` last. */
  children?: View[];
  /** When step:start arrived (our clock: elapsed time is drawn from it). */
  startedAt?: number;
  command?: string;
  retry?: { attempt: number; attempts: number; reason: string; at: number };
  end?: StepEnd;
  tail: LineTail;
  wrapper?: Wrapper;
  shown: Shown;
  started: Deferred<void>;
  ended: Deferred<StepEnd>;
  /** listr2 has closed this step's task (its final state is set). */
  closed: Deferred<void>;
}

const isFailure = (s: StepStatus) => s === 'failed' || s === 'interrupted' || s === 'issue';

export function createListrReporter(opts: ReporterOptions): Reporter {
  const c: ChalkInstance = new Chalk({ level: opts.color ? (chalk.level > 0 ? chalk.level : 1) : 0 });
  const out = opts.out as NodeJS.WriteStream;
  const tailLines = Math.max(0, Math.floor(opts.tailLines));
  const keep = opts.verbose ? Math.max(VERBOSE_LINES, tailLines) : tailLines;

  // ---------------------------------------------------------------- the views, from the plan
  const views = new Map<string, View>();
  const build = (step: PlanStep, inFinally: boolean): View => {
    const v: View = {
      step,
      name: step.name.source,
      inFinally,
      tail: new LineTail(keep),
      shown: {},
      started: deferred(),
      ended: deferred(),
      closed: deferred(),
    };
    if (step.kind === 'parallel') v.children = step.children.map((s) => build(s, inFinally));
    else if (step.kind === 'include')
      v.children = [...step.children.map((s) => build(s, inFinally)), ...step.finally.map((s) => build(s, true))];
    views.set(step.qid, v);
    return v;
  };
  const mainViews = opts.plan.steps.map((s) => build(s, false));
  const finallyViews = opts.plan.finally.map((s) => build(s, true));
  /** Any event about these means the rollbacks (which run between steps and finally) are over. */
  const finallyQids = new Set<string>();
  const collect = (v: View): void => {
    finallyQids.add(v.step.qid);
    v.children?.forEach(collect);
  };
  finallyViews.forEach(collect);

  const rb = {
    seen: false,
    checks: 0,
    /** Known whether rollbacks happen: one started, or the run went on past them. */
    decided: deferred<void>(),
    over: deferred<void>(),
    current: undefined as { name: string; command: string; startedAt: number } | undefined,
    finished: false,
    lines: [] as string[],
    count: 0,
    failed: [] as string[],
    tail: new LineTail(keep),
    wrapper: undefined as Wrapper | undefined,
    shown: {} as Shown,
  };

  // ------------------------------------------------------------------------ listr2 plumbing
  // The stream: listr2 writes through a ProcessOutput, which we build on `opts.out`. Rendering
  // "hijacks" the stream (its `write` is swapped for a buffer while the tree is live, so stray
  // writes cannot tear the frame; they are printed when the renderer releases it). Only that
  // stream: listr2's default would also hold back process.stderr, and an error printed there
  // just before the process exits would be lost.
  const processOutput = new ProcessOutput(out, out);
  const logger = new ListrLogger<ListrDefaultRendererLogLevels>({ processOutput, useIcons: true, toStderr: [] });
  const spinner = new Spinner();
  const screen = {
    renderer: undefined as MaintRenderer | undefined,
    /** render() has run: the stream is hijacked and frames are drawn. */
    live: false,
    ended: false,
    suspended: false,
  };

  /**
   * suspend()/resume(): listr2 has no public "pause the renderer" (its own answer to prompts is
   * `task.prompt()` with an enquirer/inquirer adapter drawn inside the frame, but the executor
   * asks through its own readline on the terminal). So this subclass of the default renderer:
   * - suspend: stops the spinner timer, makes `update()` draw nothing (it still runs listr2's
   *   bookkeeping, so output sent meanwhile is not lost), erases the live frame with the
   *   renderer's log-update instance and releases the hijacked stream (cursor shown, anything
   *   buffered printed) so the question and the answer appear on a clean terminal;
   * - resume: hijacks the stream again and draws a fresh frame below the answer.
   * The frame is erased rather than left frozen above the question, because a frozen copy would
   * stay in the scrollback as a duplicate of the tree after every question; the question itself
   * names the step.
   * `nonTTY = true`: listr2 picks a renderer by looking at `process.stdout.isTTY`, not at the
   * stream we draw on; this reporter is only chosen for a terminal, so always use this one.
   */
  class MaintRenderer extends DefaultRenderer {
    static override nonTTY = true;

    constructor(tasks: ListrDefaultRendererTask[], options: ListrDefaultRendererOptions, events: ListrEventManager) {
      super(tasks, options, events);
      screen.renderer = this;
    }

    override async render(): Promise<void> {
      await super.render();
      screen.live = true;
      if (screen.suspended) this.pause();
    }

    override update(): void {
      if (screen.ended) return;
      if (screen.suspended) {
        this.create();
        return;
      }
      super.update();
    }

    override end(): void {
      if (screen.ended) return;
      super.end();
      screen.ended = true;
      screen.live = false;
    }

    pause(): void {
      spinner.stop();
      // The log-update instance is private in listr2's types; it is there since render() ran.
      (this as unknown as { updater?: { clear(): void } }).updater?.clear();
      processOutput.release();
    }

    unpause(): void {
      processOutput.hijack();
      spinner.start(() => this.update());
      this.update();
    }
  }

  const paint = (f: LoggerFormat): LoggerFormat => f;
  const L = ListrDefaultRendererLogLevels;
  const colours: Record<ListrDefaultRendererLogLevels, LoggerFormat> = {
    [L.SKIPPED_WITH_COLLAPSE]: paint(c.yellow),
    [L.SKIPPED_WITHOUT_COLLAPSE]: paint(c.yellow),
    [L.OUTPUT]: paint(c.dim),
    [L.OUTPUT_WITH_BOTTOMBAR]: paint(c.dim),
    [L.PENDING]: paint(c.yellow),
    [L.COMPLETED]: paint(c.green),
    [L.COMPLETED_WITH_FAILED_SUBTASKS]: paint(c.yellow),
    [L.COMPLETED_WITH_FAILED_SISTER_TASKS]: paint(c.red),
    [L.RETRY]: paint(c.yellowBright),
    [L.ROLLING_BACK]: paint(c.redBright),
    [L.ROLLED_BACK]: paint(c.redBright),
    [L.FAILED]: paint(c.red),
    [L.FAILED_WITH_FAILED_SUBTASKS]: paint(c.red),
    [L.WAITING]: paint(c.dim),
    [L.PAUSED]: paint(c.yellowBright),
  };
  const rendererOptions: ListrDefaultRendererOptions = {
    logger,
    spinner,
    // Every colour goes through our chalk, so `color: false` means no colour at all.
    color: colours,
    icon: { [L.SKIPPED_WITHOUT_COLLAPSE]: figures.arrowDown },
    // Keep the step's name and show the reason under it (collapsing would replace the name).
    collapseErrors: false,
    collapseSkips: false,
    showSkipMessage: true,
    showErrorMessage: true,
    suffixSkips: false,
    // Retries and timers are drawn from the executor's events, not listr2's own (unused) ones.
    suffixRetries: false,
    pausedTimer: { ...PRESET_TIMER, format: () => c.yellowBright },
    collapseSubtasks: !opts.verbose,
    removeEmptyLines: true,
    formatOutput: 'wrap',
  };
  // Each task's output is replaced as a whole (command + tail), so one entry is enough; it stays
  // after the task ends, then holding warnings, the failure's tail or (verbose) all kept lines.
  const taskOptions: ListrDefaultRendererTaskOptions = { outputBar: 1, persistentOutput: !opts.quiet };

  // ------------------------------------------------------------------------------ drawing
  /** listr2's timer preset, drawn from the executor's times (listr2's only times its tasks). */
  const withTimer = (title: string, ms: number) => logger.suffix(title, { ...PRESET_TIMER, format: () => c.dim, args: [ms] });

  const titleOf = (v: View): string => {
    let t = v.name;
    if (v.inFinally) t += c.dim(' (finally)');
    const end = v.end;
    if (!end) {
      if (v.retry) t += ' ' + c.yellow(retryText(v.retry));
      return v.startedAt === undefined ? t : withTimer(t, Math.max(0, Date.now() - v.startedAt));
    }
    if (end.attempts > 1) t += c.dim(` (${end.attempts} attempts)`);
    if (end.status === 'warned') {
      const n = end.warnings?.length ?? 0;
      t += ' ' + c.yellow(`${figures.warning} ${n === 0 ? 'warned' : n === 1 ? '1 warning' : `${n} warnings`}`);
    }
    // listr2 prints no error or skip message under a task with subtasks: a group that ran says it here.
    if (v.children && v.startedAt !== undefined && end.reason && end.status !== 'passed' && end.status !== 'warned')
      t += ' ' + (isFailure(end.status) ? c.red : c.yellow)(`(${end.status === 'failed' ? '' : `${end.status}: `}${end.reason})`);
    return v.startedAt === undefined ? t : withTimer(t, end.durationMs);
  };

  /** `(retry 2/5 in 10s: exit code 1)`, counting down; `(retry 2/5: …)` once it is under way. */
  const retryText = (r: NonNullable<View['retry']>) => {
    const left = r.at - Date.now();
    const when = left > 0 ? ` in ${parseTimer(left >= 1000 ? Math.ceil(left / 1000) * 1000 : left)}` : '';
    return `(retry ${r.attempt}/${r.attempts}${when}: ${r.reason})`;
  };

  const commandLine = (command: string | undefined): string[] => {
    if (!command) return [];
    const [first = '', ...rest] = command.split('\n');
    return [c.dim(`$ ${first}${rest.length > 0 ? ' …' : ''}`)];
  };

  const kept = (tail: LineTail): string[] => {
    const { lines, dropped } = tail.all();
    return dropped > 0 ? [c.dim(`… ${dropped} earlier lines not shown`), ...lines] : lines;
  };

  const setTitle = (w: Wrapper | undefined, shown: Shown, title: string) => {
    if (!w || opts.quiet || shown.title === title) return;
    shown.title = title;
    w.title = title;
  };
  const setOutput = (w: Wrapper | undefined, shown: Shown, lines: string[]) => {
    const text = lines.join('\n');
    if (!w || opts.quiet || shown.output === text) return;
    shown.output = text;
    w.output = text;
  };

  /** Draw a step as it is now (running or not started); its end is drawn by `finish`. */
  const draw = (v: View) => {
    if (!v.wrapper || v.end) return;
    setTitle(v.wrapper, v.shown, titleOf(v));
    if (v.startedAt !== undefined && !v.children) setOutput(v.wrapper, v.shown, [...commandLine(v.command), ...v.tail.last(tailLines)]);
  };

  /** Hand a step's end to listr2: return (passed), throw (failed) or skip. */
  const finish = (v: View, w: Wrapper, end: StepEnd): void => {
    const reason = end.reason ?? end.status;
    if (isFailure(end.status)) {
      const message =
        end.status === 'issue' ? `issue: ${reason}` : end.status === 'interrupted' && !/interrupt/i.test(reason) ? `interrupted: ${reason}` : reason;
      if (opts.quiet) {
        // Quiet: tasks have no title (listr2 hides them) until they fail; the tail goes with the reason.
        w.title = titleOf(v);
        throw new Error([message, ...commandLine(v.command), ...v.tail.last(tailLines)].join('\n'));
      }
      setTitle(w, v.shown, titleOf(v));
      setOutput(w, v.shown, v.children ? [] : [...commandLine(v.command), ...(opts.verbose ? kept(v.tail) : v.tail.last(tailLines))]);
      throw new Error(message);
    }
    setTitle(w, v.shown, titleOf(v));
    const verboseLines = opts.verbose && !v.children ? kept(v.tail) : [];
    switch (end.status) {
      case 'passed':
        setOutput(w, v.shown, verboseLines);
        return;
      case 'warned':
        setOutput(w, v.shown, [...(end.warnings ?? []).map((x) => c.yellow(x)), ...verboseLines]);
        return;
      case 'skipped':
        setOutput(w, v.shown, []);
        w.skip(reason);
        return;
      case 'pending':
      case 'paused':
        setOutput(w, v.shown, verboseLines);
        w.skip(`${end.status}: ${end.reason ?? ''}`.trimEnd());
        return;
    }
  };

  /** Every task remembers its wrapper and tells us when listr2 has closed it. */
  const attach = (v: View, w: Wrapper) => {
    v.wrapper = w;
    w.task.on(ListrTaskEventType.CLOSED, () => v.closed.resolve());
    draw(v);
  };

  const taskOf = (v: View): Task => ({
    title: opts.quiet ? undefined : titleOf(v),
    exitOnError: false,
    rendererOptions: taskOptions,
    task: v.children ? groupTask(v, v.children) : leafTask(v),
  });

  const leafTask = (v: View) => async (_ctx: Ctx, w: Wrapper) => {
    attach(v, w);
    finish(v, w, await v.ended.promise);
  };

  const groupTask = (v: View, children: View[]) => async (_ctx: Ctx, w: Wrapper) => {
    attach(v, w);
    await Promise.race([v.started.promise, v.ended.promise]);
    if (v.startedAt === undefined && v.end) return finish(v, w, v.end); // skipped (when, --from): children never run
    // A hidden (title-less) last task waits for the group's own end and fails the group when it
    // failed: it is the only task of this sub-list that stops it (children never do).
    const closing: Task = {
      task: async () => {
        const end = await v.ended.promise;
        await Promise.all(children.map((k) => k.closed.promise));
        if (isFailure(end.status)) {
          try {
            finish(v, w, end);
          } catch {
            // The group's title carries the reason; an empty message keeps listr2 from printing
            // it again under this (hidden) task.
            throw new Error('');
          }
        }
        setTitle(w, v.shown, titleOf(v));
        if (end.status === 'skipped' || end.status === 'pending' || end.status === 'paused') w.skip(`${end.status}: ${end.reason ?? ''}`.trimEnd());
      },
    };
    const tasks = children.map(taskOf);
    if (v.step.kind === 'parallel') {
      // As many at once as the executor runs (+1 for the closing task, first so it takes its slot).
      const n = Math.min(Math.max(1, v.step.concurrency), children.length);
      return w.newListr([closing, ...tasks], { concurrent: n + 1, exitOnError: true });
    }
    return w.newListr([...tasks, closing], { concurrent: false, exitOnError: true });
  };

  // ------------------------------------------------------------------------------ rollback
  const drawRollback = () => {
    const w = rb.wrapper;
    if (!w || opts.quiet || rb.finished) return;
    const cur = rb.current;
    setTitle(w, rb.shown, cur ? withTimer(`Rollback: ${cur.name}`, Math.max(0, Date.now() - cur.startedAt)) : 'Rollback');
    setOutput(w, rb.shown, [...rb.lines, ...(cur ? [...commandLine(cur.command), ...rb.tail.last(tailLines)] : [])]);
  };

  const rollbackTask: Task = {
    title: opts.quiet ? undefined : 'Rollback',
    exitOnError: false,
    rendererOptions: taskOptions,
    // listr2 asks once before the run (hidden then) and again when it reaches this task: by
    // then wait until it is known whether any rollback runs.
    enabled: async () => {
      if (rb.checks++ === 0) return rb.seen;
      await rb.decided.promise;
      return rb.seen;
    },
    task: async (_ctx: Ctx, w: Wrapper) => {
      rb.wrapper = w;
      drawRollback();
      await rb.over.promise;
      rb.current = undefined;
      rb.finished = true;
      const n = rb.count;
      const title = `Rollback ${c.dim(`(${n} ${n === 1 ? 'step' : 'steps'})`)}`;
      if (rb.failed.length > 0) {
        w.title = title;
        setOutput(w, rb.shown, rb.lines);
        throw new Error(`rollback failed: ${rb.failed.join(', ')}`);
      }
      setTitle(w, rb.shown, title);
      setOutput(w, rb.shown, rb.lines);
    },
  };

  const rollbacksOver = () => {
    rb.decided.resolve();
    rb.over.resolve();
  };

  // ---------------------------------------------------------------------------- the run
  const listr = new Listr<Ctx, ListrRendererFactory, ListrRendererFactory>(
    [...mainViews.map(taskOf), rollbackTask, ...finallyViews.map(taskOf)],
    {
      renderer: MaintRenderer,
      rendererOptions,
      // Failures are shown, never stop the display: the executor decides what runs next.
      exitOnError: false,
      concurrent: false,
      collectErrors: false,
      // listr2's SIGINT handler would end the process (exit 127): signals are the executor's.
      registerSignalListeners: false,
    },
  );

  let running: Promise<void> | undefined;
  let closed = false;
  let runEnd: RunEnd | undefined;
  let dr: DrResult | undefined;
  let listrDone = false;
  let summaryWritten = false;
  let ticker: NodeJS.Timeout | undefined;
  let drawTimer: NodeJS.Timeout | undefined;
  const dirty = new Set<View | 'rollback'>();

  /** Redraw soon (batched): used for output, which can arrive in floods. */
  const drawSoon = (v: View | 'rollback') => {
    dirty.add(v);
    if (drawTimer) return;
    drawTimer = setTimeout(() => {
      drawTimer = undefined;
      const todo = [...dirty];
      dirty.clear();
      for (const d of todo) {
        if (d === 'rollback') drawRollback();
        else draw(d);
      }
    }, OUTPUT_DRAW_MS);
    drawTimer.unref();
  };

  const writeSummary = () => {
    if (!runEnd || !listrDone || summaryWritten) return;
    summaryWritten = true;
    const e = runEnd;
    const colour = e.status === 'passed' ? c.green : e.status === 'paused' ? c.yellow : c.red;
    const mark = e.status === 'passed' ? figures.tick : e.status === 'paused' ? figures.squareSmallFilled : figures.cross;
    const where = e.pausedAt ? ` at ${e.pausedAt}` : '';
    if (dr) out.write(`${(dr.met ? c.green : c.red)(c.bold('DR'))} ${formatDr(dr)}\n`);
    out.write(`${colour(c.bold(`${mark} ${e.status.replace('_', ' ')}${where}`))} in ${formatDuration(e.durationMs)} ${c.dim(`(exit ${e.exitCode})`)}\n`);
  };

  const tick = () => {
    if (screen.suspended) return;
    for (const v of views.values()) if (v.startedAt !== undefined && !v.end) draw(v);
    if (rb.current) drawRollback();
  };

  const start = () => {
    ticker = setInterval(tick, TICK_MS);
    ticker.unref();
    running = listr
      .run()
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        // With exitOnError: false listr2 ends its renderer itself; make sure the terminal is
        // released even if something threw inside listr2.
        if (screen.live && !screen.ended) screen.renderer?.end();
        clearInterval(ticker);
        clearTimeout(drawTimer);
        listrDone = true;
        writeSummary();
      });
  };

  /** End a step that will get no event any more (children first), so its task can finish. */
  const settle = (v: View, status: StepStatus, reason: string) => {
    v.children?.forEach((k) => settle(k, status, reason));
    if (v.end) return;
    const now = Date.now();
    const started = v.startedAt !== undefined;
    const end: StepEnd = {
      type: 'step:end',
      time: now,
      qid: v.step.qid,
      name: v.name,
      phase: v.inFinally ? 'finally' : 'steps',
      status: started ? 'interrupted' : status,
      durationMs: started ? now - v.startedAt! : 0,
      attempts: 0,
      reason: started ? 'the run ended before this step did' : reason,
    };
    v.end = end;
    v.ended.resolve(end);
  };

  const finishAll = (status: RunStatus | undefined) => {
    const reason = status === 'paused' ? 'not run: paused' : 'not run';
    for (const v of [...mainViews, ...finallyViews]) settle(v, 'skipped', reason);
    rollbacksOver();
  };

  const handle = (e: RunEvent): void => {
    if (closed) return;
    switch (e.type) {
      case 'run:start': {
        if (running || runEnd) return;
        if (!opts.quiet)
          out.write(`${c.bold(`▶ ${e.title}`)} ${c.dim(`(${e.runbook}, run ${e.runId}${e.dryRun ? ', dry run' : ''})`)}\n`);
        start();
        return;
      }
      case 'step:start': {
        const v = views.get(e.qid);
        if (!v || v.end) return;
        if (finallyQids.has(e.qid)) rollbacksOver();
        v.name = e.name;
        v.startedAt = Date.now();
        v.command = e.command;
        v.started.resolve();
        draw(v);
        return;
      }
      case 'step:output': {
        if (e.qid.endsWith(':rollback')) {
          rb.tail.push(e.text, e.stream);
          drawSoon('rollback');
          return;
        }
        const v = views.get(e.qid);
        if (!v || v.end) return;
        v.tail.push(e.text, e.stream);
        drawSoon(v);
        return;
      }
      case 'step:retry': {
        const v = views.get(e.qid);
        if (!v || v.end) return;
        v.retry = { attempt: e.attempt, attempts: e.attempts, reason: e.reason, at: Date.now() + e.delayMs };
        draw(v);
        return;
      }
      case 'step:end': {
        const v = views.get(e.qid);
        if (!v || v.end) return;
        if (finallyQids.has(e.qid)) rollbacksOver();
        v.name = e.name;
        // Children the executor never reached (a `when` that failed to evaluate, say).
        v.children?.forEach((k) => settle(k, 'skipped', 'not run'));
        v.end = e;
        v.ended.resolve(e);
        return;
      }
      case 'rollback:manual':
        rb.seen = true;
        rb.decided.resolve();
        rb.count++;
        rb.lines.push(`${c.yellow(figures.warning)} ${e.name}: undo by hand: ${e.text}`);
        drawRollback();
        return;
      case 'rollback:start': {
        rb.seen = true;
        rb.decided.resolve();
        rb.current = { name: e.name, command: e.command, startedAt: Date.now() };
        rb.tail.clear();
        drawRollback();
        return;
      }
      case 'rollback:end': {
        rb.count++;
        const took = c.dim(`[${parseTimer(e.durationMs)}]`);
        rb.lines.push(e.ok ? `${c.green(figures.tick)} ${e.name} ${took}` : `${c.red(figures.cross)} ${e.name}: ${e.reason ?? 'failed'} ${took}`);
        if (!e.ok) {
          rb.failed.push(e.name);
          rb.lines.push(...rb.tail.last(tailLines).map((l) => `  ${l}`));
        }
        rb.current = undefined;
        rb.tail.clear();
        drawRollback();
        return;
      }
      case 'dr':
        dr = e.dr;
        return;
      case 'run:end': {
        if (runEnd) return;
        runEnd = e;
        finishAll(e.status);
        writeSummary();
        return;
      }
      default: {
        const never: never = e;
        return never;
      }
    }
  };

  return {
    handle,
    suspend() {
      if (screen.suspended) return;
      screen.suspended = true;
      if (screen.live && !screen.ended) screen.renderer?.pause();
    },
    resume() {
      if (!screen.suspended) return;
      screen.suspended = false;
      if (screen.live && !screen.ended) screen.renderer?.unpause();
    },
    async close() {
      closed = true;
      if (screen.suspended) this.resume?.();
      if (!running) return;
      // Closed without run:end (the run broke off): end what is left so listr2 can finish.
      if (!runEnd) finishAll(undefined);
      await running;
    },
  };
}
