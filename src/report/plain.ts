/**
 * Plain timestamped lines for cron and pipes: no ANSI unless colour is forced, no spinners,
 * one line per thing that happens, output tails bounded.
 */
import type { RunEvent, StepStatus } from '../exec/events.js';
import { formatDr } from '../record/dr.js';
import { formatDuration } from '../runbook/duration.js';
import type { Reporter, ReporterOptions } from './reporter.js';
import { MARK } from './sections.js';
import { LineTail } from './tail.js';

/** --verbose: characters of an unfinished output line held before they are shown anyway. */
const PARTIAL_MAX = 64 * 1024;

/** A tiny colouring helper so the plain reporter need not load chalk when colour is off. */
function paint(enabled: boolean) {
  const wrap = (open: number, close: number) => (s: string) => (enabled ? `\u001b[${open}m${s}\u001b[${close}m` : s);
  return { red: wrap(31, 39), green: wrap(32, 39), yellow: wrap(33, 39), dim: wrap(2, 22), bold: wrap(1, 22) };
}

export function createPlainReporter(opts: ReporterOptions): Reporter {
  const c = paint(opts.color);
  const write = (line: string) => opts.out.write(line + '\n');
  const stamp = (t: number) => c.dim(new Date(t).toISOString().slice(11, 19));
  /** Per running step: its last lines, printed as a bounded tail when it fails. */
  const tails = new Map<string, LineTail>();
  /**
   * --verbose: the unfinished last line of each step's stream. A chunk may end mid-line (a pipe
   * read, or the masker holding back what could be the start of a secret), and printing each chunk
   * as lines would break one line of output into several.
   */
  const partial = new Map<string, string>();
  const outputLine = (line: string) => write(`         ${c.dim('│')} ${line}`);
  const flushPartial = (qid: string) => {
    for (const stream of ['stdout', 'stderr']) {
      const key = `${qid}\u0000${stream}`;
      const rest = partial.get(key);
      partial.delete(key);
      if (rest) outputLine(rest);
    }
  };

  const colourFor = (s: StepStatus) =>
    s === 'passed' ? c.green : s === 'failed' || s === 'interrupted' ? c.red : s === 'skipped' ? c.dim : c.yellow;

  const flushTail = (qid: string, indent: string) => {
    const t = tails.get(qid);
    tails.delete(qid);
    if (!t) return;
    const { lines, dropped } = t.all();
    if (dropped > 0) write(`${indent}${c.dim(`… ${dropped} earlier lines not shown`)}`);
    for (const line of lines) write(`${indent}${c.dim('│')} ${line}`);
  };

  return {
    handle(e: RunEvent) {
      switch (e.type) {
        case 'run:start':
          if (!opts.quiet) write(`${stamp(e.time)} ${c.bold(`▶ ${e.title}`)} (${e.runbook}, run ${e.runId})`);
          return;
        case 'step:start':
          if (!opts.quiet) write(`${stamp(e.time)} ${e.phase === 'finally' ? 'finally ' : ''}▸ ${e.name}${e.command ? c.dim(`  $ ${firstLine(e.command)}`) : ''}`);
          return;
        case 'step:output': {
          if (opts.verbose) {
            const key = `${e.qid}\u0000${e.stream}`;
            const text = (partial.get(key) ?? '') + e.text;
            const nl = text.lastIndexOf('\n');
            // A line that never ends is still shown, in pieces of PARTIAL_MAX.
            const cut = nl === -1 ? (text.length > PARTIAL_MAX ? text.length : -1) : nl;
            if (cut === -1) partial.set(key, text);
            else {
              partial.set(key, text.slice(cut + 1));
              for (const line of text.slice(0, cut).split('\n')) outputLine(line);
            }
            return;
          }
          let t = tails.get(e.qid);
          if (!t) tails.set(e.qid, (t = new LineTail(opts.tailLines)));
          t.push(e.text, e.stream);
          return;
        }
        case 'step:retry':
          write(`${stamp(e.time)}   ${c.yellow(`↻ retry ${e.attempt}/${e.attempts} in ${formatDuration(e.delayMs)}`)}: ${e.reason}`);
          return;
        case 'step:end': {
          const bad = e.status === 'failed' || e.status === 'interrupted' || e.status === 'issue';
          flushPartial(e.qid);
          if (opts.quiet && !bad) return;
          const extra = e.reason && e.status !== 'passed' ? `: ${e.reason}` : '';
          write(`${stamp(e.time)} ${colourFor(e.status)(`${MARK[e.status].padEnd(4)}`)} ${e.name} ${c.dim(`(${formatDuration(e.durationMs)})`)}${extra}`);
          for (const w of e.warnings ?? []) write(`         ${c.yellow(w)}`);
          if (bad) flushTail(e.qid, '         ');
          else tails.delete(e.qid);
          return;
        }
        case 'rollback:start':
          write(`${stamp(e.time)} ${c.yellow('↶ rollback')} ${e.name}  ${c.dim(`$ ${firstLine(e.command)}`)}`);
          return;
        case 'rollback:manual':
          write(`${stamp(e.time)} ${c.yellow('↶ undo by hand')} ${e.name}: ${e.text}`);
          return;
        case 'rollback:end':
          flushPartial(`${e.qid}:rollback`);
          if (!e.ok) flushTail(`${e.qid}:rollback`, '         ');
          tails.delete(`${e.qid}:rollback`);
          write(`${stamp(e.time)} ${e.ok ? c.green('↶ ok  ') : c.red('↶ FAIL')} ${e.name} ${c.dim(`(${formatDuration(e.durationMs)})`)}${e.reason ? `: ${e.reason}` : ''}`);
          return;
        case 'dr':
          // Part of the result: shown with --quiet too.
          write(`${stamp(e.time)} ${(e.dr.met ? c.green : c.red)(c.bold('DR  '))} ${formatDr(e.dr)}`);
          return;
        case 'run:end': {
          const colour = e.status === 'passed' ? c.green : e.status === 'paused' ? c.yellow : c.red;
          const where = e.pausedAt ? ` at ${e.pausedAt}` : '';
          write(`${stamp(e.time)} ${colour(c.bold(`■ ${e.status.replace('_', ' ')}${where}`))} in ${formatDuration(e.durationMs)} (exit ${e.exitCode})`);
          return;
        }
        default: {
          const never: never = e;
          return never;
        }
      }
    },
    async close() {},
  };
}

/** Multi-line scripts are shown by their first line; `maint plan` shows them whole. */
function firstLine(command: string): string {
  const nl = command.indexOf('\n');
  return nl === -1 ? command : `${command.slice(0, nl)} …`;
}

