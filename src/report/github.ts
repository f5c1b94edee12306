/**
 * GitHub Actions (`GITHUB_ACTIONS=true`): each command step (and each rollback) is a collapsible
 * `::group::` holding its command and output; failures become `::error` annotations, warnings
 * `::warning`; at run:end a markdown table of the steps is appended to `$GITHUB_STEP_SUMMARY`.
 *
 * Actions cannot nest groups, and parallel steps interleave, so one group is open at a time (see
 * SectionedLog): a step that starts while another's group is open is buffered and printed as a
 * whole group later. Group steps (parallel, include) and manual steps get a plain line, no group.
 *
 * Step output is untrusted: a line such as `::error::x`, `::endgroup::` or `::add-mask::` must
 * not become a workflow command. Inside each group, command processing is switched off with
 * `::stop-commands::<random token>` and back on with `::<token>::` after the output; lines
 * outside groups are maint's own, made single-line. `##[` (the legacy command / log-marker form)
 * gets a zero-width space between the `#`s wherever it appears.
 *
 * Output per step is capped at SECTION_LIMITS.head + SECTION_LIMITS.tail lines (4000 + 1000):
 * the first lines as they come, the last ones when the step ends, and how many were left out in
 * between (the run journal has all of it). Everything here is already masked by the executor.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { stripVTControlCharacters } from 'node:util';
import type { RunEvent, RunStatus, StepStatus } from '../exec/events.js';
import { formatDuration } from '../runbook/duration.js';
import type { Reporter } from './reporter.js';

// ---------------------------------------------------------------------------------------------
// Shared by the GitHub and GitLab reporters: one collapsible section open at a time.

/** One section: a command step's or a rollback's command and output. */
export interface Section {
  /** The step's qid, or `<qid>:rollback`. */
  key: string;
  title: string;
  command?: string;
  startTime: number;
  /** 1, 2, 3, … in the order sections were opened. */
  seq: number;
  /** Random, unguessable: for markers output must not be able to forge. */
  nonce: string;
}

/** How a CI system draws a section. */
export interface SectionStyle {
  /** Lines that open the section. `outcome` is known when the section is printed after it ended. */
  open(s: Section, outcome?: 'ok' | 'bad'): string[];
  /** Lines that close it. */
  close(s: Section, endTime: number): string[];
  /** One output line (no newline in it) made safe to print inside the section. */
  line(text: string): string;
}

export const SECTION_LIMITS = {
  /** Lines printed as they come. */
  head: 4000,
  /** Then the last lines, printed when the step ends. */
  tail: 1000,
  /** Characters per line; longer lines are cut with `…`. */
  lineLength: 4000,
};

interface Block {
  section: Section;
  live: boolean;
  headCount: number;
  /** Head lines not printed yet (the section is buffered). */
  headBuf: string[];
  tail: string[];
  dropped: number;
  splitter: LineSplitter;
}

/**
 * Serialises sections for logs that cannot nest or interleave them. The first section to open
 * is live (printed as its output comes); a section opened while another is live is buffered.
 * When the live one closes, lines queued meanwhile (other sections that ended, plain lines) are
 * printed, then the oldest buffered section still running goes live. Memory per section is
 * bounded by the limits; nothing is lost but the middle of very long outputs.
 */
export class SectionedLog {
  private live: Block | undefined;
  private readonly waiting = new Map<string, Block>();
  private queue: string[] = [];
  private seq = 0;

  constructor(
    private readonly write: (line: string) => void,
    private readonly style: SectionStyle,
    private readonly limits = SECTION_LIMITS,
  ) {}

  has(key: string): boolean {
    return this.live?.section.key === key || this.waiting.has(key);
  }

  open(key: string, info: { title: string; command?: string; time: number }): void {
    if (this.has(key)) this.close(key, info.time, []);
    const section: Section = { key, title: info.title, command: info.command, startTime: info.time, seq: ++this.seq, nonce: randomBytes(16).toString('hex') };
    const b: Block = { section, live: false, headCount: 0, headBuf: [], tail: [], dropped: 0, splitter: new LineSplitter(this.limits.lineLength) };
    if (info.command !== undefined) {
      const lines = info.command.split('\n');
      lines.forEach((l, i) => this.addLine(b, `${i === 0 ? '$' : ' '} ${l}`));
    }
    if (this.live) this.waiting.set(key, b);
    else this.goLive(b);
  }

  /** Output for a section; false when no section has that key. */
  output(key: string, stream: string, text: string): boolean {
    const b = this.find(key);
    if (!b) return false;
    for (const line of b.splitter.push(text, stream)) this.addLine(b, line);
    return true;
  }

  /** A line of maint's own inside a section (a retry); false when no section has that key. */
  note(key: string, line: string): boolean {
    const b = this.find(key);
    if (!b) return false;
    for (const l of line.split('\n')) this.addLine(b, l);
    return true;
  }

  /** Close a section; `after` (result line, annotations) is printed right after it. */
  close(key: string, time: number, after: string[], outcome?: 'ok' | 'bad'): void {
    const b = this.find(key);
    if (!b) {
      this.say(after);
      return;
    }
    for (const line of b.splitter.flush()) this.addLine(b, line);
    const rest = [...(b.dropped > 0 ? [this.style.line(`… ${b.dropped} lines not shown here (the run journal has the full output)`)] : []), ...b.tail];
    if (b.live) {
      this.live = undefined;
      for (const l of rest) this.write(l);
      for (const l of this.style.close(b.section, time)) this.write(l);
      for (const l of after) this.write(l);
      const queued = this.queue;
      this.queue = [];
      for (const l of queued) this.write(l);
      const next = this.waiting.values().next();
      if (!next.done) {
        this.waiting.delete(next.value.section.key);
        this.goLive(next.value);
      }
    } else {
      this.waiting.delete(key);
      const block = [...this.style.open(b.section, outcome), ...b.headBuf, ...rest, ...this.style.close(b.section, time), ...after];
      this.say(block);
    }
  }

  /** Lines outside any section: now, or after the live section closes. */
  say(lines: string[]): void {
    if (this.live) this.queue.push(...lines);
    else for (const l of lines) this.write(l);
  }

  /** Close every section still open (the run ended, or maint is closing). */
  finish(time: number, note: string): void {
    for (const key of [...this.waiting.keys()]) {
      this.note(key, note);
      this.close(key, time, [], 'bad');
    }
    if (this.live) {
      const key = this.live.section.key;
      this.note(key, note);
      this.close(key, time, []);
    }
  }

  private find(key: string): Block | undefined {
    return this.live?.section.key === key ? this.live : this.waiting.get(key);
  }

  private goLive(b: Block): void {
    b.live = true;
    this.live = b;
    for (const l of this.style.open(b.section)) this.write(l);
    for (const l of b.headBuf) this.write(l);
    b.headBuf = [];
  }

  private addLine(b: Block, raw: string): void {
    const line = this.style.line(raw);
    if (b.headCount < this.limits.head) {
      b.headCount++;
      if (b.live) this.write(line);
      else b.headBuf.push(line);
      if (b.headCount === this.limits.head) {
        const notice = this.style.line(`… more output: its last ${this.limits.tail} lines follow when the step ends`);
        if (b.live) this.write(notice);
        else b.headBuf.push(notice);
      }
      return;
    }
    if (this.limits.tail <= 0) {
      b.dropped++;
      return;
    }
    b.tail.push(line);
    if (b.tail.length > this.limits.tail) {
      b.tail.shift();
      b.dropped++;
    }
  }
}

/**
 * Output chunks (split anywhere, stdout and stderr interleaved) into lines, per stream. A carriage
 * return starts the line over, as a terminal shows progress bars; a line is cut at `max`
 * characters, so an endless line costs bounded memory. No `\r` is left in a line.
 */
export class LineSplitter {
  private readonly open = new Map<string, { text: string; cut: boolean; cr: boolean }>();

  constructor(private readonly max: number) {}

  push(chunk: string, stream = 'stdout'): string[] {
    let p = this.open.get(stream);
    if (!p) this.open.set(stream, (p = { text: '', cut: false, cr: false }));
    const lines: string[] = [];
    let at = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', at);
      this.append(p, nl === -1 ? chunk.slice(at) : chunk.slice(at, nl));
      if (nl === -1) break;
      lines.push(p.text);
      p.text = '';
      p.cut = false;
      p.cr = false;
      at = nl + 1;
    }
    return lines;
  }

  /** The unfinished lines, once the output is over. */
  flush(): string[] {
    const lines = [...this.open.values()].map((p) => p.text).filter((t) => t !== '');
    this.open.clear();
    return lines;
  }

  private append(p: { text: string; cut: boolean; cr: boolean }, piece: string): void {
    if (piece === '') return;
    if (p.cr) {
      // A carriage return not followed by a newline: the line starts over.
      p.text = '';
      p.cut = false;
      p.cr = false;
    }
    if (piece.endsWith('\r')) {
      piece = piece.slice(0, -1);
      p.cr = true;
    }
    const cr = piece.lastIndexOf('\r');
    if (cr >= 0) {
      p.text = '';
      p.cut = false;
      piece = piece.slice(cr + 1);
    }
    if (p.cut || piece === '') return;
    const room = this.max - p.text.length;
    if (piece.length > room) {
      p.text += piece.slice(0, Math.max(0, room)) + '…';
      p.cut = true;
    } else p.text += piece;
  }
}

/** maint's own text on one line: newlines shown as ` ↵ `, escape sequences and controls removed. */
export function oneLine(s: string): string {
  return stripVTControlCharacters(s)
    .replace(/\r\n|\r|\n/g, ' ↵ ')
    .replace(/[\u0000-\u001f\u007f]/g, ' ');
}

export const MARK: Record<StepStatus, string> = {
  passed: 'ok',
  warned: 'WARN',
  failed: 'FAIL',
  issue: 'ISSUE',
  skipped: 'skip',
  pending: 'TODO',
  interrupted: 'INTERRUPTED',
  paused: 'PAUSED',
};

export function isBad(status: StepStatus): boolean {
  return status === 'failed' || status === 'interrupted' || status === 'issue';
}

/** Rollbacks seen so far, for the result phrase. */
export interface RollbackTally {
  ran: number;
  failed: number;
}

/** The run's result as the maintenance log words it. */
export function resultPhrase(status: RunStatus, rollbacks: RollbackTally, pausedAt?: string): string {
  switch (status) {
    case 'passed':
      return 'passed';
    case 'failed':
      return rollbacks.ran > 0 && rollbacks.failed === 0 ? 'failed, rolled back' : 'failed';
    case 'rollback_failed':
      return 'failed, ROLLBACK FAILED';
    case 'paused':
      return pausedAt ? `paused at ${pausedAt}` : 'paused';
    case 'interrupted':
      return 'interrupted';
    default: {
      const never: never = status;
      return String(never);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// GitHub workflow commands

/** Workflow command data (the message): `%`, CR and LF escaped. */
export function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Workflow command property values: also `:` and `,`. */
export function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** `##[` (legacy commands, log markers) with a zero-width space, so it is shown, not obeyed. */
function defuse(s: string): string {
  return s.replace(/##\[/g, '#\u200b#[');
}

const ANNOTATION_MAX = 4000;

function annotation(kind: 'error' | 'warning' | 'notice', title: string, message: string): string {
  const msg = message.length > ANNOTATION_MAX ? `${message.slice(0, ANNOTATION_MAX)}…` : message;
  return `::${kind} title=${escapeProperty(oneLine(title).slice(0, 200))}::${escapeData(stripVTControlCharacters(msg))}`;
}

const githubStyle: SectionStyle = {
  open: (s) => [`::group::${escapeData(oneLine(s.title))}`, `::stop-commands::${s.nonce}`],
  close: (s) => [`::${s.nonce}::`, '::endgroup::'],
  line: (text) => defuse(text.replace(/\r/g, '')),
};

const ICON: Record<StepStatus, string> = {
  passed: '✅',
  warned: '⚠️',
  failed: '❌',
  issue: '⚠️',
  skipped: '⏭️',
  pending: '📝',
  interrupted: '🛑',
  paused: '⏸️',
};

const RUN_ICON: Record<RunStatus, string> = { passed: '✅', failed: '❌', rollback_failed: '🚨', paused: '⏸️', interrupted: '🛑' };

/** Rows kept for the job summary; a runbook has far fewer steps. */
const SUMMARY_ROWS_MAX = 1000;

export function createGithubReporter(out: NodeJS.WritableStream, env: NodeJS.ProcessEnv = process.env): Reporter {
  const write = (line: string) => out.write(line + '\n');
  const log = new SectionedLog(write, githubStyle);
  const plain = (s: string) => defuse(oneLine(s));
  const rows: string[] = [];
  let rowsDropped = 0;
  const rollbacks: RollbackTally = { ran: 0, failed: 0 };
  let start: Extract<RunEvent, { type: 'run:start' }> | undefined;
  let summaryDone = false;

  const row = (step: string, result: string, ms: number) => {
    if (rows.length >= SUMMARY_ROWS_MAX) rowsDropped++;
    else rows.push(`| ${cell(step)} | ${cell(result)} | ${formatDuration(ms)} |`);
  };

  const writeSummary = (end: Extract<RunEvent, { type: 'run:end' }> | undefined) => {
    summaryDone = true;
    const file = env.GITHUB_STEP_SUMMARY;
    if (!file) return;
    const result = end ? resultPhrase(end.status, rollbacks, end.pausedAt) : 'unfinished';
    const icon = end ? RUN_ICON[end.status] : '🛑';
    const title = start ? `${start.title} (${start.runbook})` : 'maint';
    const md = [
      `### ${icon} ${cell(title)}: ${cell(result)}`,
      '',
      '| Step | Result | Duration |',
      '| --- | --- | --- |',
      ...rows,
      ...(rowsDropped > 0 ? [`| … ${rowsDropped} more | | |`] : []),
      '',
      `**Result**: ${cell(result)}${end ? ` in ${formatDuration(end.durationMs)} (exit ${end.exitCode})` : ''}${start ? ` · run \`${cell(start.runId).replace(/`/g, '')}\`` : ''}`,
      '',
      '',
    ].join('\n');
    try {
      appendFileSync(file, md);
    } catch (err) {
      log.say([annotation('warning', 'maint', `could not write the job summary: ${(err as Error).message}`)]);
    }
  };

  return {
    handle(e: RunEvent) {
      switch (e.type) {
        case 'run:start':
          start = e;
          log.say([plain(`▶ ${e.title} (${e.runbook}, run ${e.runId})${e.dryRun ? ' (dry run)' : ''}`)]);
          return;
        case 'step:start': {
          const title = `${e.phase === 'finally' ? 'finally: ' : ''}${e.name}`;
          if (e.command !== undefined) log.open(e.qid, { title, command: e.command, time: e.time });
          else log.say([plain(`▸ ${title}`)]);
          return;
        }
        case 'step:output':
          if (!log.output(e.qid, e.stream, e.text)) {
            log.open(e.qid, { title: e.qid, time: e.time });
            log.output(e.qid, e.stream, e.text);
          }
          return;
        case 'step:retry': {
          const line = `↻ retry ${e.attempt}/${e.attempts} in ${formatDuration(e.delayMs)}: ${e.reason}`;
          if (!log.note(e.qid, oneLine(line))) log.say([plain(line)]);
          return;
        }
        case 'step:end': {
          const extra = e.reason && e.status !== 'passed' ? `: ${e.reason}` : '';
          const after = [plain(`${MARK[e.status].padEnd(4)} ${e.name} (${formatDuration(e.durationMs)})${extra}`)];
          const why = e.reason ?? (e.exitCode != null ? `exit code ${e.exitCode}` : e.status);
          if (e.status === 'failed') after.push(annotation('error', `${e.name} failed`, why));
          else if (e.status === 'interrupted') after.push(annotation('error', `${e.name} interrupted`, why));
          else if (e.status === 'issue') after.push(annotation('warning', `${e.name} failed (continue_on_error)`, why));
          else if (e.status === 'paused') after.push(annotation('warning', `Paused at ${e.name}`, why));
          else if (e.status === 'pending') after.push(annotation('notice', `Manual task pending: ${e.name}`, why));
          for (const w of e.warnings ?? []) after.push(annotation('warning', e.name, w));
          log.close(e.qid, e.time, after, isBad(e.status) ? 'bad' : 'ok');
          row(`${e.phase === 'finally' ? 'finally: ' : ''}${e.name}`, `${ICON[e.status]} ${e.status}${extra}`, e.durationMs);
          return;
        }
        case 'rollback:start':
          log.open(`${e.qid}:rollback`, { title: `↶ rollback: ${e.name}`, command: e.command, time: e.time });
          return;
        case 'rollback:end': {
          rollbacks.ran++;
          if (!e.ok) rollbacks.failed++;
          const extra = e.reason ? `: ${e.reason}` : '';
          const after = [plain(`${e.ok ? '↶ ok  ' : '↶ FAIL'} ${e.name} (${formatDuration(e.durationMs)})${extra}`)];
          if (!e.ok) after.push(annotation('error', `Rollback failed: ${e.name}`, e.reason ?? 'rollback failed'));
          log.close(`${e.qid}:rollback`, e.time, after, e.ok ? 'ok' : 'bad');
          row(`↶ rollback: ${e.name}`, e.ok ? '✅ rolled back' : `❌ rollback failed${extra}`, e.durationMs);
          return;
        }
        case 'run:end': {
          log.finish(e.time, '(the run ended before this step did)');
          log.say([plain(`■ ${resultPhrase(e.status, rollbacks, e.pausedAt)} in ${formatDuration(e.durationMs)} (exit ${e.exitCode})`)]);
          writeSummary(e);
          return;
        }
        default: {
          const never: never = e;
          return never;
        }
      }
    },
    async close() {
      log.finish(Date.now(), '(maint stopped before this step ended)');
      if (!summaryDone && start) writeSummary(undefined);
    },
  };
}

/** A markdown table cell: one line, no table breaks, no HTML, no links. */
function cell(s: string): string {
  const t = oneLine(s);
  const bounded = t.length > 300 ? `${t.slice(0, 300)}…` : t;
  return bounded
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\[/g, '\\[')
    .replace(/]/g, '\\]');
}
